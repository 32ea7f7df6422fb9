// Per-principal authorization (a backend's Policy.authorization): which tools, prompts and resources
// a principal may see and use. Rules match the principal (subject, groups claim, scope/scp claim)
// and the thing (tool name as clients see it, or its target); a matching deny wins, else a matching
// allow, else nothing is allowed ("default-deny"). Lists show only what may be used; a refused call
// names the rule and never reaches an upstream.
import type { Authorization } from '../../shared/config/types.ts';
import { globToRegExp, type ToolFilter } from '../federation/tool-filter.ts';
import type { Principal } from './authenticator.ts';

export type Decision = { allowed: true } | { allowed: false; rule: string };

interface CompiledRule {
  name: string;
  deny: boolean;
  subjects: ReadonlySet<string>;
  groups: ReadonlySet<string>;
  scopes: ReadonlySet<string>;
  tools: RegExp[];
  targets: RegExp[];
}

const ALLOWED: Decision = Object.freeze({ allowed: true });
export const DEFAULT_DENY = 'default-deny';

export class AccessPolicy {
  readonly #rules: CompiledRule[];

  constructor(authorization: Authorization) {
    this.#rules = authorization.rules.map((rule) => ({
      name: rule.name,
      deny: rule.effect === 'deny',
      subjects: new Set(rule.subjects),
      groups: new Set(rule.groups),
      scopes: new Set(rule.scopes),
      tools: rule.tools.map(globToRegExp),
      targets: rule.targets.map(globToRegExp),
    }));
  }

  /** What one principal (undefined: anonymous) may use. */
  for(principal: Principal | undefined): Access {
    return new Access(this.#rules.filter((rule) => matchesPrincipal(rule, principal)), principal?.id ?? 'anonymous');
  }
}

export class Access {
  readonly #rules: readonly CompiledRule[];
  /** Who, for logs. */
  readonly principal: string;

  constructor(rules: readonly CompiledRule[], principal: string) {
    this.#rules = rules;
    this.principal = principal;
  }

  /** A tool, by the name clients see and the target that serves it. */
  tool(exposed: string, target: string): Decision {
    return this.#decide((rule) => thingMatches(rule, target, exposed));
  }

  /** A prompt or resource: decided by its target alone (tool globs do not name them). */
  target(target: string): Decision {
    return this.#decide((rule) => rule.tools.length === 0 && thingMatches(rule, target, undefined));
  }

  /** The tools filter lists apply (with the backend's own filter). */
  toolFilter(): ToolFilter {
    return { allows: (name, target) => this.tool(name, target ?? toolTarget(name)).allowed };
  }

  #decide(matches: (rule: CompiledRule) => boolean): Decision {
    let allowed = false;
    for (const rule of this.#rules) {
      if (!matches(rule)) continue;
      if (rule.deny) return { allowed: false, rule: rule.name };
      allowed = true;
    }
    return allowed ? ALLOWED : { allowed: false, rule: DEFAULT_DENY };
  }
}

function matchesPrincipal(rule: CompiledRule, principal: Principal | undefined): boolean {
  if (rule.subjects.size === 0 && rule.groups.size === 0 && rule.scopes.size === 0) return true;
  if (!principal) return false;
  if (rule.subjects.has(principal.subject)) return true;
  const groups = principal.claims.groups;
  if (Array.isArray(groups) && groups.some((g) => typeof g === 'string' && rule.groups.has(g))) return true;
  return scopesOf(principal).some((s) => rule.scopes.has(s));
}

/** OAuth scopes: the space-separated `scope` claim (RFC 8693), or an `scp` list (Azure AD and others). */
function scopesOf(principal: Principal): string[] {
  const { scope, scp } = principal.claims as { scope?: unknown; scp?: unknown };
  if (typeof scope === 'string') return scope.split(/\s+/).filter(Boolean);
  if (Array.isArray(scp)) return scp.filter((s): s is string => typeof s === 'string');
  return [];
}

/** A rule with neither list names everything; otherwise the tool matches a tool glob, or its target a target glob. */
function thingMatches(rule: CompiledRule, target: string, tool: string | undefined): boolean {
  if (rule.tools.length === 0 && rule.targets.length === 0) return true;
  if (rule.targets.some((re) => re.test(target))) return true;
  return tool !== undefined && rule.tools.some((re) => re.test(tool));
}

/** The target of a prefixed tool name (split on the first `_`); the name itself when unprefixed. */
function toolTarget(exposed: string): string {
  const at = exposed.indexOf('_');
  return at < 0 ? exposed : exposed.slice(0, at);
}
