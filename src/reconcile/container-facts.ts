/**
 * @module
 * A container's crash facts as a pure function of what was observed: when
 * its running instance started, how its latest instance ended (`lastState`:
 * exit code, signal, reason, start and finish times) and the OOM event
 * containerd reported for it. The task that ended is deleted when the
 * container restarts, so the facts of an ended instance live only in status:
 * each pass carries the stored ones forward and replaces them when a newer
 * exit is observed. An OOM event usually arrives beside the exit; it is
 * stored until the exit that it explains has been observed, so a keond
 * restart in between still names `OOMKilled`.
 */
import { constants } from "node:os";
import type { ContainerLastState, ContainerStatus } from "../model/schema/container.ts";
import type { ObservedContainer } from "./plan.ts";

/** Exit statuses above this mean "killed by signal (status - 128)", as the runc shim reports them. */
const SIGNAL_EXIT_BASE = 128;
const SIGKILL = 9;
/**
 * How far an OOM event may trail the exit it explains: the shim's OOM
 * watcher and its reaper publish independently, so the event's timestamp
 * can fall a little after the task's exit time.
 */
export const OOM_EVENT_GRACE_MS = 5_000;
/**
 * A process's start time is read as boot time plus ticks since boot, and the
 * boot time is taken from the clock (runtime/process-start.ts): a keond
 * restart after the clock was adjusted reads one instance's start a little
 * differently. Within this tolerance the stored start time of the same
 * instance is kept, so a keond restart rewrites no status.
 */
const START_TIME_TOLERANCE_MS = 1_000;

const SIGNAL_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(constants.signals).map(([name, number]) => [number, name] as const),
);

/** The signal a task's exit status says killed it (`137` → `SIGKILL`), if any. */
export function signalOfExit(exitCode: number): string | undefined {
  if (exitCode <= SIGNAL_EXIT_BASE || exitCode > SIGNAL_EXIT_BASE + 64) return undefined;
  const number = exitCode - SIGNAL_EXIT_BASE;
  return SIGNAL_NAMES.get(number) ?? `signal ${number}`;
}

/** How an exit reads in events and tables: `exited 137 (SIGKILL)`, `exited 0`, `OOMKilled (exit 137)`. */
export function exitText(last: Pick<ContainerLastState, "exitCode" | "signal" | "reason">): string {
  if (last.reason === "OOMKilled") return `OOMKilled (exit ${last.exitCode})`;
  return `exited ${last.exitCode}${last.signal === undefined ? "" : ` (${last.signal})`}`;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const msOf = (at: string | undefined): number | undefined => {
  const ms = at === undefined ? NaN : Date.parse(at);
  return Number.isNaN(ms) ? undefined : ms;
};
const latest = (...values: Array<number | undefined>): number | undefined => {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? undefined : Math.max(...known);
};

/** The stored status entry of a container, as far as its facts need it. */
export type StoredContainerFacts = Pick<ContainerStatus, "startTime" | "lastState" | "lastOOMEventAt">;

export interface ContainerFactsInput {
  /** The container as status shows it (after acting). */
  now: ObservedContainer;
  /** The same container as the pass first saw it (the same look when the pass did nothing): an exit the pass restarted at once is seen only here. */
  before: ObservedContainer | undefined;
  previous: StoredContainerFacts | undefined;
  /** The latest OOM event the realm loop received for this container (ms), if any. */
  oomEventAtMs: number | undefined;
}

export type ContainerFacts = Pick<ContainerStatus, "startTime" | "finishTime" | "exitSignal" | "lastState" | "lastOOMEventAt">;

/**
 * The start of the running instance: the stored one while it is the same
 * instance (the pass started none: its first look saw the same process) and
 * names nearly the same instant.
 */
function startTimeOf(now: ObservedContainer, before: ObservedContainer | undefined, previous: StoredContainerFacts | undefined): string | undefined {
  if (now.startedAtMs === undefined) return undefined;
  const stored = msOf(previous?.startTime);
  const sameInstance = before !== undefined && before.pid !== undefined && before.pid === now.pid;
  if (sameInstance && stored !== undefined && Math.abs(stored - now.startedAtMs) <= START_TIME_TOLERANCE_MS) return previous!.startTime;
  return iso(now.startedAtMs);
}

/** The newest exit among the two looks of this pass. */
function newestExit(input: ContainerFactsInput): { exitCode: number; exitedAtMs: number } | undefined {
  const exits = [input.before, input.now]
    .filter((c): c is ObservedContainer => c?.state === "exited" && c.exitedAtMs !== undefined)
    .map((c) => ({ exitCode: c.exitCode ?? -1, exitedAtMs: c.exitedAtMs! }));
  return exits.sort((a, b) => b.exitedAtMs - a.exitedAtMs)[0];
}

/**
 * Whether the OOM event explains this exit: the process was SIGKILLed (the
 * kernel's OOM killer) and the event fell within the instance's life, after
 * the exit an earlier OOM event already explained.
 */
function oomExplains(exit: { exitCode: number; exitedAtMs: number }, oomAtMs: number | undefined, notBeforeMs: number | undefined): boolean {
  if (oomAtMs === undefined || exit.exitCode !== SIGNAL_EXIT_BASE + SIGKILL) return false;
  return oomAtMs <= exit.exitedAtMs + OOM_EVENT_GRACE_MS && (notBeforeMs === undefined || oomAtMs > notBeforeMs);
}

export function containerFactsOf(input: ContainerFactsInput): ContainerFacts {
  const { now, previous } = input;
  const oomAtMs = latest(input.oomEventAtMs, msOf(previous?.lastOOMEventAt));
  const lastState = lastStateOf(input, oomAtMs);
  const ended = now.state === "exited" && lastState !== undefined && msOf(lastState.finishedAt) === now.exitedAtMs;
  const startTime = ended ? lastState!.startedAt : startTimeOf(now, input.before, previous);
  return {
    ...(startTime !== undefined ? { startTime } : {}),
    ...(ended ? { finishTime: lastState!.finishedAt, ...(lastState!.signal !== undefined ? { exitSignal: lastState!.signal } : {}) } : {}),
    ...(lastState !== undefined ? { lastState } : {}),
    ...(oomAtMs !== undefined ? { lastOOMEventAt: iso(oomAtMs) } : {}),
  };
}

/** A newer exit replaces the stored lastState; the stored one may still learn it was an OOM kill (the event trailed the exit). */
function lastStateOf(input: ContainerFactsInput, oomAtMs: number | undefined): ContainerLastState | undefined {
  const stored = input.previous?.lastState;
  const storedFinishMs = msOf(stored?.finishedAt);
  const exit = newestExit(input);
  if (exit === undefined || (storedFinishMs !== undefined && exit.exitedAtMs <= storedFinishMs)) {
    if (stored === undefined || storedFinishMs === undefined || stored.reason !== "Error") return stored;
    const oom = oomExplains({ exitCode: stored.exitCode, exitedAtMs: storedFinishMs }, oomAtMs, msOf(stored.startedAt));
    return oom ? { ...stored, reason: "OOMKilled" } : stored;
  }
  // The instance that ended started when status last said it did. The start is read to about 20 ms (ticks and the
  // boot time), so a short-lived instance's start may read a little after its exit: within the tolerance it is
  // that instance's (clamped to the exit); a start later still is another instance's.
  const previousStart = msOf(input.previous?.startTime);
  const startedAt = previousStart === undefined || previousStart > exit.exitedAtMs + START_TIME_TOLERANCE_MS
    ? undefined
    : previousStart <= exit.exitedAtMs ? input.previous!.startTime : iso(exit.exitedAtMs);
  // An OOM event within the grace of the stored exit belongs to that exit, not to this one.
  const notBefore = latest(msOf(startedAt), storedFinishMs === undefined ? undefined : storedFinishMs + OOM_EVENT_GRACE_MS);
  const signal = signalOfExit(exit.exitCode);
  return {
    exitCode: exit.exitCode,
    ...(signal !== undefined ? { signal } : {}),
    reason: oomExplains(exit, oomAtMs, notBefore) ? "OOMKilled" : exit.exitCode === 0 ? "Completed" : "Error",
    ...(startedAt !== undefined ? { startedAt } : {}),
    finishedAt: iso(exit.exitedAtMs),
  };
}
