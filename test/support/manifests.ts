// Manifests tests write into a watched folder: a Gateway of class mcpmux with one HTTP listener,
// and an HTTPRoute sending a path prefix to an MCPBackend (whose spec each test writes itself).

export interface GatewayRouteOptions {
  namespace: string;
  gateway: string;
  route: string;
  /** The MCPBackend the route sends to. */
  backend: string;
  /** Default /mcp. */
  pathPrefix?: string;
}

export function gatewayAndRoute(options: GatewayRouteOptions): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: ${options.gateway}
  namespace: ${options.namespace}
spec:
  gatewayClassName: mcpmux
  listeners:
  - name: http
    port: 80
    protocol: HTTP
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${options.route}
  namespace: ${options.namespace}
spec:
  parentRefs:
  - name: ${options.gateway}
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: ${options.pathPrefix ?? '/mcp'}
    backendRefs:
    - group: mcpmux.dev
      kind: MCPBackend
      name: ${options.backend}
`;
}
