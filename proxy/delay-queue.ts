// Callbacks run a fixed delay after they were added, all on one timer: what a setTimeout per
// request does (an upstream request's deadline, a request held undecided between JSON and SSE),
// for a fraction of its cost. Almost every one is cancelled long before it is due, so adding and
// cancelling are what must be cheap: an append to a doubly linked list and an unlink, no timer
// object, no re-arming while the head is not due. Entries are due in the order they were added,
// because the delay is the same for all: the head is always the next one due.

export interface Delayed {
  /** Cancels the callback if it has not run yet; idempotent. */
  cancel(): void;
}

class Entry implements Delayed {
  readonly due: number;
  fire: (() => void) | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
  readonly #queue: DelayQueue;

  constructor(queue: DelayQueue, due: number, fire: () => void) {
    this.#queue = queue;
    this.due = due;
    this.fire = fire;
  }

  cancel(): void {
    if (this.fire === undefined) return;
    this.fire = undefined;
    this.#queue.unlink(this);
  }
}

export class DelayQueue {
  readonly delayMs: number;
  #head: Entry | undefined;
  #tail: Entry | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(delayMs: number) {
    this.delayMs = delayMs;
  }

  /** Runs `fire` after delayMs unless cancelled first. */
  add(fire: () => void): Delayed {
    const entry = new Entry(this, performance.now() + this.delayMs, fire);
    if (this.#tail) {
      this.#tail.next = entry;
      entry.prev = this.#tail;
    } else {
      this.#head = entry;
    }
    this.#tail = entry;
    this.#timer ??= this.#arm(this.delayMs);
    return entry;
  }

  /** @internal Entry.cancel's half: out of the list (the timer stays; it finds nothing due and re-arms for the new head). */
  unlink(entry: Entry): void {
    if (entry.prev) entry.prev.next = entry.next;
    else this.#head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.#tail = entry.prev;
    entry.prev = undefined;
    entry.next = undefined;
  }

  /** Cancels everything pending (shutdown). */
  clear(): void {
    for (let entry = this.#head; entry; entry = entry.next) entry.fire = undefined;
    this.#head = undefined;
    this.#tail = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.#run(), Math.max(1, Math.ceil(ms)));
    // Pending deadlines of requests in flight never keep the process alive by themselves.
    timer.unref();
    return timer;
  }

  #run(): void {
    this.#timer = undefined;
    const now = performance.now();
    for (let entry = this.#head; entry; entry = this.#head) {
      if (entry.due > now) {
        this.#timer = this.#arm(entry.due - now);
        return;
      }
      const fire = entry.fire;
      entry.cancel();
      fire?.();
    }
  }
}

/** One DelayQueue per delay: the per-request timers of one owner (the upstream pool, an endpoint), whatever their delays. */
export class DelayQueues {
  readonly #queues = new Map<number, DelayQueue>();

  after(delayMs: number, fire: () => void): Delayed {
    let queue = this.#queues.get(delayMs);
    if (!queue) {
      queue = new DelayQueue(delayMs);
      this.#queues.set(delayMs, queue);
    }
    return queue.add(fire);
  }

  clear(): void {
    for (const queue of this.#queues.values()) queue.clear();
    this.#queues.clear();
  }
}

/** A plain timer as a Delayed: where no queue is given (tests, one-off uses). */
export function timer(delayMs: number, fire: () => void): Delayed {
  const handle = setTimeout(fire, delayMs);
  return { cancel: () => clearTimeout(handle) };
}
