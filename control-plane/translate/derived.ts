// What the translator derives from single objects (state.ts, DerivedData), derived as the objects
// arrive: the reducer hands each new state and what arrived in it to deriveOnArrival(), so a
// translation from scratch reads what it needs of 10k Services and their EndpointSlices (their MCP
// ports, each namespace's index of them, their endpoints at those ports) and of 1k backends (their
// specs) instead of the objects.
// Each derivation is a function of its object alone; whatever was not derived here (or failed
// here) the translator derives on first use, with the same result.
import type { KubeObject } from '../sources/source.ts';
import type { ClusterState, Edits } from '../state/state.ts';
import { ClusterIndex, MCP_SERVICE } from './cluster-index.ts';
import { SLICE_ENDPOINTS } from './endpoints.ts';
import { Kinds, Labels } from './kinds.ts';
import { BACKEND_SPEC } from './resolve-cache.ts';

/** Derives, in `state`'s derived data, what the translator will read of the objects `edits` brought in. */
export function deriveOnArrival(state: ClusterState, edits: Edits): void {
  let index: ClusterIndex | undefined;
  for (const [kind, namespaces] of edits) {
    const services = kind === Kinds.Service;
    const slices = kind === Kinds.EndpointSlice;
    const backends = kind === Kinds.MCPBackend || kind === Kinds.AgentgatewayBackend;
    if (!services && !slices && !backends) continue;
    for (const [namespace, changes] of namespaces) {
      if (services) {
        // The namespace's index of MCP Services too, the one selectors are answered from.
        try {
          (index ??= new ClusterIndex(state)).indexServices(namespace);
        } catch {
          // Left to the translator, as below.
        }
      }
      for (const [name, object] of changes) {
        if (!object) continue;
        try {
          if (backends) state.derived.of(BACKEND_SPEC, object);
          else if (services) serviceEndpoints((index ??= new ClusterIndex(state)), namespace, name, object);
          else {
            // Its Service's, if the Service is there and did not arrive with it (else the Service
            // derives them, now or when it comes).
            const service = object.metadata.labels?.[Labels.serviceName];
            const serviceObject = service === undefined || edits.get(Kinds.Service)?.get(namespace)?.has(service) ? undefined : state.get(Kinds.Service, namespace, service);
            if (serviceObject) serviceEndpoints((index ??= new ClusterIndex(state)), namespace, service!, serviceObject);
          }
        } catch {
          // Left to the translator, which derives it again and fails where it can say why.
        }
      }
    }
  }
}

/** A Service's MCP ports and, when it has one EndpointSlice (as most do), the slice's endpoints at each of them. */
function serviceEndpoints(index: ClusterIndex, namespace: string, name: string, object: KubeObject): void {
  const service = index.derived.of(MCP_SERVICE, object);
  if (!service) return;
  const slices = index.slicesOf(namespace, name);
  if (slices?.length !== 1) return;
  const endpoints = index.derived.of(SLICE_ENDPOINTS, slices[0]!);
  for (const port of service.ports) endpoints.at(port.name);
}
