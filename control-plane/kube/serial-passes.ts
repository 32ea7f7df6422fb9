// One pass at a time over the newest input: a request made while a pass runs is answered by one
// more pass after it (any number of requests meanwhile coalesce into that one). The status writer
// and the provisioner both reconcile this way.
export class SerialPasses {
  readonly #pass: () => Promise<void>;
  readonly #onError: (error: unknown) => void;
  #running: Promise<void> | null = null;
  #again = false;

  constructor(pass: () => Promise<void>, onError: (error: unknown) => void) {
    this.#pass = pass;
    this.#onError = onError;
  }

  request(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#pass()
      .catch(this.#onError)
      .finally(() => {
        this.#running = null;
        if (this.#again) {
          this.#again = false;
          this.request();
        }
      });
  }

  /** Resolves when no pass is running or due (tests). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }
}
