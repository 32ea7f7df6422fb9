// Target names: the prefix of every tool a target exposes ("<target>_<tool>"), so they are computed
// here and nowhere else. DNS-label-like ([a-z0-9-], no "_"), so a tool name splits on its first "_".

export interface ServicePortRef {
  namespace: string;
  service: string;
  /** The Service port's name; "" when unnamed. */
  portName: string;
  /** The Service port (not the targetPort). */
  port: number;
  /** The Service's mcpmux.dev/target-name annotation, if any. */
  annotation?: string;
}

/** What sanitizeName() returns unchanged. */
const CLEAN_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** Lowercase, anything outside [a-z0-9-] becomes "-", runs of "-" collapse, no "-" at either end. */
export function sanitizeName(raw: string): string {
  if (CLEAN_NAME.test(raw)) return raw; // most names already are: skip the four rewrites
  const name = raw
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
  return name || 'target';
}

/** The annotation, else "<service>-<port name>", else "<service>-<port number>". */
export function serviceTargetName(ref: ServicePortRef): string {
  if (ref.annotation?.trim()) return sanitizeName(ref.annotation);
  return sanitizeName(`${ref.service}-${ref.portName || ref.port}`);
}

/** The name used when the plain name is shared by several targets of one backend. */
export function qualifiedServiceTargetName(ref: ServicePortRef): string {
  return sanitizeName(`${ref.namespace}-${ref.service}-${ref.portName || ref.port}`);
}

export interface NameRequest {
  /** Unique among the requests; the order of keys decides who keeps a contested name. */
  key: string;
  name: string;
  /** The fallback when `name` is shared; absent for names a user chose (static targets). */
  qualified?: string;
}

export interface NameAssignment {
  /** key → final name, for every request that got one. */
  names: Map<string, string>;
  /** Requests renamed to their qualified name because they shared a name. */
  renamed: Array<{ key: string; from: string; to: string }>;
  /** Requests left out because their name was still taken after qualifying. */
  dropped: Array<{ key: string; name: string }>;
}

/**
 * Makes names unique within one backend. Every request sharing a name with another that can be
 * qualified is qualified (all of them, so no one silently keeps the short name); what still collides
 * after that goes to the request with the smallest key, and the rest are dropped. Deterministic for a
 * given set of requests, whatever their order.
 */
export function assignNames(requests: readonly NameRequest[]): NameAssignment {
  const sorted = [...requests].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const count = new Map<string, number>();
  for (const r of sorted) count.set(r.name, (count.get(r.name) ?? 0) + 1);

  const result: NameAssignment = { names: new Map(), renamed: [], dropped: [] };
  const taken = new Set<string>();
  const wanted = sorted.map((r) => {
    const shared = (count.get(r.name) ?? 0) > 1 && r.qualified !== undefined && r.qualified !== r.name;
    return { request: r, name: shared ? r.qualified! : r.name, renamed: shared };
  });
  // Names nobody had to change are claimed first, so a qualified name never evicts a plain one.
  for (const pass of [false, true]) {
    for (const w of wanted) {
      if (w.renamed !== pass) continue;
      if (taken.has(w.name)) {
        result.dropped.push({ key: w.request.key, name: w.name });
        continue;
      }
      taken.add(w.name);
      result.names.set(w.request.key, w.name);
      if (w.renamed) result.renamed.push({ key: w.request.key, from: w.request.name, to: w.name });
    }
  }
  return result;
}
