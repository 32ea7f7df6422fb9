// Freezing built values, as a check for tests rather than a cost for production.
//
// What the translator builds and seals (version.ts: targets, backends, routes, snapshots, statuses)
// is shared from run to run and kept beside caches keyed by its identity (leaf digests, wire
// entries), so it must never be changed once built. Production trusts that and freezes only the top
// of a sealed value (one Object.freeze: the mark the discovery encoder keeps entries by). With
// MCPMUX_DEBUG_FREEZE=1, which test/run-tests.ts sets for every test, sealing deep-freezes the value
// instead, every object in it, so a write anywhere throws in the test that makes it.

/** Deep-freeze sealed values (MCPMUX_DEBUG_FREEZE=1): read once, at start. */
export const DEBUG_FREEZE = process.env.MCPMUX_DEBUG_FREEZE === '1';

/**
 * Freezes a value and everything it holds, skipping what `skip` says is frozen throughout already.
 * An object that is merely frozen is still descended into: someone may have frozen only its top.
 */
export function freezeDeep(value: object, skip: (member: object) => boolean = () => false): void {
  Object.freeze(value);
  // Indexes and for-in rather than Object.values: no array per object, for the 50k objects of a
  // large snapshot.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) freezeMember(value[i], skip);
  } else {
    for (const key in value) freezeMember((value as Record<string, unknown>)[key], skip);
  }
}

function freezeMember(member: unknown, skip: (member: object) => boolean): void {
  if (member !== null && typeof member === 'object' && !skip(member)) freezeDeep(member, skip);
}

/** Whether a value and everything it holds is frozen (for tests, under MCPMUX_DEBUG_FREEZE=1). */
export function deepFrozen(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (!Object.isFrozen(value)) return false;
  return Object.values(value).every(deepFrozen);
}
