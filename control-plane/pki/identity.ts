// Who may hold which certificate of the control plane's CA.
import { createHash } from 'node:crypto';

/** The audience of the projected ServiceAccount token a proxy presents (its pod spec asks for it). */
export const TOKEN_AUDIENCE = 'mcpmux-control-plane';

/**
 * The ServiceAccount the provisioner runs a Gateway's proxies under (in the Gateway's namespace):
 * a token of it is what proves a caller is that Gateway's proxy. It has no role bindings.
 * "mcpmux-proxy-<gateway>", shortened with a hash when that passes 253 characters.
 */
export function proxyServiceAccountName(gateway: string): string {
  const name = `mcpmux-proxy-${gateway}`;
  if (name.length <= 253) return name;
  const hash = createHash('sha256').update(gateway).digest('hex').slice(0, 10);
  return `${name.slice(0, 242).replace(/[-.]+$/, '')}-${hash}`;
}
