// The leader's jobs in a cluster, started once with the control plane and switched on and off by the
// leader lease: status writing, proxy provisioning, and creating the Secrets every replica reads (the
// requestState master keys, the control plane's own CA).
import type { Logger } from '../shared/log.ts';
import type { ClusterOptions } from './options.ts';
import { LeaderCreatedSecret, type SecretKind } from './kube/leader-created-secret.ts';
import { LeaderElector } from './kube/leader.ts';
import { Provisioner } from './kube/provisioner.ts';
import { DEFAULT_REQUEST_STATE_SECRET, RequestStateSecret } from './kube/request-state-secret.ts';
import { StatusWriter } from './kube/status-writer.ts';
import type { CertificateAuthority } from './pki/authority.ts';
import type { CaState } from './pki/ca-secret.ts';
import type { RequestStateKeyring } from './request-state/keys.ts';
import type { ClusterState } from './state/reducer.ts';
import { MCPMUX_CONTROLLER_NAME } from './translate/kinds.ts';
import type { ObjectStatus } from './translate/status.ts';

export type ClusterRoles = ReturnType<typeof startClusterRoles>;

/**
 * The leader's jobs in a cluster: status and provisioning follow the lease; so does creating the
 * requestState keys' Secret, which every replica reads (into `keyring`, when given).
 */
export function startClusterRoles(
  options: ClusterOptions,
  gatewayClasses: readonly string[],
  logger: Logger,
  keyring: RequestStateKeyring | undefined,
  pki: { authority: CertificateAuthority; secretName: string; kind: SecretKind<CaState> } | undefined,
  onLeading: (leading: boolean) => void,
) {
  const elector = new LeaderElector({
    client: options.client,
    namespace: options.leaseNamespace,
    name: options.leaseName,
    identity: options.identity,
    leaseDurationMs: options.leaseDurationMs,
    renewDeadlineMs: options.renewDeadlineMs,
    retryPeriodMs: options.retryPeriodMs,
    logger,
  });
  const statusWriter = options.writeStatus === false
    ? undefined
    : new StatusWriter({ client: options.client, logger, controllerName: MCPMUX_CONTROLLER_NAME, instance: options.identity });
  const provisioner = options.provision
    ? new Provisioner({ client: options.client, logger, settings: options.provision, gatewayClasses, controllerName: MCPMUX_CONTROLLER_NAME, namespaces: options.namespaces })
    : undefined;
  const keySecret = keyring
    ? new RequestStateSecret({
        client: options.client,
        namespace: options.leaseNamespace,
        name: options.requestStateSecret ?? DEFAULT_REQUEST_STATE_SECRET,
        logger,
        onKeys: (keys) => keyring.set(keys),
      })
    : undefined;
  keySecret?.start();
  const caSecret = pki
    ? new LeaderCreatedSecret({
        client: options.client,
        namespace: options.leaseNamespace,
        name: pki.secretName,
        logger,
        kind: pki.kind,
        onValue: (ca) => {
          void pki.authority.setCa(ca);
          provisioner?.setCaBundle(ca.bundle);
        },
      })
    : undefined;
  caSecret?.start();
  elector.on('change', (leading) => {
    statusWriter?.setEnabled(leading);
    provisioner?.setEnabled(leading);
    keySecret?.setLeading(leading);
    caSecret?.setLeading(leading);
    onLeading(leading);
  });
  return {
    elector,
    statusWriter,
    provisioner,
    update(statuses: readonly ObjectStatus[], state: ClusterState): void {
      statusWriter?.update(statuses, state);
      provisioner?.update(state);
    },
    async stop(): Promise<void> {
      statusWriter?.stop();
      await elector.stop();
      await keySecret?.stop();
      await caSecret?.stop();
    },
  };
}

