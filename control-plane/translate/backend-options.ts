// How a backend presents its targets to clients: the prefix mode of tool and prompt names, the tool
// filters, and the serverInfo and instructions of initialize. Read from MCPBackend's spec and from
// mcpmux.dev/* annotations on either backend kind (the only way an AgentgatewayBackend can carry
// them). An annotation that is present wins over the spec field, even when its value is empty, so an
// annotation can also clear a field. Both are validated: a bad value rejects the backend.
import type { PrefixMode, ServerInfo } from '../../shared/config/types.ts';
import type { KubeObject } from '../sources/source.ts';
import { Annotations } from './kinds.ts';
import { uniqueSorted } from './order.ts';
import { at, record, stringMap } from './read.ts';

export interface BackendOptions {
  prefixMode: PrefixMode;
  /** Sorted, without duplicates: order never changes what a filter lets through, so it must not change the version. */
  toolInclude: string[];
  toolExclude: string[];
  /** null when no name is given: clients see mcpmux's own. */
  serverInfo: ServerInfo | null;
  /** "" when unset: the targets' own instructions. */
  instructions: string;
}

export const DEFAULT_BACKEND_OPTIONS: Readonly<BackendOptions> = Object.freeze({
  prefixMode: 'PREFIX_MODE_ALWAYS',
  toolInclude: [],
  toolExclude: [],
  serverInfo: null,
  instructions: '',
});

/** Longest tool glob accepted; MCP tool names are at most 128 characters, a target prefix adds up to 64. */
export const MAX_TOOL_GLOB_LENGTH = 256;
/** Longest serverInfo name or version accepted. */
export const MAX_SERVER_INFO_LENGTH = 256;
/** Longest instructions accepted (they go into every initialize result). */
export const MAX_INSTRUCTIONS_LENGTH = 65_536;

/** The characters of MCP tool names (SEP-986: letters, digits, "_", "-", ".", "/") plus the wildcards "*" and "?". */
const TOOL_GLOB = /^[A-Za-z0-9_.\/*?-]+$/;
const GLOB_CHARACTERS = 'letters, digits, "_", "-", ".", "/" and the wildcards "*" and "?"';

const PREFIX_MODES: Readonly<Record<string, PrefixMode>> = {
  always: 'PREFIX_MODE_ALWAYS',
  conditional: 'PREFIX_MODE_CONDITIONAL',
  never: 'PREFIX_MODE_NEVER',
};

/** Why a tool glob is not acceptable, or undefined when it is. */
export function toolGlobProblem(glob: string): string | undefined {
  if (glob === '') return 'a glob must not be empty';
  if (glob.length > MAX_TOOL_GLOB_LENGTH) return `a glob is at most ${MAX_TOOL_GLOB_LENGTH} characters`;
  if (!TOOL_GLOB.test(glob)) return `${JSON.stringify(glob)} is not a tool name glob: use ${GLOB_CHARACTERS}`;
  return undefined;
}

/** The prefix mode a (case-insensitive) always | conditional | never names. */
export function parsePrefixMode(value: string): PrefixMode | undefined {
  const key = value.trim().toLowerCase();
  return Object.hasOwn(PREFIX_MODES, key) ? PREFIX_MODES[key] : undefined;
}

/**
 * An annotation's comma-separated globs, each trimmed; sorted and deduplicated. An empty (or blank)
 * value is the empty list; an empty item between commas is an error.
 */
export function parseGlobList(value: string, field: string): string[] | string {
  if (value.trim() === '') return [];
  const globs = value.split(',').map((item) => item.trim());
  for (const [i, glob] of globs.entries()) {
    const problem = toolGlobProblem(glob);
    if (problem) return `${field}: item ${i + 1}: ${problem}`;
  }
  return uniqueSorted(globs);
}

/** The backend's options: defaults, then MCPBackend spec fields, then annotations; or why they are invalid. */
export function readBackendOptions(object: KubeObject): BackendOptions | string {
  const fromSpec = object.kind === 'MCPBackend' ? readSpec(object) : {};
  if (typeof fromSpec === 'string') return fromSpec;
  const fromAnnotations = readAnnotations(stringMap(object.metadata.annotations));
  if (typeof fromAnnotations === 'string') return fromAnnotations;
  const merged = { ...fromSpec, ...fromAnnotations };

  const name = merged.serverName ?? '';
  const version = merged.serverVersion ?? '';
  if (name === '' && version !== '') {
    return `serverInfo version ${JSON.stringify(version)} needs a name (spec.serverInfo.name or annotation ${Annotations.serverName})`;
  }
  return {
    prefixMode: merged.prefixMode ?? DEFAULT_BACKEND_OPTIONS.prefixMode,
    toolInclude: merged.toolInclude ?? [],
    toolExclude: merged.toolExclude ?? [],
    serverInfo: name === '' ? null : { name, version },
    instructions: merged.instructions ?? '',
  };
}

/** What one place (the spec, or the annotations) sets; absent members are left to the next. */
interface PartialOptions {
  prefixMode?: PrefixMode;
  toolInclude?: string[];
  toolExclude?: string[];
  serverName?: string;
  serverVersion?: string;
  instructions?: string;
}

function readSpec(object: KubeObject): PartialOptions | string {
  const out: PartialOptions = {};
  const prefixMode = at(object, 'spec', 'prefixMode');
  if (present(prefixMode)) {
    const mode = typeof prefixMode === 'string' ? parsePrefixMode(prefixMode) : undefined;
    if (!mode) return 'spec.prefixMode must be always, conditional or never';
    out.prefixMode = mode;
  }

  const tools = at(object, 'spec', 'tools');
  if (present(tools)) {
    const fields = record(tools);
    if (!fields) return 'spec.tools must be a mapping with include and/or exclude';
    const unknown = unknownKey(fields, ['include', 'exclude']);
    if (unknown) return `spec.tools.${unknown} is not a field (include, exclude)`;
    for (const [key, member] of [['include', 'toolInclude'], ['exclude', 'toolExclude']] as const) {
      if (!present(fields[key])) continue;
      const globs = readGlobArray(fields[key], `spec.tools.${key}`);
      if (typeof globs === 'string') return globs;
      out[member] = globs;
    }
  }

  const serverInfo = at(object, 'spec', 'serverInfo');
  if (present(serverInfo)) {
    const fields = record(serverInfo);
    if (!fields) return 'spec.serverInfo must be a mapping with name and version';
    const unknown = unknownKey(fields, ['name', 'version']);
    if (unknown) return `spec.serverInfo.${unknown} is not a field (name, version)`;
    for (const [key, member] of [['name', 'serverName'], ['version', 'serverVersion']] as const) {
      if (!present(fields[key])) continue;
      const line = readLine(fields[key], `spec.serverInfo.${key}`);
      if ('problem' in line) return line.problem;
      if (key === 'name' && line.value === '') return 'spec.serverInfo.name must not be empty';
      out[member] = line.value;
    }
  }

  const instructions = at(object, 'spec', 'instructions');
  if (present(instructions)) {
    if (typeof instructions !== 'string') return 'spec.instructions must be a string';
    const text = readInstructions(instructions, 'spec.instructions');
    if ('problem' in text) return text.problem;
    out.instructions = text.value;
  }
  return out;
}

function readAnnotations(annotations: Readonly<Record<string, string>>): PartialOptions | string {
  const out: PartialOptions = {};
  const value = (key: string): string | undefined => (Object.hasOwn(annotations, key) ? annotations[key] : undefined);
  const where = (key: string): string => `annotation ${key}`;

  const prefixMode = value(Annotations.prefixMode);
  if (prefixMode !== undefined) {
    const mode = parsePrefixMode(prefixMode);
    if (!mode) return `${where(Annotations.prefixMode)} must be always, conditional or never`;
    out.prefixMode = mode;
  }
  for (const [key, member] of [[Annotations.toolInclude, 'toolInclude'], [Annotations.toolExclude, 'toolExclude']] as const) {
    const text = value(key);
    if (text === undefined) continue;
    const globs = parseGlobList(text, where(key));
    if (typeof globs === 'string') return globs;
    out[member] = globs;
  }
  for (const [key, member] of [[Annotations.serverName, 'serverName'], [Annotations.serverVersion, 'serverVersion']] as const) {
    const text = value(key);
    if (text === undefined) continue;
    const line = readLine(text, where(key));
    if ('problem' in line) return line.problem;
    out[member] = line.value;
  }
  const instructions = value(Annotations.instructions);
  if (instructions !== undefined) {
    const text = readInstructions(instructions, where(Annotations.instructions));
    if ('problem' in text) return text.problem;
    out.instructions = text.value;
  }
  return out;
}

/** Glob list from the spec: a list of strings, checked, sorted and deduplicated. */
function readGlobArray(value: unknown, field: string): string[] | string {
  if (!Array.isArray(value)) return `${field} must be a list of tool name globs`;
  for (const [i, glob] of value.entries()) {
    if (typeof glob !== 'string') return `${field}[${i}] must be a string`;
    const problem = toolGlobProblem(glob);
    if (problem) return `${field}[${i}]: ${problem}`;
  }
  return uniqueSorted(value as string[]);
}

/** A text value read, or why it cannot be (the value itself is a string, so a bare string would be ambiguous). */
type Text = { value: string } | { problem: string };

/** A serverInfo name or version: one line of text, trimmed. */
function readLine(value: unknown, field: string): Text {
  // YAML reads `version: 1.0` as the number 1: refuse rather than serve "1".
  if (typeof value !== 'string') return { problem: `${field} must be a string (quote values like "1.0")` };
  const text = value.trim();
  if (text.length > MAX_SERVER_INFO_LENGTH) return { problem: `${field} is at most ${MAX_SERVER_INFO_LENGTH} characters` };
  if (/[\u0000-\u001f\u007f]/.test(text)) return { problem: `${field} must be one line without control characters` };
  return { value: text };
}

/** Instructions, trimmed: leading and trailing blank lines carry nothing, and a blank value is unset. */
function readInstructions(value: string, field: string): Text {
  const text = value.trim();
  if (text.length > MAX_INSTRUCTIONS_LENGTH) return { problem: `${field} is at most ${MAX_INSTRUCTIONS_LENGTH} characters` };
  return { value: text };
}

/** YAML's `field:` with nothing after it reads as null: the same as leaving the field out. */
function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function unknownKey(fields: Readonly<Record<string, unknown>>, known: readonly string[]): string | undefined {
  return Object.keys(fields).sort().find((k) => !known.includes(k));
}
