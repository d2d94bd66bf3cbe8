/**
 * @module
 * start: `keon apply --wait` of one cell (pause root and one workload, on the
 * space's network) against `podman pod create` + `podman run -d --pod` (on
 * the bench's podman network) and `ctr run -d` (no network, no pause: the
 * floor). Each sample is the wall time of the commands, CLI start-up
 * included on every side (keon's as installed: the bytecode bundle of
 * scripts/build-cli.ts); removal happens outside the timed part. Target:
 * Keon ≤ 0.8× podman.
 */
import { runCtr } from "./ctr.ts";
import { cellYaml, deleteAndWait, SLEEPER, type BenchKeond } from "./keon-env.ts";
import type { Podman } from "./podman.ts";
import { ms, printReport, target } from "./report.ts";
import { ratioOf, summarize } from "./stats.ts";
import { measureInterleaved, type Side } from "./timing.ts";
import type { HostInfo } from "./host-info.ts";
import type { TestContainerd } from "../test/harness/index.ts";

export interface StartBenchInput {
  bk: BenchKeond;
  cd: TestContainerd;
  podman: Podman | undefined;
  podmanWhy: string;
  /** containerd namespace holding the image for the ctr side (not a Keon realm's). */
  ctrNamespace: string;
  ctrImage: string;
  samples: number;
  host: HostInfo;
}

export async function benchStart(input: StartBenchInput): Promise<void> {
  const { bk, cd, podman } = input;
  const keon: Side = {
    async run(round) {
      const applied = await bk.keon(["apply", "--wait", "--timeout", "120s", "-f", "-"], cellYaml(bk.realm, `start${round + 1}`, SLEEPER));
      if (applied.code !== 0) throw new Error(`keon apply --wait failed (${applied.code}): ${applied.err}`);
    },
    async cleanup(round) {
      const cell = `/v1/realms/${bk.realm}/spaces/web/stacks/main/cells/start${round + 1}`;
      await deleteAndWait(bk.keond, cell, cell, 120_000);
    },
  };
  const ctrId = (round: number) => `ctr-start-${round + 1}`;
  const ctr: Side = {
    async run(round) {
      await runCtr(cd.socket, input.ctrNamespace, ["run", "-d", "--cgroup", `${cd.cgroupParent}/${ctrId(round)}`, input.ctrImage, ctrId(round), "/bin/sleep", "1000000"]);
    },
    async cleanup(round) {
      await runCtr(cd.socket, input.ctrNamespace, ["task", "kill", "-s", "KILL", ctrId(round)]);
      const client = cd.client.withNamespace(input.ctrNamespace);
      await client.tasks.wait(ctrId(round), undefined, { deadlineMs: 10_000 }).catch(() => undefined);
      await runCtr(cd.socket, input.ctrNamespace, ["task", "rm", "-f", ctrId(round)]);
      await runCtr(cd.socket, input.ctrNamespace, ["container", "rm", ctrId(round)]);
    },
  };
  const sides: Array<readonly [string, Side]> = [["keon", keon], ["ctr", ctr]];
  if (podman !== undefined) {
    sides.push([
      "podman",
      {
        async run(round) {
          await podman.podCreate(`kb-start-${round + 1}`);
          await podman.runDetached(`kb-start-${round + 1}-app`, ["--pod", `kb-start-${round + 1}`], ["/bin/sleep", "1000000"]);
        },
        async cleanup(round) {
          await podman.containerRemove(`kb-start-${round + 1}-app`);
          await podman.podRemove(`kb-start-${round + 1}`);
        },
      },
    ]);
  }
  console.error(`bench start: ${input.samples} samples of each of ${sides.map(([n]) => n).join(", ")}, interleaved (+1 warm-up each)`);
  const samples = await measureInterleaved(input.samples, sides);
  const keonS = summarize(samples["keon"]!);
  const ctrS = summarize(samples["ctr"]!);
  const podmanS = samples["podman"] ? summarize(samples["podman"]) : undefined;
  const vsPodman = ratioOf(keonS.median, podmanS?.median);
  printReport(
    {
      bench: "start",
      figures: { keon: keonS, podman: podmanS ?? null, ctr: ctrS, n: input.samples, unit: "ms" },
      ratios: { keonVsPodman: vsPodman, keonVsCtr: ratioOf(keonS.median, ctrS.median) },
      targets: [target("keon/podman", "≤ 0.8", vsPodman, 0.8)],
      peers: { podman: podman === undefined ? input.podmanWhy : "measured", ctr: "measured" },
      host: input.host,
    },
    [
      ["start", "median", "p90"],
      ["keon apply --wait (root + 1, network)", ms(keonS.median), ms(keonS.p90)],
      ["podman pod create + run -d --pod", ms(podmanS?.median), ms(podmanS?.p90)],
      ["ctr run -d (no network, floor)", ms(ctrS.median), ms(ctrS.p90)],
    ],
  );
}
