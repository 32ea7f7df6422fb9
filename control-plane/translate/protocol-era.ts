// The MCP protocol era a target is served with (DESIGN.md, "Two protocol eras"): `auto` (the proxy
// probes server/discover), `legacy` (2025-11-25, sessions) or `modern` (2026-07-28, stateless).
//
// Where it comes from, most specific first:
//  1. the Service's mcpmux.dev/protocol-era annotation (Service targets only, of either backend
//     kind): a valid value wins over the backend's setting, `auto` included; an invalid one is
//     reported (InvalidAnnotation) and the target is served with `auto`, not the backend's setting
//     (what the annotation meant is unknown, and auto works with either era);
//  2. the MCPBackend entry's protocolEra (spec.targets[].protocolEra): for a selector entry, every
//     Service port it selects; for a static entry, that target;
//  3. `auto`.
// SSE and stdio targets speak 2025-11-25 only: they are always served as legacy, and `modern` on one
// (from either place) is reported (UnsupportedProtocolEra), not obeyed.
import type { Protocol, ProtocolEra } from '../../shared/config/types.ts';
import { Annotations } from './kinds.ts';

/** What an MCPBackend field or a Service annotation may say. */
export type ProtocolEraSetting = 'auto' | 'legacy' | 'modern';

export const PROTOCOL_ERA_SETTINGS: readonly ProtocolEraSetting[] = ['auto', 'legacy', 'modern'];

const ERAS: Readonly<Record<ProtocolEraSetting, ProtocolEra>> = {
  auto: 'PROTOCOL_ERA_AUTO',
  legacy: 'PROTOCOL_ERA_LEGACY',
  modern: 'PROTOCOL_ERA_MODERN',
};

/** Something wrong with a target's settings that does not keep it from being served; its backend's status says so. */
export interface TargetProblem {
  /** The ResolvedRefs=False reason: InvalidAnnotation or UnsupportedProtocolEra. */
  reason: string;
  message: string;
}

/** A setting exactly as the MCPBackend field spells it (the CRD's enum), or undefined. */
export function protocolEraSetting(value: unknown): ProtocolEraSetting | undefined {
  return typeof value === 'string' && (PROTOCOL_ERA_SETTINGS as readonly string[]).includes(value) ? (value as ProtocolEraSetting) : undefined;
}

export interface ResolvedEra {
  era: ProtocolEra;
  /** At most two (an invalid annotation; modern on a legacy-only target). */
  problems: readonly TargetProblem[];
}

const NO_PROBLEMS: readonly TargetProblem[] = Object.freeze([]);

/** The common answers, shared: a translation of 10k targets makes one object per target otherwise. */
const PLAIN: Readonly<Record<ProtocolEra, ResolvedEra>> = Object.freeze({
  PROTOCOL_ERA_UNSPECIFIED: Object.freeze({ era: 'PROTOCOL_ERA_UNSPECIFIED', problems: NO_PROBLEMS }),
  PROTOCOL_ERA_AUTO: Object.freeze({ era: 'PROTOCOL_ERA_AUTO', problems: NO_PROBLEMS }),
  PROTOCOL_ERA_LEGACY: Object.freeze({ era: 'PROTOCOL_ERA_LEGACY', problems: NO_PROBLEMS }),
  PROTOCOL_ERA_MODERN: Object.freeze({ era: 'PROTOCOL_ERA_MODERN', problems: NO_PROBLEMS }),
}) as Readonly<Record<ProtocolEra, ResolvedEra>>;

export interface EraInputs {
  protocol: Protocol;
  /** The backend entry's protocolEra; undefined when it has none. */
  configured: ProtocolEraSetting | undefined;
  /** The Service's annotation value (Service targets only); undefined when absent. */
  annotation?: string | undefined;
  /** "target <name> (<source>)", for messages. */
  what: string;
  /** "Service <namespace>/<name>", for the annotation's messages. */
  service?: string;
}

/** The era a target is served with, and what was wrong with its settings (see the top of this file). */
export function resolveProtocolEra(inputs: EraInputs): ResolvedEra {
  const { protocol, configured, annotation, what } = inputs;
  let setting = configured ?? 'auto';
  let origin = 'protocolEra';
  let problems: TargetProblem[] | undefined;
  if (annotation !== undefined) {
    const read = protocolEraSetting(annotation.trim().toLowerCase());
    if (read) {
      setting = read;
      origin = `annotation ${Annotations.protocolEra}`;
    } else {
      setting = 'auto';
      problems = [{
        reason: 'InvalidAnnotation',
        message: `${inputs.service ?? what}: annotation ${Annotations.protocolEra} ignored: ${JSON.stringify(annotation)} is not auto, legacy or modern (served with protocolEra auto)`,
      }];
    }
  }
  const legacyOnly = protocol === 'PROTOCOL_SSE' ? 'SSE' : protocol === 'PROTOCOL_STDIO' ? 'stdio' : undefined;
  if (legacyOnly) {
    if (setting === 'modern') {
      (problems ??= []).push({
        reason: 'UnsupportedProtocolEra',
        message: `${what}: ${origin} modern ignored: ${legacyOnly} targets speak MCP 2025-11-25 only (served as legacy)`,
      });
    }
    setting = 'legacy';
  }
  return problems ? { era: ERAS[setting], problems } : PLAIN[ERAS[setting]];
}
