/**
 * The harness's own promise: whatever a test leaves in a worse state than
 * containerd can clean (its shim killed, containerd killed), teardown still
 * ends every process by PID, unmounts, removes, and proves it.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { createContainerWithRootfs, importImageArchive } from "../../src/containerd/index.ts";
import {
  CONTAINERD_BINARIES,
  buildBusyboxImage,
  findShims,
  isAlive,
  killPids,
  minimalSpec,
  mountsUnder,
  requireBinaries,
  requireRoot,
  startContainerd,
} from "../harness/index.ts";

const SUITE = "containerd test harness";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, CONTAINERD_BINARIES);

describe.skipIf(!ready)(SUITE, () => {
  test("teardown cleans up after a killed shim and a killed containerd", async () => {
    const cd = await startContainerd();
    let taskPid = 0;
    try {
      const [image] = await importImageArchive(cd.client, await buildBusyboxImage(), { name: "keon.test/busybox:h" });
      if (image === undefined) throw new Error("no image");
      const id = "abandoned";
      const { mounts } = await createContainerWithRootfs(cd.client, {
        id,
        spec: minimalSpec({ args: ["/bin/sleep", "300"], cgroupsPath: `${cd.cgroupParent}/${id}` }),
        chainId: image.chainId,
      });
      taskPid = (await cd.client.tasks.create({ containerId: id, rootfs: mounts })).pid;
      await cd.client.tasks.start(id);
      expect(mountsUnder(cd.dir).length).toBeGreaterThan(0);

      // containerd first: with containerd alive, a dead shim is cleaned up
      // by containerd itself (runc delete --force). Without it, nobody does.
      await cd.kill();
      const shims = findShims(cd.socket);
      expect(shims.length).toBe(1);
      expect(await killPids(shims)).toEqual([]);
      // The container's init outlives both.
      expect(isAlive(taskPid)).toBe(true);
    } finally {
      await cd.stop();
    }
    expect(isAlive(taskPid)).toBe(false);
    expect(existsSync(cd.dir)).toBe(false);
    expect(mountsUnder(cd.dir)).toEqual([]);
    expect(findShims(cd.socket)).toEqual([]);
  });
});
