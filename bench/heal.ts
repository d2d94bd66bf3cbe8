/**
 * @module
 * heal: SIGKILL of a workload from the host until its new process has
 * written a line to a bind-mounted file, Keon (restartPolicy always, no
 * backoff) against podman `--restart=always`, same workload, same clock,
 * samples interleaved. Kills are spaced beyond keond's restart-stable time
 * (1 s in the bench), so every restart is a first one. Target: Keon ≤ 0.8×
 * podman. The Keon median is also the 1-cell figure the scale benchmark
 * compares its heal with.
 */
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { TestContainerd } from "../test/harness/index.ts";
import { healOnce, waitForLines } from "./heal-probe.ts";
import type { HostInfo } from "./host-info.ts";
import { cellYaml, deleteAndWait, healer, NAMESPACE_SUFFIX, type BenchKeond } from "./keon-env.ts";
import type { Podman } from "./podman.ts";
import { ms, printReport, target } from "./report.ts";
import { ratioOf, summarize, type Summary } from "./stats.ts";
import { measureInterleaved, type Side } from "./timing.ts";

/** Longer than the bench keond's --restart-stable-seconds 1: the next kill starts a new streak. */
const SETTLE_MS = 1_200;

export interface KeonHealer {
  side: Side;
  remove(): Promise<void>;
}

/** A Keon cell `name` running the healer workload, and a Side that kills and times it. */
export async function keonHealer(bk: BenchKeond, cd: TestContainerd, dir: string, name: string): Promise<KeonHealer> {
  const hostDir = join(dir, `keon-${name}`);
  mkdirSync(hostDir, { recursive: true });
  chmodSync(hostDir, 0o777);
  const file = join(hostDir, "heal.log");
  const applied = await bk.keon(["apply", "--wait", "--timeout", "120s", "-f", "-"], cellYaml(bk.realm, name, healer(hostDir)));
  if (applied.code !== 0) throw new Error(`keon apply of ${name} failed: ${applied.err}`);
  await waitForLines(file, 1);
  const tasks = cd.client.withNamespace(`${bk.realm}.${NAMESPACE_SUFFIX}`).tasks;
  const id = `web_main_${name}_app`;
  let lines = 1;
  return {
    side: {
      async prepare() {
        await Bun.sleep(SETTLE_MS);
      },
      async run() {
        const task = await tasks.get(id);
        await healOnce(task.pid, file);
        lines += 1;
      },
      async cleanup() {
        await waitForLines(file, lines);
      },
    },
    async remove() {
      const cell = `/v1/realms/${bk.realm}/spaces/web/stacks/main/cells/${name}`;
      await deleteAndWait(bk.keond, cell, cell, 120_000);
      rmSync(hostDir, { recursive: true, force: true });
    },
  };
}

export interface HealBenchInput {
  bk: BenchKeond;
  cd: TestContainerd;
  podman: Podman | undefined;
  podmanWhy: string;
  dir: string;
  samples: number;
  host: HostInfo;
}

/** Returns Keon's summary (the 1-cell heal). */
export async function benchHeal(input: HealBenchInput): Promise<Summary> {
  const { bk, cd, podman } = input;
  const keon = await keonHealer(bk, cd, input.dir, "heal");
  const sides: Array<readonly [string, Side]> = [["keon", keon.side]];
  let podmanDir: string | undefined;
  if (podman !== undefined) {
    podmanDir = join(input.dir, "podman-heal");
    mkdirSync(podmanDir, { recursive: true });
    chmodSync(podmanDir, 0o777);
    const file = join(podmanDir, "heal.log");
    const name = "kb-heal";
    await podman.runDetached(name, ["--restart=always", "--network", podman.network, "-v", `${podmanDir}:/data`], ["/bin/sh", "-c", "echo up >> /data/heal.log; exec sleep 1000000"]);
    await waitForLines(file, 1);
    let lines = 1;
    sides.push([
      "podman",
      {
        async prepare() {
          await Bun.sleep(SETTLE_MS);
        },
        async run() {
          await healOnce(await podman.pidOf(name), file);
          lines += 1;
        },
        async cleanup() {
          await waitForLines(file, lines);
        },
      },
    ]);
  }
  console.error(`bench heal: ${input.samples} kills of each of ${sides.map(([n]) => n).join(", ")}, interleaved (+1 warm-up each)`);
  try {
    const samples = await measureInterleaved(input.samples, sides);
    const keonS = summarize(samples["keon"]!);
    const podmanS = samples["podman"] ? summarize(samples["podman"]) : undefined;
    const vsPodman = ratioOf(keonS.median, podmanS?.median);
    printReport(
      {
        bench: "heal",
        figures: { keon: keonS, podman: podmanS ?? null, n: input.samples, unit: "ms" },
        ratios: { keonVsPodman: vsPodman },
        targets: [target("keon/podman", "≤ 0.8", vsPodman, 0.8)],
        peers: { podman: podman === undefined ? input.podmanWhy : "measured" },
        host: input.host,
      },
      [
        ["heal (SIGKILL → new line in a bind-mounted file)", "median", "p90"],
        ["keon restartPolicy always", ms(keonS.median), ms(keonS.p90)],
        ["podman --restart=always", ms(podmanS?.median), ms(podmanS?.p90)],
      ],
    );
    return keonS;
  } finally {
    await keon.remove();
    if (podman !== undefined) await podman.containerRemove("kb-heal").catch((e: unknown) => console.error(`bench heal: ${String(e)}`));
    if (podmanDir !== undefined) rmSync(podmanDir, { recursive: true, force: true });
  }
}
