/**
 * @module
 * The running side of one container: create and start its task, stop it
 * (SIGTERM, SIGKILL after the grace period) or kill it, and delete the task.
 * The container record and its snapshot are left alone, so a stopped cell
 * keeps its writable layers.
 */
import type { ContainerdClient } from "../containerd/client.ts";
import type { Process } from "../containerd/generated/containerd-v1-types.ts";
import { renameSync, rmSync, statSync } from "node:fs";
import { isKeonError, KeonError } from "../model/errors.ts";
import { holdConsoleForCreate, taskIoOf, type TaskStdio } from "./container-stdio.ts";
import { logTimesPathOf, previousLogPathOf } from "./run-layout.ts";

const SIGHUP = 1;
const SIGKILL = 9;
const SIGTERM = 15;
/** How long a process on a terminal has for SIGTERM before its terminal is hung up (at most half the grace). */
const HANGUP_AFTER_MS = 1_000;
/** How long a SIGKILLed task may take to be reaped before we call it stuck. */
const KILL_WAIT_MS = 10_000;

export type TaskStatus = "RUNNING" | "CREATED" | "STOPPED" | "PAUSED" | "PAUSING" | "UNKNOWN";

export interface TaskObservation {
  status: TaskStatus | "MISSING";
  pid?: number;
  exitStatus?: number;
  /** When it exited (ms since the epoch), for a stopped task. */
  exitedAt?: number;
}

export async function observeTask(client: ContainerdClient, id: string): Promise<TaskObservation> {
  try {
    return taskObservationOf(await client.tasks.get(id));
  } catch (error) {
    if (isKeonError(error, "NOT_FOUND")) return { status: "MISSING" };
    throw error;
  }
}

/** A task's process as Tasks/Get and Tasks/List answer it, in the shape Keon reads. */
export function taskObservationOf(process: Process): TaskObservation {
  const status: TaskStatus = process.status;
  const exitedAt = process.exited_at === null ? undefined : Number(process.exited_at.seconds) * 1000 + Math.floor(process.exited_at.nanos / 1e6);
  return {
    status,
    pid: process.pid,
    ...(status === "STOPPED" ? { exitStatus: process.exit_status, ...(exitedAt === undefined ? {} : { exitedAt }) } : {}),
  };
}

/**
 * Creates and starts the task of an existing container record; a task left
 * from an earlier run (stopped, or created and never started) is deleted
 * first. Returns the init's pid and whether this call started it (a running
 * task is left alone, so a caller undoes only what it did). `rootfs` mounts
 * come from the container's snapshot; a container without one (the pause
 * root) runs from spec.root.path.
 */
export async function startTask(
  client: ContainerdClient,
  id: string,
  options: {
    /** Its log file, or the console of an attachable container (container-stdio.ts); none for the pause root. */
    stdio?: TaskStdio;
    withSnapshot: boolean;
    /** Runs between create and start, while the init is parked in `runc init` (a nested cell's process-leaf adoption). */
    afterCreate?: ((pid: number) => Promise<void>) | undefined;
    /** Awaited after the create, before the start: what must be ready before the process runs (its cell's network). */
    beforeStart?: Promise<unknown>;
  },
): Promise<{ pid: number; started: boolean }> {
  const existing = await observeTask(client, id);
  if (existing.status === "RUNNING" && existing.pid !== undefined) return { pid: existing.pid, started: false };
  if (existing.status !== "MISSING") await stopTask(client, id, 0);
  const rootfs = options.withSnapshot ? await client.snapshots.mounts(id) : [];
  if (options.stdio !== undefined) keepPreviousLog(options.stdio.logFile);
  let created: { pid: number };
  const release = await holdConsoleForCreate(options.stdio);
  try {
    created = await client.tasks.create({ containerId: id, rootfs, ...taskIoOf(options.stdio) });
  } catch (error) {
    // A create cut short by its deadline may have made the task all the same (a `runc init` with a live shim).
    await stopTask(client, id, 0).catch(() => undefined);
    throw error;
  } finally {
    release();
  }
  try {
    await options.afterCreate?.(created.pid);
    await options.beforeStart;
    await client.tasks.start(id);
  } catch (error) {
    // The start's (or afterCreate's) own failure is what the caller must see; a task that cannot even be killed shows up in the next refresh.
    await stopTask(client, id, 0).catch(() => undefined);
    throw error;
  }
  return { pid: created.pid, started: true };
}

/**
 * A new instance writes a new log: the last one's output becomes the
 * previous log (`keon logs --previous`). An empty log is no instance's
 * output (a create that failed before the process wrote anything), so it
 * does not replace the previous one. Its times file goes with it (its header
 * names the log's inode, which the rename keeps).
 */
function keepPreviousLog(logFile: string): void {
  let size: number;
  try {
    size = statSync(logFile).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  if (size === 0) return;
  renameSync(logFile, previousLogPathOf(logFile));
  try {
    renameSync(logTimesPathOf(logFile), logTimesPathOf(previousLogPathOf(logFile)));
  } catch (error) {
    // A log written while no keond kept its times has none: its lines are stamped with its mtime.
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    rmSync(logTimesPathOf(previousLogPathOf(logFile)), { force: true });
  }
}

/**
 * Ends the task and deletes it; idempotent (no task is success). With
 * `graceMs` 0 this is a kill: SIGKILL at once. Returns the exit status when
 * there was a task. A process on a terminal (an attachable container) that
 * is still there a moment after SIGTERM is told its terminal hung up
 * (SIGHUP), as when a terminal window closes: an interactive shell ignores
 * SIGTERM and would otherwise wait out the grace period for its SIGKILL.
 */
export async function stopTask(client: ContainerdClient, id: string, graceMs: number, options: { terminal?: boolean } = {}): Promise<number | undefined> {
  const task = await observeTask(client, id);
  if (task.status === "MISSING") return undefined;
  if (task.status !== "STOPPED") {
    if (task.status === "PAUSED" || task.status === "PAUSING") await client.tasks.resume(id).catch(() => undefined);
    let exited = false;
    if (graceMs > 0 && task.status !== "CREATED") {
      await signal(client, id, SIGTERM, false);
      if (options.terminal === true) {
        const beforeHangup = Math.min(HANGUP_AFTER_MS, graceMs / 2);
        exited = await waitExit(client, id, beforeHangup);
        if (!exited) {
          await signal(client, id, SIGHUP, false);
          exited = await waitExit(client, id, graceMs - beforeHangup);
        }
      } else {
        exited = await waitExit(client, id, graceMs);
      }
    }
    if (!exited) {
      // A created task has only its `runc init`: signal it alone (runc's --all needs a started container's cgroup).
      await signal(client, id, SIGKILL, task.status !== "CREATED");
      if (!(await waitExit(client, id, KILL_WAIT_MS))) {
        throw new KeonError("CONTAINERD_ERROR", `task ${id} did not exit ${KILL_WAIT_MS} ms after SIGKILL`, { details: { containerId: id } });
      }
    }
  }
  const deleted = await client.tasks.delete(id);
  return deleted?.exit_status ?? task.exitStatus;
}

async function signal(client: ContainerdClient, id: string, sig: number, all: boolean): Promise<void> {
  try {
    await client.tasks.kill(id, sig, { all });
  } catch (error) {
    // The process finished between our look and the signal: that is what we wanted.
    if (isKeonError(error, "NOT_FOUND") || /already finished|not running|process already/.test((error as Error).message)) return;
    throw error;
  }
}

async function waitExit(client: ContainerdClient, id: string, timeoutMs: number): Promise<boolean> {
  try {
    await client.tasks.wait(id, "", { deadlineMs: timeoutMs });
    return true;
  } catch (error) {
    if (isKeonError(error, "DEADLINE_EXCEEDED")) return false;
    if (isKeonError(error, "NOT_FOUND")) return true;
    throw error;
  }
}

/**
 * Ends a task whose container record is gone. containerd 1.6 reaches a task
 * only through its record (Tasks/Get, Kill and Delete look the record up
 * first and answer NOT_FOUND without it), while Tasks/List still shows the
 * task and its shim lives on. So a stand-in record with the same ID and the
 * runc runtime is made, the task is killed and deleted through it, and the
 * stand-in goes again.
 */
export async function endOrphanTask(client: ContainerdClient, id: string): Promise<void> {
  // A record made meanwhile (ALREADY_EXISTS) is not ours to remove: then the task is no orphan, and nothing is done.
  await client.containers.create({ id, spec: ORPHAN_STAND_IN_SPEC, labels: { "io.keon.managed": "true", "io.keon.orphan-stand-in": "true" } });
  try {
    await stopTask(client, id, 0);
  } finally {
    await client.containers.delete(id).catch((error: unknown) => {
      if (!isKeonError(error, "NOT_FOUND")) throw error;
    });
  }
}

/** The least spec a record needs; the task it stands in for already runs with its own. */
const ORPHAN_STAND_IN_SPEC = { ociVersion: "1.0.2-dev", process: { args: ["/bin/true"], cwd: "/" }, root: { path: "rootfs" } };
