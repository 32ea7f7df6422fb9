// Which worker of a pod owns a session (mcpmux proxy --workers N without NATS). The owner is written
// at the front of the session id it hands out: `w<k>_<random>`. Every id a client echoes (the
// Mcp-Session-Id header, a legacy POST's ?sessionId=, and a Last-Event-ID, whose stream key starts
// with the session id) then names its worker without any shared table, so a worker that receives a
// request on another worker's session passes it on (session-routing.ts). The random part stays
// ≥128 bits; the tag adds no guessable structure beyond the worker number, which is not a secret.

/** This process's tag, once it is a worker of a pod that routes sessions; undefined: ids are plain. */
let ownTag: string | undefined;

/** Session ids made from now on in this process carry worker `index` (called once, at a worker's start). */
export function tagSessionIds(index: number): void {
  ownTag = workerTag(index);
}

/** The tag of worker `index` at the front of its session ids. */
export function workerTag(index: number): string {
  return `w${index}_`;
}

/** What newSessionId() puts in front of the random part: this worker's tag, or nothing. */
export function sessionIdPrefix(): string {
  return ownTag ?? '';
}

const TAGGED = /^w(\d{1,4})_/;

/** The worker named at the front of `id` (a session id, or an SSE event id starting with one); undefined if it names none. */
export function sessionOwner(id: string): number | undefined {
  const match = TAGGED.exec(id);
  return match ? Number(match[1]) : undefined;
}
