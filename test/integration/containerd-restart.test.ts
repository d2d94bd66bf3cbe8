/**
 * containerd dies mid-test (SIGKILL by PID) while a task runs: calls fail
 * fast with CONTAINERD_UNAVAILABLE instead of hanging, the same client works
 * again after a restart, and the event subscription comes back by itself and
 * says so (onReconnect), delivering events of the task that outlived
 * containerd in its shim.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  importImageArchive,
  isEvent,
  namespaceFilter,
  createContainerWithRootfs,
  readImageConfig,
  removeContainerRootfs,
  type ContainerdEvent,
  type Subscription,
} from "../../src/containerd/index.ts";
import { isKeonError, type KeonError } from "../../src/model/errors.ts";
import {
  CONTAINERD_BINARIES,
  buildBusyboxImage,
  isAlive,
  minimalSpec,
  randomId,
  requireBinaries,
  requireRoot,
  startContainerd,
  waitUntil,
  type TestContainerd,
} from "../harness/index.ts";

const SUITE = "containerd restart";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, CONTAINERD_BINARIES);
const IMAGE = "keon.test/busybox:restart";

describe.skipIf(!ready)(SUITE, () => {
  let cd: TestContainerd;
  let subscription: Subscription | undefined;
  const events: ContainerdEvent[] = [];
  const streamErrors: KeonError[] = [];
  let reconnects = 0;

  beforeAll(async () => {
    cd = await startContainerd();
    await importImageArchive(cd.client, await buildBusyboxImage(), { name: IMAGE });
    subscription = cd.client.events.subscribe({
      filters: [namespaceFilter(cd.namespace)],
      onEvent: (event) => events.push(event),
      onReconnect: () => {
        reconnects++;
      },
      onError: (error) => streamErrors.push(error),
      backoff: { initialMs: 50, maxMs: 500 },
    });
  });

  afterAll(async () => {
    await subscription?.close();
    await cd?.stop();
  });

  test("calls fail fast while containerd is down, and work again after a restart", async () => {
    const id = `survivor-${randomId()}`;
    const image = await cd.client.images.get(IMAGE);
    expect(image.name).toBe(IMAGE);
    const { chainId } = await readImageConfig(cd.client, IMAGE);
    const { mounts } = await createContainerWithRootfs(cd.client, {
      id,
      spec: minimalSpec({ args: ["/bin/sleep", "300"], cgroupsPath: `${cd.cgroupParent}/${id}` }),
      image: IMAGE,
      chainId,
    });
    // The stream is live once it delivered this container's create event.
    await waitUntil(() => events.some((e) => e.topic === "/containers/create"), "ContainerCreate event");
    const { pid: taskPid } = await cd.client.tasks.create({ containerId: id, rootfs: mounts });
    await cd.client.tasks.start(id);

    const oldPid = cd.pid;
    await cd.kill();
    expect(isAlive(oldPid)).toBe(false);

    // While down: an error within a bounded time, never a hang.
    for (const call of [() => cd.client.version.version(), () => cd.client.tasks.get(id)]) {
      const started = performance.now();
      const error = await call().catch((e: unknown) => e);
      const elapsed = performance.now() - started;
      expect(isKeonError(error, "CONTAINERD_UNAVAILABLE") || isKeonError(error, "DEADLINE_EXCEEDED")).toBe(true);
      expect(elapsed).toBeLessThan(cd.client.connection.defaultDeadlineMs + 1_000);
      console.log(`[measure] call while containerd is down failed with ${(error as KeonError).code} in ${elapsed.toFixed(1)} ms`);
    }
    // The task lives on in its shim.
    expect(isAlive(taskPid)).toBe(true);

    const restarting = performance.now();
    await cd.restart();
    console.log(`[measure] containerd restart until the same client's Version call succeeds: ${(performance.now() - restarting).toFixed(1)} ms`);
    expect(cd.pid).not.toBe(oldPid);

    // Same client object, new connection underneath.
    expect((await cd.client.version.version()).version).toMatch(/^1\.6\./);
    expect((await cd.client.tasks.get(id)).status).toBe("RUNNING");

    // The subscription came back on its own and told us to relist.
    await waitUntil(() => reconnects >= 1, "onReconnect after restart");
    expect(streamErrors.some((e) => e.code === "CONTAINERD_UNAVAILABLE")).toBe(true);

    // Events flow on the new stream: the surviving task's exit arrives.
    const waited = cd.client.tasks.wait(id, "", { deadlineMs: 30_000 });
    await cd.client.tasks.kill(id, 9);
    expect((await waited).exit_status).toBe(137);
    await waitUntil(
      () => events.some((e) => isEvent(e, "containerd.events.TaskExit") && e.event.container_id === id),
      "TaskExit after resubscribe",
    );

    await cd.client.tasks.delete(id);
    await cd.client.containers.delete(id);
    await removeContainerRootfs(cd.client, id);
  });
});
