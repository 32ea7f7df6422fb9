// How a federated name carries its target: tools and prompts are `<target>_<name>`, split on the
// FIRST `_` (target names never contain one, tool names may). Computed here and nowhere else.
import type { PrefixMode } from '../routing/table.ts';

export const NAME_SEPARATOR = '_';

export function prefixName(target: string, name: string): string {
  return target + NAME_SEPARATOR + name;
}

/** `a_b_c` → {target: 'a', name: 'b_c'}; undefined when there is no `_` or either side is empty. */
export function splitPrefixedName(exposed: string): { target: string; name: string } | undefined {
  const at = exposed.indexOf(NAME_SEPARATOR);
  if (at <= 0 || at === exposed.length - 1) return undefined;
  return { target: exposed.slice(0, at), name: exposed.slice(at + 1) };
}

/**
 * Whether a backend's names carry their target: always with PREFIX_MODE_ALWAYS (and UNSPECIFIED),
 * with PREFIX_MODE_CONDITIONAL only while more than one target could collide, never with
 * PREFIX_MODE_NEVER.
 */
export function namesArePrefixed(mode: PrefixMode, targetCount: number): boolean {
  switch (mode) {
    case 'always':
      return true;
    case 'conditional':
      return targetCount > 1;
    case 'never':
      return false;
    default: {
      const never: never = mode;
      throw new Error(`unknown prefix mode ${String(never)}`);
    }
  }
}

/** The name a client sees for `name` of `target`. */
export function exposeName(prefixed: boolean, target: string, name: string): string {
  return prefixed ? prefixName(target, name) : name;
}

/**
 * The target and upstream name behind a name a client sent. Unprefixed names belong to the only
 * target there is (`onlyTarget`, undefined when there are several or none). Undefined when the name
 * cannot be one of ours; the caller checks the target exists.
 */
export function resolveName(
  prefixed: boolean,
  onlyTarget: string | undefined,
  exposed: string,
): { target: string; name: string } | undefined {
  if (prefixed) return splitPrefixedName(exposed);
  return onlyTarget === undefined || exposed === '' ? undefined : { target: onlyTarget, name: exposed };
}
