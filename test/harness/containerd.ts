/**
 * @module
 * A private containerd per test file: its own root, state, sockets and temp
 * dir under a unique /tmp/keon-test-<id>, so tests never see (or harm) the
 * host's containerd, and teardown can prove it left nothing behind.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KeonError, isKeonError } from "../../src/model/errors.ts";
import { connectContainerd, type ContainerdClient } from "../../src/containerd/index.ts";
import { containerdConfigToml } from "../../src/daemon/managed-containerd.ts";
import { cgroupDirs, cgroupPids, removeCgroups } from "./cgroups.ts";
import { mountsUnder, unmountUnder } from "./mounts.ts";
import { findShims, isAlive, killPids, waitForExit } from "./processes.ts";
import { RUN_ID, TEST_DIR_PREFIX, randomId } from "./run-id.ts";

/** Where the runc v2 shim keeps runc state unless runtime options say otherwise (containerd 1.6). */
const RUNC_ROOT = "/run/containerd/runc";

export interface TestContainerd {
  /** The unique directory holding everything of this instance. */
  dir: string;
  socket: string;
  root: string;
  state: string;
  logPath: string;
  /** Namespace the client defaults to; unique per instance. */
  namespace: string;
  /** cgroupsPath parent for this instance's containers (unique per instance). */
  cgroupParent: string;
  /** PID of the running containerd (changes on restart). */
  readonly pid: number;
  client: ContainerdClient;
  /** SIGKILL containerd (shims keep running, as in a real crash). */
  kill(): Promise<void>;
  /** Stop containerd if it runs, start it again, wait until it answers. */
  restart(): Promise<void>;
  /** Tear everything down and assert nothing is left. */
  stop(): Promise<void>;
}

function configToml(dir: string, socket: string): string {
  return containerdConfigToml({ root: join(dir, "root"), state: join(dir, "state"), socket });
}

function logTail(path: string): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-20).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Where the runc v2 shim of container `id` listens: containerd 1.6
 * runtime/v2/shim SocketAddress = /run/containerd/s/sha256(<containerd
 * address>/<namespace>/<id>). A shim killed by signal cannot remove it.
 */
export function shimSocketPath(socket: string, namespace: string, id: string): string {
  return `/run/containerd/s/${createHash("sha256").update(join(socket, namespace, id)).digest("hex")}`;
}

/** Shim sockets of every container still known (API) or with shim state on disk. */
function shimSocketPaths(socket: string, state: string, containers: ReadonlyArray<{ namespace: string; id: string }>): string[] {
  const found = new Set(containers.map((c) => shimSocketPath(socket, c.namespace, c.id)));
  const base = join(state, "io.containerd.runtime.v2.task");
  if (existsSync(base)) {
    for (const ns of readdirSync(base)) for (const id of readdirSync(join(base, ns))) found.add(shimSocketPath(socket, ns, id));
  }
  return [...found];
}

/**
 * Delete everything in one namespace through the API, in dependency order:
 * tasks, containers, images, leases, snapshots (children first), content,
 * then the namespace. Collects failures instead of stopping at the first.
 */
export async function cleanNamespace(client: ContainerdClient, namespace: string, errors: unknown[]): Promise<void> {
  const c = client.withNamespace(namespace);
  const attempt = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (error) {
      errors.push(new Error(`${namespace}: ${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
    }
  };
  // Tasks.List names each task's container in `id` (containerd 1.6).
  for (const task of await c.tasks.list()) {
    await attempt(`kill task ${task.id}`, async () => {
      if (task.status !== "STOPPED") {
        await c.tasks.kill(task.id, 9, { all: true }).catch((error: unknown) => {
          // "process already finished" is NOT_FOUND: it exited meanwhile.
          if (!isKeonError(error, "NOT_FOUND")) throw error;
        });
        await c.tasks.wait(task.id, "", { deadlineMs: 10_000 });
      }
      await c.tasks.delete(task.id);
    });
  }
  for (const container of await c.containers.list()) {
    await attempt(`delete container ${container.id}`, () => c.containers.delete(container.id));
  }
  for (const image of await c.images.list()) await attempt(`delete image ${image.name}`, () => c.images.delete(image.name));
  for (const lease of await c.leases.list()) await attempt(`delete lease ${lease.id}`, () => c.leases.delete(lease.id));
  // Unreferenced snapshots and content go with a synchronous GC. Removing
  // them one by one races GC, which leaves stale child links on parents
  // (containerd 1.6 metadata/gc.go), making those parents refuse Remove.
  await attempt("collect garbage", () => c.leases.collectGarbage());
  // What is still referenced goes leaves first; a refusal is retried after the next GC.
  const refusals: unknown[] = [];
  for (let round = 0; round < 20; round++) {
    const snapshots = await c.snapshots.list();
    if (snapshots.length === 0) break;
    const parents = new Set(snapshots.map((s) => s.parent));
    for (const leaf of snapshots.filter((s) => !parents.has(s.name))) {
      await c.snapshots.remove(leaf.name).catch((error: unknown) => refusals.push(error));
    }
    await attempt("collect garbage", () => c.leases.collectGarbage());
  }
  const snapshotsLeft = await c.snapshots.list();
  if (snapshotsLeft.length > 0) {
    errors.push(
      new AggregateError(refusals, `${namespace}: snapshots left: ${snapshotsLeft.map((s) => s.name).join(", ")}`),
    );
  }
  for (const info of await c.content.list()) await attempt(`delete content ${info.digest}`, () => c.content.delete(info.digest));
  await attempt("delete namespace", () => c.namespaces.delete(namespace));
}

/** Start a private containerd and connect a client to it (namespace created). */
export async function startContainerd(options: { startTimeoutMs?: number } = {}): Promise<TestContainerd> {
  const id = randomId();
  const dir = `${TEST_DIR_PREFIX}${id}`;
  const socket = join(dir, "containerd.sock");
  const root = join(dir, "root");
  const state = join(dir, "state");
  const tmp = join(dir, "tmp");
  const configPath = join(dir, "config.toml");
  const logPath = join(dir, "containerd.log");
  const namespace = `keon-test-${RUN_ID}-${id}`;
  const cgroupParent = `/keon-test-${RUN_ID}-${id}`;
  mkdirSync(tmp, { recursive: true });
  writeFileSync(configPath, configToml(dir, socket));
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;

  let proc: ReturnType<typeof Bun.spawn> | undefined;
  const client = connectContainerd({ socket, namespace });

  const launch = async (): Promise<void> => {
    const log = openSync(logPath, "a");
    try {
      proc = Bun.spawn(["containerd", "--config", configPath], {
        stdin: "ignore",
        stdout: log,
        stderr: log,
        env: {
          PATH: `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
          // Diff.Apply's temporary mounts land in TMPDIR; keep them under our dir.
          TMPDIR: tmp,
        },
      });
    } finally {
      closeSync(log);
    }
    const started = proc;
    const exited = started.exited.then((code) => {
      throw new Error(`containerd exited with ${code} while starting:\n${logTail(logPath)}`);
    });
    await Promise.race([client.waitUntilReady(startTimeoutMs), exited]).catch((error: unknown) => {
      if (started.exitCode === null) started.kill("SIGKILL");
      throw new Error(`containerd did not start: ${error instanceof Error ? error.message : String(error)}\n${logTail(logPath)}`, {
        cause: error,
      });
    });
    exited.catch(() => undefined); // only a start-time failure matters; later exits are the test's doing
  };

  const terminate = async (signal: "SIGTERM" | "SIGKILL"): Promise<void> => {
    const running = proc;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    running.kill(signal);
    const done = await Promise.race([running.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
    if (!done) {
      running.kill("SIGKILL");
      await running.exited;
    }
  };

  await launch();
  await client.namespaces.ensure(namespace, { "keon.test/run": RUN_ID });

  const handle: TestContainerd = {
    dir,
    socket,
    root,
    state,
    logPath,
    namespace,
    cgroupParent,
    get pid(): number {
      if (proc === undefined) throw new Error("containerd not started");
      return proc.pid;
    },
    client,
    kill: async () => await terminate("SIGKILL"),
    restart: async () => {
      await terminate("SIGTERM");
      await launch();
    },
    stop: async () => {
      const errors: unknown[] = [];
      const containers: { namespace: string; id: string }[] = [];
      // Clean through the API, so containerd itself unmounts, deletes runc
      // state and stops shims the normal way.
      try {
        if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) await launch();
        for (const ns of await client.namespaces.list()) {
          for (const c of await client.withNamespace(ns.name).containers.list()) containers.push({ namespace: ns.name, id: c.id });
          await cleanNamespace(client, ns.name, errors);
        }
      } catch (error) {
        errors.push(error);
      }
      client.close();
      const lastPid = proc?.pid;
      const shimSockets = shimSocketPaths(socket, state, containers);
      await terminate("SIGTERM");

      // Whatever the API could not stop is ended by PID: shims, then the
      // container processes a dead shim leaves running in our cgroups.
      const survivors = [...(await killPids(findShims(socket))), ...(await killPids(cgroupPids(cgroupParent)))];
      for (const path of shimSockets) rmSync(path, { force: true });
      rmSync(join(RUNC_ROOT, namespace), { recursive: true, force: true });
      const stuckMounts = unmountUnder(dir);
      const stuckCgroups = removeCgroups(cgroupParent);
      if (stuckMounts.length === 0) rmSync(dir, { recursive: true, force: true });

      // Prove it.
      const problems: string[] = [];
      if (lastPid !== undefined && isAlive(lastPid)) problems.push(`containerd ${lastPid} still alive`);
      if (survivors.length > 0) problems.push(`processes survived SIGKILL: ${survivors.join(", ")}`);
      const shimsLeft = findShims(socket);
      if (shimsLeft.length > 0) problems.push(`shims found after teardown: ${shimsLeft.join(", ")}`);
      const mountsLeft = mountsUnder(dir);
      if (mountsLeft.length > 0) problems.push(`mounts left: ${mountsLeft.join(", ")}`);
      const cgroupsLeft = cgroupDirs(cgroupParent);
      if (cgroupsLeft.length > 0 || stuckCgroups.length > 0) problems.push(`cgroups left: ${cgroupsLeft.join(", ")}`);
      if (existsSync(dir)) problems.push(`${dir} still exists`);
      if (existsSync(join(RUNC_ROOT, namespace))) problems.push(`runc state ${join(RUNC_ROOT, namespace)} left`);
      for (const path of shimSockets) if (existsSync(path)) problems.push(`shim socket ${path} left`);
      if (problems.length > 0 || errors.length > 0) {
        throw new AggregateError(errors, `teardown of ${dir} incomplete: ${problems.join("; ") || "API cleanup failed"}`);
      }
    },
  };
  return handle;
}

/** Wait for `pid` (e.g. a task's init) to be gone. */
export async function expectProcessGone(pid: number, timeoutMs = 5_000): Promise<void> {
  if (!(await waitForExit(pid, timeoutMs))) throw new KeonError("INTERNAL", `process ${pid} still alive after ${timeoutMs} ms`);
}
