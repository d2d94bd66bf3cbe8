/**
 * @module
 * Settles stored forks (store/cell-forks.ts) in keond's main thread: the
 * realm Workers never write desired state, and deleting a fork's slots is
 * a change of desired state. A fork is watched from the request that made
 * it and, after a keond restart, from keond's start (`resumeForks`), so a
 * fork whose request died with keond is still finished or undone whole.
 * The watch goes on when the client leaves: the verdict does not depend on
 * anyone listening.
 */
import { forkVerdict, type SlotSeen } from "../model/fork-verdict.ts";
import type { CellFork } from "../store/cell-forks.ts";
import { describeKey } from "../store/index.ts";
import type { ApiDeps } from "./deps.ts";
import { notifyChanged } from "./resource-handlers.ts";
import { deleteResource } from "./resource-writes.ts";
import { describeSeen, settled } from "./wait.ts";

export type ForkWatchDeps = Pick<ApiDeps, "store" | "bus" | "dispatch" | "log">;

export type ForkOutcome = { phase: "done" } | { phase: "undone"; code: "SETTLED_FAILED" | "DEADLINE_EXCEEDED"; message: string };

function slotsSeen(deps: ForkWatchDeps, fork: CellFork): SlotSeen[] {
  return fork.slots.map((name): SlotSeen => {
    const key = { ...fork.source, name };
    if (deps.store.get("Cell", key) === undefined) return { name, state: "missing" };
    const progress = settled(deps.store, "Cell", key);
    if (!progress.done) return { name, state: "waiting", why: describeSeen(progress.details) };
    const failed = progress.failed ?? [];
    return failed.length === 0 ? { name, state: "settled" } : { name, state: "failed", why: failed.map(describeSeen).join("; ") };
  });
}

/** Delete every slot still there and mark the fork undone, in one transaction. */
function undo(deps: ForkWatchDeps, fork: CellFork, message: string): void {
  const affected = deps.store.transaction(() => {
    const refs = fork.slots
      .map((name) => ({ ...fork.source, name }))
      .filter((key) => deps.store.get("Cell", key) !== undefined)
      .flatMap((key) => deleteResource(deps.store, "Cell", key, true).affected);
    deps.store.forks.settle(fork.id, "undone", message);
    return refs;
  });
  notifyChanged(deps, affected);
}

function event(deps: ForkWatchDeps, fork: CellFork, type: "Normal" | "Warning", reason: string, message: string): void {
  const { realm, space, stack, name } = fork.source;
  deps.store.events.append({ realm, space, stack, cell: name, kind: "Cell", name, type, reason, message });
}

/**
 * Resolve with the fork's outcome once it is settled: re-judged at start,
 * on each worker `status` (or `realm-gone`) message and at the deadline.
 */
export function watchFork(deps: ForkWatchDeps, fork: CellFork): Promise<ForkOutcome> {
  return new Promise<ForkOutcome>((resolve, reject) => {
    let finished = false;
    const finish = (outcome: ForkOutcome | Error) => {
      finished = true;
      clearTimeout(timer);
      unsubscribe();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const check = () => {
      if (finished) return;
      try {
        const verdict = forkVerdict(slotsSeen(deps, fork), new Date(fork.deadline), new Date());
        if (verdict.decision === "wait") return;
        const what = `fork of ${describeKey("Cell", fork.source)} into ${fork.slots.join(", ")} (snapshot ${fork.snapshot})`;
        if (verdict.decision === "done") {
          if (deps.store.forks.settle(fork.id, "done", "every slot settled")) event(deps, fork, "Normal", "Forked", `${what}: every slot settled`);
          finish({ phase: "done" });
          return;
        }
        undo(deps, fork, verdict.message);
        event(deps, fork, "Warning", "ForkUndone", `${what} undone, every slot deleted: ${verdict.message}`);
        deps.log.warn({ fork: fork.id, source: fork.source, code: verdict.code }, verdict.message);
        finish({ phase: "undone", code: verdict.code, message: verdict.message });
      } catch (error) {
        finish(error instanceof Error ? error : new Error(String(error)));
      }
    };
    const unsubscribe = deps.bus.subscribe((message) => {
      if (message.type === "status" || message.type === "realm-gone") check();
    });
    // One wake-up at the deadline (+1 ms: the verdict compares with >=).
    const timer = setTimeout(check, Math.max(0, Date.parse(fork.deadline) - Date.now()) + 1);
    check();
  });
}

/** At keond's start: watch every fork a previous keond left pending. */
export function resumeForks(deps: ForkWatchDeps): void {
  for (const fork of deps.store.forks.pending()) {
    deps.log.info({ fork: fork.id, source: fork.source, slots: fork.slots }, "resuming a pending fork");
    watchFork(deps, fork).catch((error: unknown) => deps.log.error({ err: error, fork: fork.id }, "settling a fork failed; it stays pending until the next start"));
  }
}
