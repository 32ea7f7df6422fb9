// The Secrets a source reads and watches: those the state references now. A cluster source reads
// them before it counts as synced (their values are part of the first snapshot) and watches them
// from then on; the source is told only when the set changes.
import type { Source } from './sources/source.ts';
import type { ClusterState } from './state/reducer.ts';
import { MCPMUX_CONTROLLER_NAME } from './translate/kinds.ts';
import { referencedSecrets } from './translate/secret-refs.ts';

export class SecretRefsWatch {
  readonly #source: Source;
  readonly #refOptions: { gatewayClasses: string[]; controllerName: string };
  /** The Secrets last handed to the source, as text. */
  #key = '';

  constructor(source: Source, gatewayClasses: string[]) {
    this.#source = source;
    this.#refOptions = { gatewayClasses, controllerName: MCPMUX_CONTROLLER_NAME };
  }

  /** `states`: every state whose Secrets this replica needs (with a shared history, its own view and the history's). */
  update(states: readonly ClusterState[]): void {
    if (!this.#source.setSecretRefs) return;
    const refs = new Map<string, { namespace: string; name: string }>();
    for (const from of states) {
      for (const ref of referencedSecrets(from, this.#refOptions)) refs.set(`${ref.namespace}/${ref.name}`, ref);
    }
    const key = [...refs.keys()].sort().join('\n');
    if (key === this.#key) return;
    this.#key = key;
    this.#source.setSecretRefs([...refs.values()]);
  }
}
