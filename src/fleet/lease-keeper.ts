/**
 * @module
 * The node's lease: granted, then renewed every third of its TTL with one
 * keepalive at a time, each under a deadline; a failed renewal is retried
 * with a doubling backoff capped at a third of the TTL. It only records what
 * etcd said and when (the facts fencing.ts decides on); it never stops a cell
 * itself. etcd3's own auto-keepalive is not used: it declares a lease lost
 * on a local timer (twice the TTL), which is no evidence that etcd dropped it.
 */
import type { Etcd3, Lease } from "etcd3";
import { EtcdLeaseInvalidError } from "etcd3";
import type { Logger } from "pino";
import type { LeaseView } from "./fencing.ts";

export class LeaseKeeper {
  private lease: Lease | undefined;
  private id: string | undefined;
  private leaseGone = false;
  private lastRenewedAt: number;
  private lastReachedAt: number | undefined;
  private failures = 0;
  private nextRenewAt = 0;
  private busy = false;

  constructor(
    private readonly client: Etcd3,
    private readonly ttlSeconds: number,
    private readonly callTimeoutMs: number,
    private readonly log: Logger,
    startedAt: number,
  ) {
    this.lastRenewedAt = startedAt;
  }

  /** The lease to attach keys to, once granted and not known gone. */
  current(): Lease | undefined {
    return this.leaseGone ? undefined : this.lease;
  }

  leaseId(): string | undefined {
    return this.leaseGone ? undefined : this.id;
  }

  view(now: number): LeaseView {
    return { leaseGone: this.leaseGone, lastRenewedAt: this.lastRenewedAt, lastReachedAt: this.lastReachedAt, now, ttlMs: this.ttlSeconds * 1000 };
  }

  /** Another etcd call got an answer: a member is reachable. */
  reached(at: number): void {
    this.lastReachedAt = at;
  }

  /** etcd showed the registration gone (its key deleted with the lease). */
  markGone(): void {
    if (!this.leaseGone) this.log.warn({ lease: this.id }, "lease gone: etcd deleted this node's registration");
    this.leaseGone = true;
  }

  /** Grants a lease when there is none (or it is gone), renews when due. Never throws. */
  async tick(now: number): Promise<void> {
    if (this.busy || now < this.nextRenewAt) return;
    this.busy = true;
    const sentAt = Date.now();
    try {
      if (this.lease === undefined || this.leaseGone) {
        this.lease?.release();
        const lease = this.client.lease(this.ttlSeconds, { autoKeepAlive: false });
        lease.on("lost", () => undefined);
        this.id = await lease.grant();
        this.lease = lease;
        this.leaseGone = false;
        this.log.info({ lease: this.id, ttlSeconds: this.ttlSeconds }, "lease granted");
      } else {
        await this.lease.keepaliveOnce({ deadline: Date.now() + this.callTimeoutMs });
      }
      this.lastRenewedAt = sentAt;
      this.lastReachedAt = Date.now();
      this.failures = 0;
      this.nextRenewAt = sentAt + (this.ttlSeconds * 1000) / 3;
    } catch (error) {
      if (error instanceof EtcdLeaseInvalidError) {
        this.markGone();
        this.lastReachedAt = Date.now();
        this.nextRenewAt = 0;
      } else {
        this.failures += 1;
        const backoff = Math.min(250 * 2 ** (this.failures - 1), (this.ttlSeconds * 1000) / 3);
        this.nextRenewAt = Date.now() + backoff;
        this.log.warn({ err: error, failures: this.failures, retryInMs: backoff }, "lease keepalive failed");
      }
    } finally {
      this.busy = false;
    }
  }

  /** Stops renewing; the lease expires on its own (keond's stop leaves the fleet to re-place after the grace). */
  release(): void {
    this.lease?.release();
  }
}
