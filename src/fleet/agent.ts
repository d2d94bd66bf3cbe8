/**
 * @module
 * keond's member of a fleet, in keond's main thread (it changes desired
 * state only, as the API does; the realm Workers never load it). One pass,
 * run on every etcd watch event and on a short tick, is one straight line:
 *
 * 1. renew the lease when due (lease-keeper.ts);
 * 2. read the whole fleet prefix at one revision;
 * 3. decide fencing (fencing.ts) and plan the local store (local-plan.ts);
 * 4. apply that plan to the local store, whose realm Workers converge it as
 *    they converge any API write;
 * 5. refresh this node's registration and write back the status of its cells
 *    (only what changed, both attached to the lease);
 * 6. if elected, place cells (placer.ts).
 *
 * Reading everything once per pass rather than keeping a cache fed by the
 * watch keeps one source of truth: the watch only says "look again", so a
 * missed or replayed event cannot leave the node wrong. etcd3 resumes the
 * watch from its last revision after a reconnect; the tick covers the time
 * the stream is down.
 */
import { existsSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import { join } from "node:path";
import type { Campaign, Etcd3, Watcher } from "etcd3";
import type { Logger } from "pino";
import type { Document, DocumentKind } from "../model/schema/document.ts";
import type { ResourceKey } from "../store/index.ts";
import { keyOf } from "../store/index.ts";
import { connectEtcd, readPrefix, valuesUnder, type EtcdSettings, type Snapshot } from "./etcd.ts";
import { fenceDecision, type FenceDecision } from "./fencing.ts";
import {
  ASSIGNMENTS, cellKeyOfPath, cellPath, DOCS, ELECTION_NAME, FLEET_LABEL, FLEET_PREFIX, nodeKey, NODES, statusKey, STATUSES,
  type Assignment, type FleetCellStatus, type NodeRecord,
} from "./keys.ts";
import { LeaseKeeper } from "./lease-keeper.ts";
import { planLocal, type FleetDocument, type LocalFleetResource } from "./local-plan.ts";
import { Placer } from "./placer.ts";
import { leaderOf } from "./views.ts";

export interface FleetSettings extends EtcdSettings {
  nodeName: string;
  address: string;
  labels: Record<string, string>;
  leaseTtlSeconds: number;
  replaceGraceSeconds: number;
}

/** The local store as the fleet needs it; the daemon implements it with the API's own write path. */
export interface LocalStore {
  /** Stores documents as the API does (admission, policy, parents), all or none, and wakes the realm Workers. */
  apply(documents: readonly Document[]): void;
  /** Cascade-deletes a resource; one already gone is fine. */
  remove(kind: DocumentKind, key: ResourceKey): void;
  /** Every local resource carrying the fleet label. */
  fleetResources(): LocalFleetResource[];
  /** A cell's status as its realm Worker last wrote it; `revision`: the fleet revision it is of, once the Worker observed that spec. */
  cellStatus(key: ResourceKey): { state: string; reason?: string; message?: string; revision?: string } | undefined;
}

export interface FleetState {
  node: string;
  endpoints: readonly string[];
  /** When an etcd member last answered (ISO), if ever. */
  lastContact: string | undefined;
  connected: boolean;
  lease: string | undefined;
  leaseTtlSeconds: number;
  leader: string | undefined;
  leading: boolean;
  fenced: FenceDecision;
}

/** A file whose presence cuts this node off from etcd (tests): no keepalive, no read, no write, leadership resigned. */
export const PARTITION_HOOK_FILE = "fleet-partition";

export class FleetAgent {
  readonly client: Etcd3;
  private readonly keeper: LeaseKeeper;
  private readonly placer: Placer;
  private readonly startedAt = Date.now();
  private watcher: Watcher | undefined;
  private campaign: Campaign | undefined;
  private leading = false;
  private leader: string | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private lastFence: FenceDecision = { fence: false };
  private registeredWith: string | undefined;
  /** Cells this node could not store (admission, policy), with the fleet revision refused: shown in their fleet status. */
  private readonly refused = new Map<string, { message: string; revision: string }>();
  /** Who hears of each snapshot a pass reads (a fleet `--wait`). */
  private readonly readers = new Set<(snapshot: Snapshot) => void>();

  constructor(
    private readonly settings: FleetSettings,
    private readonly local: LocalStore,
    private readonly log: Logger,
    private readonly runPath: string,
  ) {
    this.client = connectEtcd(settings);
    this.keeper = new LeaseKeeper(this.client, settings.leaseTtlSeconds, settings.callTimeoutMs, log, this.startedAt);
    this.placer = new Placer(this.client, settings.replaceGraceSeconds * 1000, log.child({ component: "placer" }));
  }

  start(): void {
    const tickMs = Math.min(1000, (this.settings.leaseTtlSeconds * 1000) / 4);
    this.timer = setInterval(() => this.wake(), tickMs);
    void this.watch();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    // Bounded: with etcd unreachable a pass or a resign could retry for several deadlines, and keond's stop must not wait on that.
    const bounded = (work: Promise<unknown> | undefined) => Promise.race([work?.catch(() => undefined), Bun.sleep(this.settings.callTimeoutMs)]);
    await bounded(this.running);
    await bounded(this.watcher?.cancel());
    if (this.leading) await bounded(this.campaign?.resign());
    // The lease is left to expire: the leader re-places after the grace, unless keond is back first.
    this.keeper.release();
    this.client.close();
  }

  /** Runs a pass now, or right after the one in flight. */
  wake(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch((error: unknown) => this.log.error({ err: error }, "fleet pass failed"))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** `listener` hears of every snapshot of the fleet a pass reads (each etcd change wakes one); returns the unsubscribe function. */
  onSnapshot(listener: (snapshot: Snapshot) => void): () => void {
    this.readers.add(listener);
    return () => this.readers.delete(listener);
  }

  state(): FleetState {
    const now = Date.now();
    const view = this.keeper.view(now);
    return {
      node: this.settings.nodeName,
      endpoints: this.settings.endpoints,
      lastContact: view.lastReachedAt === undefined ? undefined : new Date(view.lastReachedAt).toISOString(),
      connected: view.lastReachedAt !== undefined && now - view.lastReachedAt < view.ttlMs,
      lease: this.keeper.leaseId(),
      leaseTtlSeconds: this.settings.leaseTtlSeconds,
      leader: this.leader,
      leading: this.leading,
      fenced: this.lastFence,
    };
  }

  private partitioned(): boolean {
    return existsSync(join(this.runPath, PARTITION_HOOK_FILE));
  }

  private async watch(): Promise<void> {
    while (!this.stopped && this.watcher === undefined) {
      try {
        const watcher = await this.client.watch().prefix(FLEET_PREFIX).create();
        watcher.on("data", () => {
          if (!this.partitioned()) this.wake();
        });
        // etcd3 reconnects and resumes from the last revision on its own; this only logs.
        watcher.on("disconnected", (error: Error) => this.log.warn({ err: error }, "fleet watch disconnected"));
        watcher.on("connected", () => this.wake());
        this.watcher = watcher;
      } catch (error) {
        this.log.warn({ err: error }, "fleet watch could not start; retrying");
        await Bun.sleep(1000);
      }
    }
  }

  private async pass(): Promise<void> {
    const partitioned = this.partitioned();
    if (partitioned) await this.leaveOffice("partition hook");
    else await this.keeper.tick(Date.now());

    let snapshot: Snapshot | undefined;
    if (!partitioned) {
      try {
        snapshot = await readPrefix(this.client, FLEET_PREFIX);
        this.keeper.reached(Date.now());
        for (const reader of this.readers) reader(snapshot);
      } catch (error) {
        this.log.debug({ err: error }, "fleet read failed");
        await this.probeMember();
      }
    }
    const leaseId = this.keeper.leaseId();
    if (snapshot !== undefined && leaseId !== undefined && this.registeredWith === leaseId && !snapshot.kvs.some((kv) => kv.key === nodeKey(this.settings.nodeName))) {
      // Only the lease's expiry deletes a registration: etcd dropped it.
      this.keeper.markGone();
    }

    const fence = fenceDecision(this.keeper.view(Date.now()));
    if (fence.fence !== this.lastFence.fence) {
      if (fence.fence) this.log.warn({ reason: fence.reason }, "fenced: stopping this node's fleet cells");
      else this.log.info("lease held again: running assigned fleet cells");
    }
    this.lastFence = fence;
    if (snapshot !== undefined) this.leader = leaderOf(snapshot);
    this.applyLocal(snapshot, fence.fence);
    if (snapshot === undefined) return;

    const lease = this.keeper.current();
    if (lease !== undefined && !fence.fence) await this.writeBack(snapshot, this.keeper.leaseId()!);
    if (!partitioned) this.campaignIfIdle();
    // Elected and still first in etcd's own candidate list: a leader that was frozen or cut off
    // learns from the snapshot that it lost office before its campaign says so.
    if (this.leading && !fence.fence && this.leader === this.settings.nodeName) await this.placer.pass(snapshot, Date.now());
  }

  /**
   * Whether any member answers at all when reads fail: a member without
   * quorum still reports its status, and fencing (fencing.ts) tells "etcd
   * lost its quorum" (keep the cells) from "this node is cut off" (stop them).
   */
  private async probeMember(): Promise<void> {
    try {
      await this.client.maintenance.status();
      this.keeper.reached(Date.now());
    } catch (error) {
      this.log.debug({ err: error }, "no etcd member answers");
    }
  }

  /** Steps 3 and 4; with no snapshot only fencing can act (cells out, nothing else touched). */
  private applyLocal(snapshot: Snapshot | undefined, fenced: boolean): void {
    const local = this.local.fleetResources();
    if (snapshot === undefined) {
      if (!fenced) return;
      for (const cell of local.filter((r) => r.kind === "Cell" && !r.deleting)) this.removeLocal(cell.kind, cell.key);
      return;
    }
    const documents: FleetDocument[] = [...valuesUnder<Document>(snapshot, DOCS)].map(([, { value, modRevision }]) => ({ document: value, modRevision }));
    const assignedNode = new Map([...valuesUnder<Assignment>(snapshot, ASSIGNMENTS)].map(([path, { value }]) => [path, value.node]));
    const plan = planLocal({ node: this.settings.nodeName, documents, assignedNode, fenced, local });
    const replicated = plan.put.filter((d) => d.kind !== "Cell");
    if (replicated.length > 0) {
      try {
        this.local.apply(replicated);
      } catch (error) {
        this.log.error({ err: error }, "could not store the fleet's realms, spaces, stacks, secrets or volumes");
        return;
      }
    }
    for (const cell of plan.put.filter((d) => d.kind === "Cell")) {
      const path = cellPath(keyOf(cell));
      try {
        this.local.apply([cell]);
        this.refused.delete(path);
      } catch (error) {
        this.refused.set(path, { message: error instanceof Error ? error.message : String(error), revision: cell.metadata.labels?.[FLEET_LABEL] ?? "" });
        this.log.warn({ err: error, cell: path }, "this node refused a fleet cell");
      }
    }
    for (const ref of plan.remove) this.removeLocal(ref.kind, ref.key);
  }

  private removeLocal(kind: DocumentKind, key: ResourceKey): void {
    try {
      this.local.remove(kind, key);
      this.log.info({ kind, key }, "fleet resource removed from this node");
    } catch (error) {
      this.log.error({ err: error, kind, key }, "could not remove a fleet resource");
    }
  }

  /** Step 5: this node's record and its cells' status, each written only when it differs from etcd's copy. */
  private async writeBack(snapshot: Snapshot, leaseId: string): Promise<void> {
    const lease = this.keeper.current()!;
    const me = this.settings.nodeName;
    const mine = [...valuesUnder<Assignment>(snapshot, ASSIGNMENTS)].filter(([, { value }]) => value.node === me).map(([path]) => path);
    const statuses = valuesUnder<FleetCellStatus>(snapshot, STATUSES);
    const leaseOf = new Map(snapshot.kvs.map((kv) => [kv.key, kv.lease]));
    const stale = (key: string) => leaseOf.get(key) !== leaseId;

    const registered = valuesUnder<NodeRecord>(snapshot, NODES).get(me)?.value;
    const record: NodeRecord = {
      name: me,
      address: this.settings.address,
      labels: this.settings.labels,
      capacity: { cpus: availableParallelism(), memoryBytes: totalmem() },
      cellsRunning: this.local.fleetResources().filter((r) => r.kind === "Cell" && !r.deleting).length,
      lease: leaseId,
      registeredAt: registered?.lease === leaseId ? registered.registeredAt : new Date().toISOString(),
    };
    try {
      if (JSON.stringify(registered) !== JSON.stringify(record) || stale(nodeKey(me))) {
        await lease.put(nodeKey(me)).value(JSON.stringify(record));
        if (this.registeredWith !== leaseId) this.log.info({ node: me, lease: leaseId }, "registered in the fleet");
      }
      this.registeredWith = leaseId;
      for (const path of mine) {
        const key = cellKeyOfPath(path);
        const local = this.local.cellStatus(key);
        const refused = this.refused.get(path);
        const status: FleetCellStatus = refused !== undefined
          ? { node: me, state: "Error", ready: false, reason: "Refused", message: refused.message, revision: refused.revision }
          : {
              node: me, state: local?.state ?? "Pending", ready: local?.state === "Ready",
              ...(local?.reason === undefined ? {} : { reason: local.reason }),
              ...(local?.message === undefined ? {} : { message: local.message }),
              ...(local?.revision === undefined ? {} : { revision: local.revision }),
            };
        if (JSON.stringify(statuses.get(path)?.value) === JSON.stringify(status) && !stale(statusKey(key))) continue;
        await lease.put(statusKey(key)).value(JSON.stringify(status));
      }
      // Reports of cells this node no longer holds go; the new holder writes its own.
      for (const [path, { value }] of statuses) {
        if (value.node === me && !mine.includes(path)) await this.client.delete().key(statusKey(cellKeyOfPath(path)));
      }
    } catch (error) {
      this.log.warn({ err: error }, "fleet write-back failed; next pass tries again");
    }
  }

  private campaignIfIdle(): void {
    if (this.campaign !== undefined) return;
    const campaign = this.client.namespace(FLEET_PREFIX).election(ELECTION_NAME, this.settings.leaseTtlSeconds).campaign(this.settings.nodeName);
    this.campaign = campaign;
    campaign.on("elected", () => {
      this.leading = true;
      this.leader = this.settings.nodeName;
      this.placer.reset();
      this.log.info({ node: this.settings.nodeName }, "elected fleet leader");
      this.wake();
    });
    campaign.on("error", (error: Error) => {
      this.log.warn({ err: error }, "fleet campaign ended; campaigning again");
      if (this.campaign === campaign) {
        this.leading = false;
        this.campaign = undefined;
      }
    });
  }

  private async leaveOffice(why: string): Promise<void> {
    const campaign = this.campaign;
    if (campaign === undefined) return;
    this.campaign = undefined;
    this.leading = false;
    this.log.warn({ why }, "leaving the fleet election");
    await campaign.resign().catch(() => undefined);
  }
}
