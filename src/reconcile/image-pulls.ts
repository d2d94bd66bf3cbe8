/**
 * @module
 * The pulls a realm's cells wait for. A cell pass that finds an image
 * missing asks for it here and ends: the pull runs on keond's main thread
 * (where the API's pulls run, so one reference is downloaded once,
 * src/api/realm-pull.ts) and holds no cell-pass slot. When it ends, every
 * cell that waited for it is woken; a failure is handed to each such cell's
 * next pass, which records it as the cell's reason with the one backoff
 * (failure.ts), and a pass after the backoff asks again.
 */
import { KeonError } from "../model/errors.ts";
import type { PullError } from "../protocol/messages.ts";

export interface ImagePullIo {
  /** Ask the main thread for a pull of `reference` into this realm. */
  request(reference: string): void;
  /** Give `cell` an urgent pass. */
  wake(cell: string): void;
}

export class ImagePulls {
  /** References asked for and not answered, with the cells that wait for each. */
  private readonly inFlight = new Map<string, Set<string>>();
  /** The failure a cell's next pass reports, by cell. */
  private readonly failed = new Map<string, KeonError>();

  constructor(private readonly io: ImagePullIo) {}

  /**
   * `cell` needs `images`: asks for those not already in flight. Throws the
   * failure of a pull this cell waited for (once), so the pass records it.
   */
  ensure(cell: string, images: readonly string[]): void {
    const failure = this.failed.get(cell);
    if (failure !== undefined) {
      this.failed.delete(cell);
      throw failure;
    }
    for (const image of images) {
      const waiting = this.inFlight.get(image);
      if (waiting !== undefined) {
        waiting.add(cell);
        continue;
      }
      this.inFlight.set(image, new Set([cell]));
      this.io.request(image);
    }
  }

  /** The main thread's answer: every waiting cell is woken (with the failure to report, if any). */
  settled(reference: string, error: PullError | undefined): void {
    const waiting = this.inFlight.get(reference);
    if (waiting === undefined) return;
    this.inFlight.delete(reference);
    for (const cell of waiting) {
      if (error !== undefined) this.failed.set(cell, pullFailure(reference, error));
      this.io.wake(cell);
    }
  }

  /** The cell is gone: nothing is kept for it. */
  forget(cell: string): void {
    this.failed.delete(cell);
    for (const waiting of this.inFlight.values()) waiting.delete(cell);
  }
}

/**
 * `image 127.0.0.1:5000/app:1: 401 from 127.0.0.1:5000: …`: the HTTP status
 * and the registry first, when the registry answered, then the pull's own
 * message (which names the user at most, never a password). Pure.
 */
export function pullFailure(reference: string, error: PullError): KeonError {
  const status = error.details?.["status"];
  const registry = error.details?.["registry"];
  const answer = typeof status === "number" && typeof registry === "string" ? `${status} from ${registry}: ` : "";
  return new KeonError("IMAGE_PULL_FAILED", `image ${reference}: ${answer}${error.message}`, {
    details: { image: reference, code: error.code, ...(error.details ?? {}) },
  });
}
