// mcpmux.v1.CertificateService: a proxy trades its pod's projected ServiceAccount token for a
// short-lived client certificate naming its Gateway (proto/mcpmux/v1/certificates.proto). The
// token's ServiceAccount must be the one the provisioner runs that Gateway's proxies under, in the
// Gateway's namespace, and the Gateway must be one this control plane serves.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../shared/log.ts';
import { errorMessage, McpmuxError } from '../../shared/errors.ts';
import type { KubeClient } from '../kube/client.ts';
import type { CertificateAuthority } from './authority.ts';
import { proxyServiceAccountName } from './identity.ts';
import { reviewToken, TokenRejected } from './token-review.ts';

interface IssueRequest {
  gateway: string;
  csr: string;
}

export interface CertificateServiceOptions {
  authority: CertificateAuthority;
  client: KubeClient;
  /** Whether a Gateway ("NS/NAME") is one this control plane serves now. */
  serves(gateway: string): boolean;
  logger: Logger;
}

const MAX_CSR_BYTES = 16 * 1024;

export function certificateServiceHandlers(options: CertificateServiceOptions): grpc.UntypedServiceImplementation {
  const { authority, client, logger } = options;
  return {
    IssueCertificate: (call: grpc.ServerUnaryCall<IssueRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const fail = (code: grpc.status, message: string): void => {
        logger.warn({ gateway: call.request.gateway, peer: call.getPeer(), reason: message }, 'certificate refused');
        callback({ code, details: message });
      };
      const { gateway, csr } = call.request;
      const [namespace, name, ...rest] = gateway.split('/');
      if (!namespace || !name || rest.length > 0) return fail(grpc.status.INVALID_ARGUMENT, `gateway must be NAMESPACE/NAME, not ${JSON.stringify(gateway)}`);
      if (!csr || csr.length > MAX_CSR_BYTES) return fail(grpc.status.INVALID_ARGUMENT, 'csr must be a PEM certificate signing request');
      const authorization = String(call.metadata.get('authorization')[0] ?? '');
      const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
      if (!token) return fail(grpc.status.UNAUTHENTICATED, 'send the pod\'s projected ServiceAccount token as "authorization: Bearer <token>"');
      void (async () => {
        const identity = await reviewToken(client, token);
        const expected = proxyServiceAccountName(name);
        if (identity.namespace !== namespace || identity.name !== expected) {
          throw new Denied(`ServiceAccount ${identity.namespace}/${identity.name} is not the proxy ServiceAccount of Gateway ${gateway} (${namespace}/${expected})`);
        }
        if (!options.serves(gateway)) throw new Denied(`Gateway ${gateway} is not served by this control plane`);
        const issued = await authority.issueProxyCertificate(gateway, csr);
        logger.info({ gateway, pod: identity.pod, notAfter: new Date(issued.notAfterMs).toISOString() }, 'proxy certificate issued');
        callback(null, { certificate: issued.certificate, caBundle: issued.caBundle, notAfterMs: String(issued.notAfterMs) });
      })().catch((error: unknown) => {
        if (error instanceof TokenRejected) fail(grpc.status.UNAUTHENTICATED, error.message);
        else if (error instanceof Denied) fail(grpc.status.PERMISSION_DENIED, error.message);
        else if (error instanceof McpmuxError) fail(grpc.status.INVALID_ARGUMENT, error.message);
        else fail(grpc.status.UNAVAILABLE, errorMessage(error));
      });
    },
  };
}

class Denied extends Error {}
