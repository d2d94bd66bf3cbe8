/**
 * @module
 * Run-to-exit of `sh -c 'exit 0'` from the imported busybox image: Keon's
 * path (image config, OCI spec from src/oci with real host facts, container
 * and rootfs snapshot, task create/start/wait, then task, container and
 * snapshot removed) against `ctr run --rm`, which does the same steps in one
 * process. Both log to a file, both put their cgroup under the bench's
 * cgroup parent. Known differences, in ctr's favour: ctr applies no seccomp
 * profile by default (Keon's spec has one) and keeps the default caps; in
 * Keon's favour: ctr pays its own process start per sample.
 */
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createContainerWithRootfs, readImageConfig, removeContainerRootfs } from "../src/containerd/index.ts";
import { buildOciSpec, type HostFacts } from "../src/oci/spec.ts";
import type { TestContainerd } from "../test/harness/index.ts";
import { runCtr } from "./ctr.ts";
import { ratio, summarize, type Summary } from "./stats.ts";
import { measurePair } from "./timing.ts";

export interface RunToExitResult {
  keonMs: Summary;
  ctrMs: Summary;
  ratio: number;
}

const ARGS = ["-c", "exit 0"];

export async function benchRunToExit(cd: TestContainerd, image: string, host: HostFacts, n: number): Promise<RunToExitResult> {
  const logDir = join(cd.dir, "bench-logs");
  const idOf = (who: string, round: number): string => `${who}-${round < 0 ? "warm" : round}`;
  const logOf = (id: string): string => join(logDir, `${id}.log`);

  const cleanup = async (who: string, round: number): Promise<void> => {
    const id = idOf(who, round);
    const left = (await cd.client.containers.list()).map((c) => c.id);
    if (left.length > 0) throw new Error(`${who} run left containers: ${left.join(", ")}`);
    if (existsSync(logOf(id))) rmSync(logOf(id));
  };

  const samples = await measurePair(
    n,
    {
      run: async (round) => {
        const id = idOf("keon", round);
        const config = await readImageConfig(cd.client, image);
        const spec = buildOciSpec(
          { id: "bench", image, command: "sh", args: ARGS },
          {
            realm: "bench",
            space: "bench",
            stack: "bench",
            cell: "bench",
            containerId: "bench",
            cgroupsPath: `${cd.cgroupParent}/${id}`,
            nestedCgroupRuntime: false,
            rootfsPath: "rootfs",
          },
          { entrypoint: config.entrypoint, cmd: config.cmd, env: config.env, user: config.user, workingDir: config.workingDir },
          host,
        );
        const { mounts } = await createContainerWithRootfs(cd.client, { id, spec, image, chainId: config.chainId });
        await cd.client.tasks.create({ containerId: id, rootfs: mounts, logFile: logOf(id) });
        const waited = cd.client.tasks.wait(id, "", { deadlineMs: 60_000 });
        waited.catch(() => undefined); // awaited below; only start() failing leaves it unobserved
        await cd.client.tasks.start(id);
        const exit = await waited;
        if (exit.exit_status !== 0) throw new Error(`keon run ${id} exited with ${exit.exit_status}`);
        await cd.client.tasks.delete(id);
        await cd.client.containers.delete(id);
        await removeContainerRootfs(cd.client, id);
      },
      cleanup: async (round) => await cleanup("keon", round),
    },
    {
      run: async (round) => {
        const id = idOf("ctr", round);
        await runCtr(cd.socket, cd.namespace, [
          "run", "--rm", "--cgroup", `${cd.cgroupParent}/${id}`, "--log-uri", `file://${logOf(id)}`, image, id, "sh", ...ARGS,
        ]);
      },
      cleanup: async (round) => await cleanup("ctr", round),
    },
  );
  const keonMs = summarize(samples.keon);
  const ctrMs = summarize(samples.reference);
  return { keonMs, ctrMs, ratio: ratio(keonMs, ctrMs) };
}
