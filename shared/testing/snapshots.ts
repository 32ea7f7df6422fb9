// A sealed snapshot with one HTTP listener and nothing else unless asked: what the control plane's
// cache, discovery and encoding tests need to push versions around without a translator.
import { sealSnapshot } from '../config/version.ts';
import type { Secret, Snapshot, Target } from '../config/types.ts';

export function listenerSnapshot(group: string, port: number, parts: { targets?: Target[]; secrets?: Secret[] } = {}): Snapshot {
  return sealSnapshot({
    group,
    listeners: [{ name: 'http', port, protocol: 'HTTP', hostnames: [], certificateSecrets: [] }],
    routes: [],
    backends: [],
    targets: parts.targets ?? [],
    policies: [],
    secrets: parts.secrets ?? [],
  });
}
