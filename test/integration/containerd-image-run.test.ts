/**
 * Import the busybox OCI archive into a private containerd, unpack it, and run
 * containers from it to a known exit code, seen through Wait and through the
 * TaskExit event.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  containerSpec,
  createContainerWithRootfs,
  importImageArchive,
  prepareContainerRootfs,
  isEvent,
  listImages,
  namespaceFilter,
  readImageConfig,
  removeContainerRootfs,
  removeImage,
  type ContainerdEvent,
  type Subscription,
} from "../../src/containerd/index.ts";
import { isKeonError, type KeonError } from "../../src/model/errors.ts";
import { buildOciSpec } from "../../src/oci/spec.ts";
import {
  BUSYBOX_TAG,
  CONTAINERD_BINARIES,
  buildBusyboxImage,
  minimalSpec,
  randomId,
  requireBinaries,
  requireRoot,
  startContainerd,
  waitUntil,
  type TestContainerd,
} from "../harness/index.ts";

const SUITE = "containerd image import and run";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, CONTAINERD_BINARIES);
const IMAGE = "keon.test/busybox:latest";

/** RLIMIT_NOFILE of this process, which containerd (our child) inherits. */
function hostNofile(): { soft: number; hard: number } {
  const line = readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((l) => l.startsWith("Max open files"));
  const [soft, hard] = (line ?? "").split(/\s{2,}/).slice(1, 3).map(Number);
  return { soft: soft ?? 1024, hard: hard ?? 1024 };
}

describe.skipIf(!ready)(SUITE, () => {
  let cd: TestContainerd;
  let archive: string;
  let subscription: Subscription | undefined;
  const events: ContainerdEvent[] = [];
  const streamErrors: KeonError[] = [];

  beforeAll(async () => {
    archive = await buildBusyboxImage();
    cd = await startContainerd();
    subscription = cd.client.events.subscribe({
      filters: [namespaceFilter(cd.namespace)],
      onEvent: (event) => events.push(event),
      onError: (error) => streamErrors.push(error),
    });
  });

  afterAll(async () => {
    await subscription?.close();
    await cd?.stop();
  });

  /** Create a container on the image and its rootfs; proves the event stream is live by its /containers/create event. */
  async function createContainer(id: string, args: string[]): Promise<{ spec: Record<string, unknown> }> {
    const image = await readImageConfig(cd.client, IMAGE);
    const spec = minimalSpec({ args, env: image.env, cgroupsPath: `${cd.cgroupParent}/${id}` });
    await createContainerWithRootfs(cd.client, {
      id,
      spec,
      image: IMAGE,
      chainId: image.chainId,
      labels: { "keon.test/case": id },
    });
    await waitUntil(
      () => events.some((e) => e.topic === "/containers/create" && (e.event as { id?: string } | null)?.id === id),
      `ContainerCreate event for ${id}`,
    );
    return { spec };
  }

  async function removeContainer(id: string): Promise<void> {
    await cd.client.tasks.delete(id);
    await cd.client.containers.delete(id);
    await removeContainerRootfs(cd.client, id);
  }

  test("imports the busybox archive into content and an overlayfs snapshot", async () => {
    const started = performance.now();
    const [image] = await importImageArchive(cd.client, archive, { name: IMAGE });
    const importMs = performance.now() - started;
    console.log(
      `[measure] import of busybox OCI archive (${statSync(archive).size} bytes, 1 layer): ${importMs.toFixed(1)} ms`,
    );
    expect(image?.name).toBe(IMAGE);
    expect(image?.blobsWritten).toBe(3);
    expect(image?.snapshotsCreated).toBe(1);
    if (image === undefined) throw new Error("no image imported");

    // The layer is committed under its chain ID (one layer: chain ID = diff ID).
    const config = await readImageConfig(cd.client, IMAGE);
    expect(config.chainId).toBe(image.chainId);
    expect(config.cmd).toEqual(["/bin/sh"]);
    expect(config.env).toContain("PATH=/usr/sbin:/usr/bin:/sbin:/bin");
    const snapshot = await cd.client.snapshots.stat(image.chainId);
    expect(snapshot.kind).toBe("COMMITTED");

    // GC references as containerd's unpacker sets them.
    const configInfo = await cd.client.content.info(image.configDigest);
    expect(configInfo.labels["containerd.io/gc.ref.snapshot.overlayfs"]).toBe(image.chainId);
    const manifestInfo = await cd.client.content.info(image.manifestDigest);
    expect(manifestInfo.labels["containerd.io/gc.ref.content.config"]).toBe(image.configDigest);
    expect(manifestInfo.labels["containerd.io/gc.ref.content.l.0"]).toMatch(/^sha256:/);

    // The import lease is gone; nothing half-done remains.
    expect(await cd.client.leases.list()).toEqual([]);
    expect((await cd.client.snapshots.list()).map((s) => s.name)).toEqual([image.chainId]);

    // Importing again sends nothing and unpacks nothing.
    const [again] = await importImageArchive(cd.client, archive, { name: IMAGE });
    expect(again?.blobsWritten).toBe(0);
    expect(again?.blobsPresent).toBe(3);
    expect(again?.snapshotsCreated).toBe(0);
    expect(again?.snapshotsPresent).toBe(1);
  });

  test("takes the image name from the index annotation when none is given", async () => {
    const [image] = await importImageArchive(cd.client, archive);
    expect(image?.name).toBe(BUSYBOX_TAG);
    expect((await listImages(cd.client)).map((i) => i.name).sort()).toEqual([IMAGE, BUSYBOX_TAG].sort());
    expect(await removeImage(cd.client, BUSYBOX_TAG)).toBe(true);
    expect(await removeImage(cd.client, BUSYBOX_TAG)).toBe(false);
    // The other image still holds the shared content and snapshot.
    expect((await readImageConfig(cd.client, IMAGE)).chainId).toMatch(/^sha256:/);
  });

  test("a missing image is IMAGE_NOT_FOUND", async () => {
    const error = await readImageConfig(cd.client, "keon.test/nothing:here").catch((e: unknown) => e);
    expect(isKeonError(error, "IMAGE_NOT_FOUND")).toBe(true);
  });

  test("rootfs: prepare is idempotent, refuses another parent, and a failed create undoes it", async () => {
    const image = await readImageConfig(cd.client, IMAGE);
    const id = `rootfs-${randomId()}`;
    const lease = `lease-${id}`;
    await cd.client.leases.create({ id: lease, expireAfterMs: 60_000 });
    const first = await prepareContainerRootfs(cd.client, { containerId: id, chainId: image.chainId }, { lease });
    const again = await prepareContainerRootfs(cd.client, { containerId: id, chainId: image.chainId }, { lease });
    expect(again).toEqual(first);
    const other = await prepareContainerRootfs(cd.client, { containerId: id, chainId: "" }).catch((e: unknown) => e);
    expect(isKeonError(other, "CONFLICT")).toBe(true);
    expect(await removeContainerRootfs(cd.client, id)).toBe(true);
    expect(await removeContainerRootfs(cd.client, id)).toBe(false);
    await cd.client.leases.delete(lease);

    // containerd refuses the record (invalid ID): the snapshot made for it goes too.
    const bad = "Not A Valid ID!";
    const refused = await createContainerWithRootfs(cd.client, { id: bad, spec: {}, chainId: image.chainId }).catch(
      (e: unknown) => e,
    );
    expect(isKeonError(refused)).toBe(true);
    expect(await cd.client.snapshots.find(bad)).toBeNull();
    expect((await cd.client.leases.list()).map((l) => l.id)).toEqual([]);
  });

  test("runs a container to a known exit code, seen by Wait and by the TaskExit event", async () => {
    const id = `exit-${randomId()}`;
    const { spec } = await createContainer(id, ["/bin/sh", "-c", "echo hello from keon; exit 7"]);

    // The stored spec is exactly what was sent.
    expect(containerSpec(await cd.client.containers.get(id))).toEqual(spec);

    const log = join(cd.dir, "logs", `${id}.log`);
    const mounts = await cd.client.snapshots.mounts(id);
    const started = performance.now();
    const task = await cd.client.tasks.create({ containerId: id, rootfs: mounts, logFile: log });
    expect(task.pid).toBeGreaterThan(0);
    const waited = cd.client.tasks.wait(id, "", { deadlineMs: 30_000 });
    await cd.client.tasks.start(id);
    const exit = await waited;
    const runMs = performance.now() - started;
    console.log(`[measure] task create → start → exit (busybox sh, exit 7): ${runMs.toFixed(1)} ms`);
    expect(exit.exit_status).toBe(7);

    await waitUntil(
      () => events.some((e) => isEvent(e, "containerd.events.TaskExit") && e.event.container_id === id),
      `TaskExit event for ${id}`,
    );
    const exitEvent = events.find((e) => isEvent(e, "containerd.events.TaskExit") && e.event.container_id === id);
    if (exitEvent === undefined || !isEvent(exitEvent, "containerd.events.TaskExit")) throw new Error("no TaskExit");
    expect(exitEvent.event.exit_status).toBe(7);
    expect(exitEvent.event.pid).toBe(task.pid);
    expect(exitEvent.topic).toBe("/tasks/exit");
    expect(exitEvent.namespace).toBe(cd.namespace);
    expect(events.some((e) => isEvent(e, "containerd.events.TaskStart") && e.event.container_id === id)).toBe(true);

    expect(readFileSync(log, "utf8")).toBe("hello from keon\n");
    const deleted = await cd.client.tasks.delete(id);
    expect(deleted?.exit_status).toBe(7);
    expect(await cd.client.tasks.delete(id)).toBeNull();
    await removeContainer(id);
    expect(streamErrors).toEqual([]);
  });

  test("exec, pause/resume, metrics, pids and kill on a running task", async () => {
    const id = `long-${randomId()}`;
    await createContainer(id, ["/bin/sleep", "300"]);
    const task = await cd.client.tasks.create({ containerId: id, rootfs: await cd.client.snapshots.mounts(id) });
    await cd.client.tasks.start(id);
    expect((await cd.client.tasks.get(id)).status).toBe("RUNNING");

    // A Wait shorter than the task's life ends with DEADLINE_EXCEEDED, not a hang.
    const early = await cd.client.tasks.wait(id, "", { deadlineMs: 300 }).catch((e: unknown) => e);
    expect(isKeonError(early, "DEADLINE_EXCEEDED")).toBe(true);

    // exec: the process spec travels as a JSON Any.
    const execId = `exec-${randomId()}`;
    await cd.client.tasks.exec({
      containerId: id,
      execId,
      process: { args: ["/bin/sh", "-c", "exit 3"], env: ["PATH=/bin"], cwd: "/", user: { uid: 1000, gid: 1000 } },
    });
    const execWait = cd.client.tasks.wait(id, execId, { deadlineMs: 30_000 });
    await cd.client.tasks.start(id, execId);
    expect((await execWait).exit_status).toBe(3);
    expect((await cd.client.tasks.deleteProcess(id, execId))?.exit_status).toBe(3);

    await cd.client.tasks.pause(id);
    expect((await cd.client.tasks.get(id)).status).toBe("PAUSED");
    await cd.client.tasks.resume(id);
    expect((await cd.client.tasks.get(id)).status).toBe("RUNNING");
    await waitUntil(
      () => events.some((e) => isEvent(e, "containerd.events.TaskResumed") && e.event.container_id === id),
      "TaskResumed event",
    );

    const pids = await cd.client.tasks.listPids(id);
    expect(pids.map((p) => p.pid)).toContain(task.pid);

    const [metric] = await cd.client.tasks.metrics([`id==${id}`]);
    if (metric === undefined) throw new Error("no metrics");
    const decoded = cd.client.tasks.decodeMetrics(metric);
    expect(decoded.id).toBe(id);
    if (decoded.cgroup === "v1") expect(decoded.metrics.pids?.current).toBeGreaterThanOrEqual(1);
    else expect(decoded.metrics.pids?.current).toBeGreaterThanOrEqual(1);

    expect((await cd.client.tasks.list()).map((t) => t.id)).toContain(id);

    const waited = cd.client.tasks.wait(id, "", { deadlineMs: 30_000 });
    await cd.client.tasks.kill(id, 9, { all: true });
    expect((await waited).exit_status).toBe(137);
    await removeContainer(id);
  });

  test("runs a container whose spec src/oci's buildOciSpec made from the image config", async () => {
    const id = `oci-${randomId()}`;
    const image = await readImageConfig(cd.client, IMAGE);
    const spec = buildOciSpec(
      { id, command: "/bin/sh", args: ["-c", "test \"$(id -u)\" = 1000 && exit 5"], user: "1000:1000" },
      {
        realm: "r",
        space: "s",
        stack: "st",
        cell: "c",
        containerId: id,
        cgroupsPath: `${cd.cgroupParent}/${id}`,
        nestedCgroupRuntime: false,
        rootfsPath: "rootfs",
      },
      { entrypoint: image.entrypoint, cmd: image.cmd, env: image.env, workingDir: image.workingDir },
      { nofile: hostNofile(), devices: {}, defaultSeccomp: true },
    );
    const { mounts } = await createContainerWithRootfs(cd.client, { id, spec, image: IMAGE, chainId: image.chainId });
    expect(containerSpec(await cd.client.containers.get(id))).toEqual(JSON.parse(JSON.stringify(spec)));
    await cd.client.tasks.create({ containerId: id, rootfs: mounts });
    const waited = cd.client.tasks.wait(id, "", { deadlineMs: 30_000 });
    await cd.client.tasks.start(id);
    expect((await waited).exit_status).toBe(5);
    await removeContainer(id);
  });

  test("removing the last image lets containerd reclaim its content and snapshots", async () => {
    expect(await removeImage(cd.client, IMAGE)).toBe(true);
    await waitUntil(async () => (await cd.client.snapshots.list()).length === 0, "snapshots garbage-collected");
    await waitUntil(async () => (await cd.client.content.list()).length === 0, "content garbage-collected");
  });
});
