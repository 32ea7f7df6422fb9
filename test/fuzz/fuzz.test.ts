// A short fuzz run in CI (issue 7): every target with a few hundred cases and a fixed seed, so a
// failure here is reproducible with `npm run fuzz -- --seed N`. The long run is `npm run fuzz`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { discoveryTarget, httpTarget, listenTarget, mcpParamTarget, modernTarget, requestStateTarget, translatorTarget, yamlTarget } from './targets.ts';
import { hostsTarget, httpsTarget, tlsSecretTarget } from './listener-targets.ts';
import { pkiTarget } from './pki-targets.ts';

const seed = Number(process.env.MCPMUX_FUZZ_SEED ?? 20261125);

test('objects into the translator', async () => assert.is((await translatorTarget({ seed, cases: 300 })).cases, 300));
test('YAML into the parser', async () => assert.is((await yamlTarget({ seed, cases: 500 })).cases, 500));
test('discovery bytes into the decoder and compiler', async () => assert.is((await discoveryTarget({ seed, cases: 500 })).cases, 500));
test('HTTP requests into a proxy, with a canary session', async () => assert.is((await httpTarget({ seed, cases: 300 })).cases, 300));
test('modern _meta envelopes and standard headers into the checks', async () => assert.is((await modernTarget({ seed, cases: 500 })).cases, 500));
test('random and mutated requestState tokens into the codec', async () => assert.is((await requestStateTarget({ seed, cases: 500 })).cases, 500));
test('x-mcp-header schemas and Mcp-Param values into the checks', async () => assert.is((await mcpParamTarget({ seed, cases: 500 })).cases, 500));
test('listen requests into the listen filter', async () => assert.is((await listenTarget({ seed, cases: 500 })).cases, 500));
test('Hosts and hostname patterns into intersection, listener selection and route views', async () => assert.is((await hostsTarget({ seed, cases: 500 })).cases, 500));
test('certificate Secrets into the control plane\'s reading, and what it accepts into a TLS context', async () => assert.is((await tlsSecretTarget({ seed, cases: 300 })).cases, 300));
test('TLS handshakes and requests with random SNI and Host into a proxy with listeners sharing 443', async () => assert.is((await httpsTarget({ seed, cases: 200 })).cases, 200));
test('CSRs and CA Secrets into the control plane CA\'s checks', async () => assert.is((await pkiTarget({ seed, cases: 200 })).cases, 200));

test.run();
