// Translation (DESIGN.md, "Performance targets"): the control plane's pure pipeline at the target
// scale, 10k Services and 1k backends (control-plane/translate/synthetic-cluster.ts), in process.
//
//  - full translate: a state built from fresh objects (nothing memoized from earlier runs can
//    help), then translate() once, timed. Target p50 ≤ 50 ms.
//  - one event: on a warm pipeline, one changed object (an EndpointSlice's ready flags, a Service
//    moving to another backend, a Service's target-name annotation) folded into the state, then
//    translate() and the new version, timed together. Target p50 ≤ 5 ms. Every event must change
//    the version, and after the last one an independent cold translate of the same objects must
//    give the same version (the incremental path is only fast if it is also right).
//  - wire encode: the snapshot part of a DiscoveryResponse as the discovery service encodes it
//    (control-plane/discovery/encode.ts, once per version), for a snapshot of fresh objects (each
//    full translate's) and for the version after each event (an encoder that encoded the version
//    before it, whose kept entries it reuses). Not part of either time above.
//  - the snapshot as the discovery service sends it: a DiscoveryResponse encoded with the
//    discovery proto, in bytes (and gzipped, for information); checked to be the bytes of
//    proto-loader's whole-message serializer, whose time is shown for comparison.
//
//   node test/bench/scenarios/translation.ts [--quick]     prints the result as JSON
import { gzipSync } from 'node:zlib';
import type { Snapshot } from '../../../shared/config/types.ts';
import type { DiscoveryResponse } from '../../../shared/proto/messages.ts';
import { serviceDefinition } from '../../../shared/proto/load.ts';
import type { KubeObject } from '../../../control-plane/sources/source.ts';
import { emptyState, reduceAll, type ClusterState, type StateChange } from '../../../control-plane/state/reducer.ts';
import {
  appLabel,
  endpointSlice,
  namespaceName,
  service,
  SYNTHETIC_GROUP,
  syntheticCluster,
  TARGET_SIZE,
} from '../../../control-plane/translate/synthetic-cluster.ts';
import { translate, TranslateCache, type TranslateOptions } from '../../../control-plane/translate/translate.ts';
import { discoveryResponseSerializer, SnapshotEncoder } from '../../../control-plane/discovery/encode.ts';
import { check, ms, type Cell, type Check, type Scenario, type ScenarioResult } from '../lib/result.ts';

const OPTIONS: TranslateOptions = { gatewayClasses: ['mcpmux'] };
const FULL_TARGET_MS = 50;
const EVENT_TARGET_MS = 5;

interface Plan {
  fullWarmup: number;
  fullRuns: number;
  eventWarmup: number;
  events: number;
}

const FULL: Plan = { fullWarmup: 3, fullRuns: 10, eventWarmup: 30, events: 60 };
const QUICK: Plan = { fullWarmup: 2, fullRuns: 5, eventWarmup: 20, events: 30 };

export const translation: Scenario = async ({ quick }) => {
  const plan = quick ? QUICK : FULL;
  const rows: Record<string, Cell>[] = [];
  const checks: Check[] = [];
  const notes: string[] = [];

  const full = measureFull(plan);
  rows.push(row('reduce initial list (info)', full.reduce), row('full translate', full.translate), row('wire encode, full', full.encode));
  checks.push(check('full translate p50, 10k Services / 1k backends', `≤ ${FULL_TARGET_MS} ms`, ms(p(full.translate, 50)), p(full.translate, 50) <= FULL_TARGET_MS));

  const events = measureEvents(plan);
  rows.push(row('one event: reduce + translate + version', events.all));
  for (const [kind, times] of events.byKind) rows.push(row(`  of which ${kind}`, times));
  rows.push(row('wire encode after one event', events.encode));
  checks.push(check('one event p50 (reduce + translate + version)', `≤ ${EVENT_TARGET_MS} ms`, ms(p(events.all, 50)), p(events.all, 50) <= EVENT_TARGET_MS));
  checks.push(check('every event changes the version', `${events.all.length} of ${events.all.length}`, `${events.changed} of ${events.all.length}`, events.changed === events.all.length));
  const cold = coldVersion(events.objects);
  checks.push(check('incremental version equals a cold translate of the same objects', cold, events.version, cold === events.version));

  const size = wireSize(events.snapshot);
  checks.push(check('wire encoding is proto-loader\'s, byte for byte', 'same bytes', size.same ? 'same bytes' : 'different', size.same));
  rows.push({
    measure: 'snapshot on the wire (DiscoveryResponse, protobuf)',
    runs: 1,
    p50: `${size.bytes} B`,
    max: '',
    detail: `${(size.bytes / 1024 / 1024).toFixed(2)} MiB; proto-loader's whole-message encode ${ms(size.encodeMs)}`,
  });
  rows.push({ measure: 'snapshot on the wire, gzipped (info)', runs: 1, p50: `${size.gzipBytes} B`, max: '', detail: `${(size.gzipBytes / 1024).toFixed(0)} KiB` });

  const snapshot = events.snapshot;
  notes.push(
    `cluster: ${TARGET_SIZE.services} Services (one MCP port each) with one EndpointSlice of ${TARGET_SIZE.endpointsPerService} endpoints, ${TARGET_SIZE.backends} backends ` +
      `(MCPBackend and AgentgatewayBackend, one HTTPRoute each) over ${TARGET_SIZE.namespaces} namespaces, one Gateway; snapshot ${SYNTHETIC_GROUP}: ` +
      `${snapshot.routes.length} routes, ${snapshot.backends.length} backends, ${snapshot.targets.length} targets`,
    `full translate: ${plan.fullWarmup} warm-up runs, then ${plan.fullRuns} timed, each on a state built from fresh objects (untimed, shown as "reduce"; ` +
      'it includes deriving what the translator reads of each object as the object arrives: control-plane/translate/derived.ts)',
    `one event: ${plan.eventWarmup} warm-up events, then ${plan.events} timed, cycling through the event kinds listed. ` +
      'The version is a hash of hashes (shared/config/version.ts): an event rehashes the leaves it changed (a backend, its run of ' +
      'targets) and 2 × 32 bytes per backend, not the whole canonical encoding',
    'wire encode: the snapshot part of a DiscoveryResponse (discovery/encode.ts), once per version; "full" for each full ' +
      'translate\'s snapshot (fresh objects, nothing kept applies), "after one event" for each timed event\'s version, by an encoder ' +
      'that encoded the version before (entries of unchanged backends, targets and routes are kept by object)',
  );
  const result: ScenarioResult = { id: 'translation', title: 'Translation: 10k Services / 1k backends, in process', columns: ['measure', 'runs', 'p50', 'max', 'detail'], rows, checks, notes };
  return result;
};

function measureFull(plan: Plan): { reduce: number[]; translate: number[]; encode: number[] } {
  const reduce: number[] = [];
  const times: number[] = [];
  const encode: number[] = [];
  // One cache for every run, as a control plane has: fresh objects leave it nothing to reuse but
  // its buffers.
  const cache = new TranslateCache();
  for (let i = 0; i < plan.fullWarmup + plan.fullRuns; i++) {
    const objects = syntheticCluster(); // fresh objects: no memoized result can be reused
    const started = performance.now();
    const state = load(objects);
    const loaded = performance.now();
    const { snapshots } = translate(state, OPTIONS, cache);
    const done = performance.now();
    if (snapshots.length !== 1) throw new Error(`expected one snapshot, got ${snapshots.length}`);
    const encodeStarted = performance.now();
    new SnapshotEncoder().encode(snapshots[0]!);
    const encoded = performance.now();
    if (i < plan.fullWarmup) continue;
    reduce.push(loaded - started);
    times.push(done - loaded);
    encode.push(encoded - encodeStarted);
  }
  return { reduce, translate: times, encode };
}

type EventKind = 'EndpointSlice ready flip' | 'Service moves to another backend' | 'Service target-name annotation';
const EVENT_KINDS: readonly EventKind[] = ['EndpointSlice ready flip', 'Service moves to another backend', 'Service target-name annotation'];

interface EventRun {
  all: number[];
  /** Encoding each event's version for the wire (untimed in `all`). */
  encode: number[];
  byKind: Map<EventKind, number[]>;
  /** Events after which the version differed from the one before. */
  changed: number;
  version: string;
  snapshot: Snapshot;
  /** The objects of the final state, for the cold check. */
  objects: KubeObject[];
}

function measureEvents(plan: Plan): EventRun {
  const objects = new Map(syntheticCluster().map((o) => [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o]));
  let state = load(objects.values());
  const cache = new TranslateCache();
  let snapshot = only(translate(state, OPTIONS, cache).snapshots);
  const encoder = new SnapshotEncoder();
  encoder.encode(snapshot);
  const run: EventRun = { all: [], encode: [], byKind: new Map(EVENT_KINDS.map((k) => [k, []])), changed: 0, version: snapshot.version, snapshot, objects: [] };
  for (let i = 0; i < plan.eventWarmup + plan.events; i++) {
    const kind = EVENT_KINDS[i % EVENT_KINDS.length]!;
    const object = eventObject(kind, i);
    objects.set(`${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`, object);
    const before = snapshot.version;
    const started = performance.now();
    state = reduceAll(state, [{ type: 'upsert', object }]);
    snapshot = only(translate(state, OPTIONS, cache).snapshots);
    const version = snapshot.version;
    const elapsed = performance.now() - started;
    const encodeStarted = performance.now();
    encoder.encode(snapshot);
    const encodeMs = performance.now() - encodeStarted;
    if (i < plan.eventWarmup) continue;
    run.all.push(elapsed);
    run.encode.push(encodeMs);
    run.byKind.get(kind)!.push(elapsed);
    if (version !== before) run.changed++;
  }
  return { ...run, version: snapshot.version, snapshot, objects: [...objects.values()] };
}

/**
 * The i-th event: spread over namespaces and Services by multiplying with numbers prime to their
 * counts, so consecutive events touch different namespaces, Services and backends, as a cluster's
 * would, and no object is changed twice (up to 100 events), so every event is a real change.
 */
function eventObject(kind: EventKind, i: number): KubeObject {
  const servicesPerNs = TARGET_SIZE.services / TARGET_SIZE.namespaces;
  const backendsPerNs = TARGET_SIZE.backends / TARGET_SIZE.namespaces;
  const n = (i * 37) % TARGET_SIZE.namespaces;
  const s = (i * 53) % servicesPerNs;
  const ns = namespaceName(n);
  switch (kind) {
    case 'EndpointSlice ready flip':
      // Some endpoint not ready (all were ready); the mask's resourceVersion is new too.
      return endpointSlice(ns, s, n, TARGET_SIZE.endpointsPerService, 1 + (i % 3));
    case 'Service moves to another backend':
      // Relabelled from its toolset to the next one (or the one after): it leaves one backend, joins another.
      return service(ns, s, appLabel((s + 1 + (i % 2)) % backendsPerNs), String(1000 + i));
    case 'Service target-name annotation':
      return service(ns, s, appLabel(s % backendsPerNs), String(1000 + i), { 'mcpmux.dev/target-name': `renamed-${i}` });
    default: {
      const never: never = kind;
      throw new Error(`unknown event kind ${String(never)}`);
    }
  }
}

/** The version a translator that has never seen these objects computes for them. */
function coldVersion(objects: readonly KubeObject[]): string {
  return only(translate(load(structuredClone(objects)), OPTIONS, new TranslateCache()).snapshots).version;
}

function load(objects: Iterable<KubeObject>): ClusterState {
  const changes: StateChange[] = [];
  for (const object of objects) changes.push({ type: 'upsert', object });
  return reduceAll(emptyState(), changes);
}

function only(snapshots: readonly Snapshot[]): Snapshot {
  if (snapshots.length !== 1) throw new Error(`expected one snapshot, got ${snapshots.length}`);
  return snapshots[0]!;
}

/**
 * The snapshot as DiscoveryService.StreamSnapshots writes it to a proxy (discovery/encode.ts: the
 * snapshot part once per version, then version and nonce per stream), and whether proto-loader's
 * serializer for the whole response gives the same bytes, with the time it takes.
 */
function wireSize(snapshot: Snapshot): { bytes: number; gzipBytes: number; encodeMs: number; same: boolean } {
  const serialize = serviceDefinition('DiscoveryService').StreamSnapshots!.responseSerialize as (value: DiscoveryResponse) => Buffer;
  const response: DiscoveryResponse = { versionInfo: snapshot.version, nonce: '1', snapshot };
  const ours = discoveryResponseSerializer()(new SnapshotEncoder().response(snapshot, '1'));
  serialize(response); // warm-up: the first encode compiles protobufjs's encoders
  const started = performance.now();
  const encoded = serialize(response);
  const encodeMs = performance.now() - started;
  return { bytes: ours.length, gzipBytes: gzipSync(ours).length, encodeMs, same: ours.equals(encoded) };
}

function row(measure: string, times: readonly number[]): Record<string, Cell> {
  // The best run too: on a shared machine noise only ever adds time.
  return { measure, runs: times.length, p50: ms(p(times, 50)), max: ms(Math.max(...times)), detail: `best ${ms(Math.min(...times))}` };
}

/** Nearest-rank percentile of a few samples. */
function p(times: readonly number[], percentile: number): number {
  if (times.length === 0) return Number.NaN;
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((percentile / 100) * sorted.length) - 1))]!;
}

if (import.meta.main) console.log(JSON.stringify(await translation({ quick: process.argv.includes('--quick') }), null, 2));
