/**
 * A cell's root container as Keon runs it: no image and no snapshot, its root
 * the read-only pause directory from ensurePauseRootfs, its spec from
 * buildRootContainerSpec, catatonit -P as pid 1. Workload containers built by
 * buildOciSpec with the root task's pid join its net, ipc and uts namespaces:
 * they see the cell name as hostname and reach each other on 127.0.0.1.
 * SIGTERM stops the root at once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import {
  createContainerWithRootfs,
  importImageArchive,
  readImageConfig,
  removeContainerRootfs,
  type ImageRuntimeConfig,
  type ContainerdClient,
} from "../../src/containerd/index.ts";
import { ROOT_CONTAINER_ID, containerCgroupPathOf, containerdId } from "../../src/model/index.ts";
import { buildOciSpec, buildRootContainerSpec, type CellContext, type HostFacts } from "../../src/oci/spec.ts";
import { ensurePauseRootfs } from "../../src/runtime/pause-rootfs.ts";
import { gatherHostFacts } from "../../src/runtime/host-facts.ts";
import {
  CONTAINERD_BINARIES,
  buildBusyboxImage,
  randomId,
  requireBinaries,
  requireRoot,
  startContainerd,
  waitUntil,
  type TestContainerd,
} from "../harness/index.ts";

const SUITE = "OCI spec: root container and workloads sharing its namespaces";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, "catatonit"]);
const IMAGE = "keon.test/busybox:latest";
const SHARED_NAMESPACES = ["net", "ipc", "uts"] as const;

/** A started task: its init's host pid, a Wait already in flight, and its log. */
interface RunningTask {
  id: string;
  pid: number;
  waited: Promise<{ exit_status: number }>;
  log: string;
}

async function startTask(
  client: ContainerdClient,
  id: string,
  rootfs: Awaited<ReturnType<ContainerdClient["snapshots"]["mounts"]>>,
  log: string,
  waitMs: number,
): Promise<RunningTask> {
  const task = await client.tasks.create({ containerId: id, rootfs, logFile: log });
  const waited = client.tasks.wait(id, "", { deadlineMs: waitMs });
  waited.catch(() => undefined); // awaited by the test; a deadline there must not also be unhandled here
  await client.tasks.start(id);
  return { id, pid: task.pid, waited, log };
}

function logOf(task: RunningTask): string {
  return existsSync(task.log) ? readFileSync(task.log, "utf8") : "";
}

describe.skipIf(!ready)(SUITE, () => {
  let cd: TestContainerd;
  let host: HostFacts;
  let image: ImageRuntimeConfig;
  let root: RunningTask | undefined;
  const unique = randomId();
  const names = { realm: `r-${unique}`, space: "sp", stack: "st", cell: `cell-${unique}` };
  const rootId = (): string => containerdId(names.space, names.stack, names.cell, ROOT_CONTAINER_ID);

  function context(containerId: string, rootfsPath: string, rootTaskPid?: number): CellContext {
    return {
      ...names,
      containerId,
      ...(rootTaskPid === undefined ? {} : { rootTaskPid }),
      cgroupsPath: containerCgroupPathOf({ root: cd.cgroupParent, ...names, container: containerId }),
      nestedCgroupRuntime: false,
      rootfsPath,
    };
  }

  /** A busybox workload of the cell running `script`, joined to the root task's namespaces. */
  async function startWorkload(containerId: string, script: string): Promise<RunningTask> {
    if (root === undefined) throw new Error("the root container is not running");
    const id = containerdId(names.space, names.stack, names.cell, containerId);
    const spec = buildOciSpec(
      { id: containerId, image: IMAGE, command: "/bin/sh", args: ["-c", script] },
      context(containerId, "rootfs", root.pid),
      { entrypoint: image.entrypoint, cmd: image.cmd, env: image.env, user: image.user, workingDir: image.workingDir },
      host,
    );
    const { mounts } = await createContainerWithRootfs(cd.client, { id, spec, image: IMAGE, chainId: image.chainId });
    return await startTask(cd.client, id, mounts, join(cd.dir, "logs", `${id}.log`), 30_000);
  }

  async function removeWorkload(task: RunningTask): Promise<void> {
    await cd.client.tasks.delete(task.id);
    await cd.client.containers.delete(task.id);
    await removeContainerRootfs(cd.client, task.id);
  }

  beforeAll(async () => {
    const archive = await buildBusyboxImage();
    cd = await startContainerd();
    await importImageArchive(cd.client, archive, { name: IMAGE });
    image = await readImageConfig(cd.client, IMAGE);
    host = await gatherHostFacts({ containerdPid: cd.pid });
  });

  afterAll(async () => {
    await cd?.stop();
  });

  test("runs catatonit -P from the pause rootfs, with no image and no snapshot", async () => {
    // Under the harness's directory, which its teardown removes and checks.
    const rootfs = ensurePauseRootfs(join(cd.dir, "run"));
    const spec = buildRootContainerSpec(context(ROOT_CONTAINER_ID, rootfs), host);
    expect(spec.root).toEqual({ path: rootfs, readonly: true });
    expect(spec.hostname).toBe(names.cell);

    await cd.client.containers.create({ id: rootId(), spec, labels: { "keon.test/case": "root" } });
    root = await startTask(cd.client, rootId(), [], join(cd.dir, "logs", `${rootId()}.log`), 60_000);
    // Right after Start the task's process may still be runc's init, mid-exec, with an empty cmdline.
    const pid = root.pid;
    const cmdlineOf = () => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a) => a !== "");
    await waitUntil(() => cmdlineOf().length > 0, "the root task's command line", 10_000);
    expect(cmdlineOf()).toEqual(["/catatonit", "-P"]);
    expect((await cd.client.tasks.get(rootId())).status).toBe("RUNNING");
  });

  test("a joined workload sees the cell name as its hostname", async () => {
    const task = await startWorkload("hostname", "hostname");
    expect((await task.waited).exit_status).toBe(0);
    expect(logOf(task)).toBe(`${names.cell}\n`);
    await removeWorkload(task);
  });

  test("a workload reaches a listener of another workload on 127.0.0.1 in the cell's network namespace", async () => {
    if (root === undefined) throw new Error("the root container is not running");
    const listener = await startWorkload("listener", "echo hi | nc -l -p 8080");
    // Both workloads are in the root's namespaces, not in namespaces of their own.
    for (const ns of SHARED_NAMESPACES) {
      expect(readlinkSync(`/proc/${listener.pid}/ns/${ns}`)).toBe(readlinkSync(`/proc/${root.pid}/ns/${ns}`));
    }
    expect(readlinkSync(`/proc/${listener.pid}/ns/net`)).not.toBe(readlinkSync("/proc/self/ns/net"));

    // The listener may not be listening yet: retry inside the container.
    const client = await startWorkload(
      "client",
      "for i in $(seq 50); do nc 127.0.0.1 8080 && exit 0; sleep 0.1; done; echo never connected; exit 1",
    );
    const clientExit = await client.waited;
    const listenerExit = await listener.waited;
    console.log(`[client log]\n${logOf(client)}`);
    expect(clientExit.exit_status).toBe(0);
    expect(logOf(client)).toContain("hi\n");
    expect(listenerExit.exit_status).toBe(0);
    await removeWorkload(client);
    await removeWorkload(listener);
  });

  test("SIGTERM stops the root container at once", async () => {
    if (root === undefined) throw new Error("the root container is not running");
    const started = performance.now();
    await cd.client.tasks.kill(rootId(), 15);
    const exit = await root.waited;
    const stopMs = performance.now() - started;
    console.log(`[measure] SIGTERM → root task exit: ${stopMs.toFixed(1)} ms (exit status ${exit.exit_status})`);
    // "At once": catatonit exits on the signal instead of waiting out a stop timeout.
    expect(stopMs).toBeLessThan(2_000);
    await cd.client.tasks.delete(rootId());
    await cd.client.containers.delete(rootId());
    root = undefined;
  });
});
