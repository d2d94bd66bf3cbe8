/**
 * @module
 * One operation per key at a time, with coalescing: a request for a key whose
 * pass is running marks it dirty, and one more pass runs after the current
 * one, however many requests came meanwhile. Cells are serialised this way;
 * an event storm on one cell costs two passes, not one per event.
 */
export class KeyedQueue {
  private readonly running = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();

  constructor(private readonly onError: (key: string, error: unknown) => void) {}

  /** Runs `work` for `key` now, or once after the pass in flight. Resolves when a pass that started after this call has finished. */
  run(key: string, work: () => Promise<void>): Promise<void> {
    const current = this.running.get(key);
    if (current !== undefined) {
      // The pass in flight runs `work` once more before it settles.
      this.dirty.add(key);
      return current;
    }
    const pass = (async () => {
      do {
        this.dirty.delete(key);
        try {
          await work();
        } catch (error) {
          this.onError(key, error);
        }
      } while (this.dirty.has(key));
    })().finally(() => this.running.delete(key));
    this.running.set(key, pass);
    return pass;
  }

  /** Resolves once nothing is running (for shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }
}
