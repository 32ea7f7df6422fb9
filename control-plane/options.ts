// What a control plane is started with (the CLI builds these from flags and env) and what a
// started one hands back. Kept apart from control-plane.ts so the start sequence reads on its own.
import type { Logger } from '../shared/log.ts';
import type { TlsMaterial } from '../shared/net/tls.ts';
import type { ProxyRegistry } from './discovery/proxies.ts';
import type { EventLog } from './events/log.ts';
import type { ReplicatedHistory } from './events/replicated-history.ts';
import type { SharedHistoryOptions } from './events/shared-history.ts';
import type { KubeClient } from './kube/client.ts';
import type { ProxySettings } from './kube/proxy-settings.ts';
import type { SnapshotCache } from './snapshots/cache.ts';
import type { Source } from './sources/source.ts';

export interface ControlPlaneOptions {
  source: Source;
  gatewayClasses: string[];
  address: string;
  grpcPort: number;
  httpPort: number;
  eventLogRetention: number;
  /** A JSONL file the event log is kept in and read back from on start (history survives restarts); in memory when absent. */
  eventLogPath?: string;
  /**
   * The history on a NATS JetStream stream shared by every replica (events/replicated-history.ts):
   * the leader appends, every replica builds the same versions from it. Needs `cluster`.
   */
  sharedHistory?: SharedHistoryOptions;
  logger: Logger;
  /**
   * Rebuild coalescing (snapshots/debounce.ts): an isolated change rebuilds at once; changes within
   * quietMs of a rebuild wait for quietMs of quiet, at most maxDelayMs. Default 50 ms / 1 s.
   */
  debounce?: { quietMs: number; maxDelayMs: number; leading?: boolean };
  /** With the kubernetes source: leader election, status writing and proxy provisioning. */
  cluster?: ClusterOptions;
  /** mTLS on the gRPC port from files: proxies (and grpcurl) need a client certificate from this CA. */
  tls?: TlsMaterial;
  /**
   * mTLS from the control plane's own CA (needs `cluster`): the CA lives in a Secret the leader
   * creates; proxies get certificates for their pods' ServiceAccount tokens (pki/).
   */
  pki?: PkiOptions;
  /** How long a disconnected proxy stays listed (default DISCONNECTED_PROXY_TTL_MS, 10 min). */
  disconnectedProxyTtlMs?: number;
  /**
   * Serve credential-bearing targets over plaintext discovery on a non-loopback address. Without
   * it such a control plane leaves them out of every snapshot (their backends say why).
   */
  insecureDiscovery?: boolean;
  /**
   * The requestState master key file (--request-state-key-file: current, then optionally previous),
   * watched for rotations. Without it: the cluster's Secret (ClusterOptions.requestStateSecret) with
   * the kubernetes source, else a random key kept in memory.
   */
  requestStateKeyFile?: string | undefined;
}

export interface ClusterOptions {
  client: KubeClient;
  /** This replica's name (pod name): the lease holder identity and the Events' reporting instance. */
  identity: string;
  /** Where the leader Lease lives, and its name. */
  leaseNamespace: string;
  leaseName: string;
  /** Lease timings (default 15 s / 10 s / 2 s). */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Write Accepted/ResolvedRefs/Programmed conditions (default true). */
  writeStatus?: boolean;
  /** Provision a proxy Deployment and Service per Gateway; off when absent. */
  provision?: ProxySettings;
  /** Watched namespaces (empty: all), where the provisioner looks for what it made. */
  namespaces: readonly string[];
  /**
   * The Secret, in leaseNamespace (the control plane's own), holding the requestState master keys:
   * the leader creates it, every replica reads and watches it. Default mcpmux-request-state.
   */
  requestStateSecret?: string;
}

export interface PkiOptions {
  /** The CA's Secret in the control plane's namespace (ClusterOptions.leaseNamespace). Default mcpmux-ca. */
  secretName?: string;
  /** DNS names and IPs of the gRPC serving certificate: the Service's names, and localhost for port-forwards. */
  names: readonly string[];
  /** Lifetime of proxy certificates (default 1 h); proxies renew at two thirds of it. */
  proxyCertificateTtlMs?: number;
}

export interface RunningControlPlane {
  grpcPort: number;
  httpPort: number;
  cache: SnapshotCache;
  events: EventLog;
  proxies: ProxyRegistry;
  /** With --event-log nats: the shared history (its base, its anomalies). */
  history?: ReplicatedHistory;
  /** With a cluster: whether this replica holds the leader lease. */
  leading(): boolean;
  close(): Promise<void>;
}
