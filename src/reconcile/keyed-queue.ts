/**
 * @module
 * The realm scheduler's work queue: one pass per key at a time, at most
 * `limit` passes at once, and coalescing (a request for a key that is queued
 * costs nothing; one for a key whose pass is running asks for exactly one
 * more pass after it). An event storm on one cell costs two passes, and 200
 * cells applied at once reach containerd `limit` at a time, first come first
 * served.
 *
 * A request may be urgent (a task exited, an operator changed something): it
 * goes ahead of every waiting ordinary one (a resync's), so a heal never
 * waits behind a resync of 200 cells.
 *
 * The end of a pass is handled in one synchronous step (release the key,
 * re-queue it if it was asked for meanwhile, start the next): there is no
 * microtask between the "was it asked for again?" check and the release in
 * which a request could be lost.
 */
export class KeyedQueue {
  /** Waiting keys, in arrival order (a Set keeps insertion order): urgent ones first. */
  private readonly urgent = new Set<string>();
  private readonly queued = new Set<string>();
  private readonly running = new Set<string>();
  /** Asked for again while running: one more pass. */
  private readonly again = new Set<string>();
  /** Callers waiting for the next pass of a key to finish. */
  private readonly waiters = new Map<string, Array<() => void>>();
  private readonly drained: Array<() => void> = [];

  constructor(
    private readonly work: (key: string) => Promise<void>,
    private readonly options: { limit: number; onError(key: string, error: unknown): void },
  ) {
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new RangeError(`queue limit must be a positive integer, got ${options.limit}`);
  }

  /** Asks for a pass of `key`. Resolves once a pass that started after this call has finished. */
  request(key: string, options: { urgent?: boolean } = {}): Promise<void> {
    const done = new Promise<void>((resolve) => {
      const list = this.waiters.get(key);
      if (list === undefined) this.waiters.set(key, [resolve]);
      else list.push(resolve);
    });
    if (this.running.has(key)) this.again.add(key);
    else if (options.urgent === true) {
      this.queued.delete(key);
      this.urgent.add(key);
    } else if (!this.urgent.has(key)) this.queued.add(key);
    this.pump();
    return done;
  }

  /** Passes running and waiting, for metrics. */
  get depth(): { running: number; queued: number } {
    return { running: this.running.size, queued: this.urgent.size + this.queued.size + this.again.size };
  }

  /** Resolves once nothing runs or waits (for shutdown and tests). */
  idle(): Promise<void> {
    if (this.running.size === 0 && this.queued.size === 0 && this.urgent.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  /** Forgets waiting keys (shutdown): passes in flight finish, nothing new starts. */
  clear(): void {
    this.urgent.clear();
    this.queued.clear();
    this.again.clear();
    for (const list of this.waiters.values()) for (const resolve of list) resolve();
    this.waiters.clear();
    this.settleIfIdle();
  }

  private pump(): void {
    for (const waiting of [this.urgent, this.queued]) {
      for (const key of waiting) {
        if (this.running.size >= this.options.limit) return;
        waiting.delete(key);
        this.start(key);
      }
    }
  }

  private start(key: string): void {
    this.running.add(key);
    const mine = this.waiters.get(key) ?? [];
    this.waiters.delete(key);
    const finish = (): void => {
      this.running.delete(key);
      if (this.again.delete(key)) this.queued.add(key);
      for (const resolve of mine) resolve();
      this.pump();
      this.settleIfIdle();
    };
    let pass: Promise<void>;
    try {
      pass = this.work(key);
    } catch (error) {
      pass = Promise.reject(error);
    }
    pass.then(finish, (error: unknown) => {
      try {
        this.options.onError(key, error);
      } finally {
        finish();
      }
    });
  }

  private settleIfIdle(): void {
    if (this.running.size > 0 || this.queued.size > 0 || this.urgent.size > 0) return;
    for (const resolve of this.drained.splice(0)) resolve();
  }
}
