// What a source change becomes once it enters the control plane: a numbered, timestamped event.
// Events are the history: replaying them from the first (through the reducer) rebuilds any state.
import type { KubeObject } from '../sources/source.ts';

export interface ConfigEvent {
  /** 1, 2, 3, ... in the order events were appended; never reused. */
  seq: number;
  /** Milliseconds since the epoch, when the event was appended. */
  time: number;
  /** The source that saw the change: "files" or "kubernetes". */
  source: string;
  kind: string;
  apiVersion: string;
  /** "" for cluster-scoped objects. */
  namespace: string;
  name: string;
  type: 'upsert' | 'delete';
  /** The object as the source saw it; for a delete, as it was last seen. */
  object: KubeObject;
}
