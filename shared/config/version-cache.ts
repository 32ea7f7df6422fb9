// What computing versions keeps between calls (version.ts), in one object its owner passes in:
// the translator's TranslateCache holds one (control-plane/translate/translate-cache.ts); a caller
// without one gets a fresh one per call, which gives the same versions, only without reuse.
//
//  - sealed: each value seal() was given → its leaf digest once asked (null until
//    then). Keyed by identity: a sealed value is never changed (tests deep-freeze it to hold
//    everyone to that: freeze.ts), so its digest stands for as long as it lives. Weak: dropped
//    with the value.
//  - laidOut: per group and list, the digests laid end to end last time (concatDigests in
//    version.ts), the least recently used first, at most LAID_OUT_KEPT. Kept digests are compared
//    by identity before their bytes are reused, so a stale entry costs a copy, never a wrong byte.
//  - two JSON writers (canonical-json.ts): scratch, for bytes hashed and dropped, and the slab runs
//    made from scratch are written into. Buffers, not answers: nothing read from them outlives
//    the call that wrote them, except slab pieces, which nothing writes over.
import { JsonWriter } from './canonical-json.ts';

/** Groups × lists whose last layout of digests is kept. */
export const LAID_OUT_KEPT = 32;

export class VersionCache {
  readonly sealed = new WeakMap<object, Buffer | null>();
  readonly laidOut = new Map<string, { digests: readonly Buffer[]; bytes: Buffer }>();
  #scratch: JsonWriter | undefined;
  #slab: JsonWriter | undefined;

  /** The scratch writer (everything here is synchronous), empty; one grown past a megabyte for a large list is not kept. */
  scratch(): JsonWriter {
    if (!this.#scratch || this.#scratch.buf.length > 1024 * 1024) this.#scratch = new JsonWriter(false);
    this.#scratch.start = this.#scratch.pos = 0;
    return this.#scratch;
  }

  /** The slab writer, ready for a piece. */
  slab(): JsonWriter {
    this.#slab ??= new JsonWriter(true);
    this.#slab.pos = this.#slab.start; // drop anything left of a piece not taken
    return this.#slab;
  }
}
