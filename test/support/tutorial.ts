// The reference tutorial's Kubernetes objects as the repository keeps them: one copy,
// deploy/examples/tutorial/tutorial.yaml, unchanged from the tutorial (test/tutorial-manifests.test.ts
// pins it). Tests read the tutorial from here, never from anywhere beside the repository.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The tutorial's eight objects (Gateway, two Deployments and Services, ConfigMap, AgentgatewayBackend, HTTPRoute). */
export const TUTORIAL_MANIFESTS = fileURLToPath(new URL('../../deploy/examples/tutorial/tutorial.yaml', import.meta.url));
/** EndpointSlices pointing the tutorial's Services at local processes (for `mcpmux dev`; a cluster refuses them). */
export const TUTORIAL_LOCAL_ENDPOINTS = fileURLToPath(new URL('../../deploy/examples/tutorial/local-endpoints.yaml', import.meta.url));

/** The text of deploy/examples/tutorial/tutorial.yaml. */
export function tutorialManifests(): string {
  return readFileSync(TUTORIAL_MANIFESTS, 'utf8');
}
