/**
 * @module
 * scale and API, on one keond holding N cells (200 unless `--cells`):
 * - scale: time until all N cells of one manifest are Ready, against podman
 *   creating the same N pods (pod create + run -d --pod) one after another;
 *   keond's RSS after settling; its CPU while idle; the mean resync (a look
 *   at every cell, timed from the trigger until N cell passes were counted);
 *   and one heal with N cells present against a 1-cell heal on the same
 *   keond (measured before the N cells are applied).
 * - API: p50/p99 of `GET` one cell and `GET /v1/cells` (N cells) over the
 *   unix socket, sequential requests.
 * Targets: time ≤ 0.5× podman; RSS ≤ 150 MB; idle CPU ≤ 1 %; heal at N ≤
 * 1.2× heal at 1; API p99 ≤ 2 ms (one cell) and ≤ 20 ms (the list).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { waitUntil, type TestContainerd } from "../test/harness/index.ts";
import type { HostInfo } from "./host-info.ts";
import { keonHealer } from "./heal.ts";
import { cellYaml, SLEEPER, waitAllReady, type BenchKeond } from "./keon-env.ts";
import type { Podman } from "./podman.ts";
import { mb, ms, printReport, target } from "./report.ts";
import { percentileOf, ratioOf, round, summarize, type Summary } from "./stats.ts";
import { measureInterleaved } from "./timing.ts";

export interface ScaleBenchInput {
  bk: BenchKeond;
  cd: TestContainerd;
  podman: Podman | undefined;
  podmanWhy: string;
  dir: string;
  cells: number;
  idleSeconds: number;
  settleSeconds: number;
  apiRequests: number;
  healSamples: number;
  /** Keon's 1-cell heal from the heal benchmark, when it ran (reported beside the one measured here). */
  healAtOne: Summary | undefined;
  reportScale: boolean;
  reportApi: boolean;
  host: HostInfo;
}

async function timeRequests(socket: string, path: string, n: number): Promise<{ p50: number; p99: number; mean: number }> {
  for (let i = 0; i < 20; i++) await (await fetch(`http://keond${path}`, { unix: socket })).arrayBuffer();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const response = await fetch(`http://keond${path}`, { unix: socket });
    await response.arrayBuffer();
    samples.push(performance.now() - started);
    if (response.status !== 200) throw new Error(`GET ${path}: ${response.status}`);
  }
  return { p50: percentileOf(samples, 50), p99: percentileOf(samples, 99), mean: round(samples.reduce((a, b) => a + b, 0) / n, 3) };
}

export async function benchScale(input: ScaleBenchInput): Promise<void> {
  const { bk, podman, cells } = input;
  const manifest = join(input.dir, "scale.yaml");
  writeFileSync(manifest, Array.from({ length: cells }, (_, i) => cellYaml(bk.realm, `c${i}`, SLEEPER)).join("---\n"));

  // The 1-cell heal on this same keond, before the N cells exist: the reference of the heal with N cells present.
  let healAtOne = input.healAtOne;
  if (input.reportScale) {
    const single = await keonHealer(bk, input.cd, input.dir, "heal1");
    try {
      healAtOne = summarize((await measureInterleaved(input.healSamples, [["keon", single.side]]))["keon"]!);
    } finally {
      await single.remove();
    }
  }

  console.error(`bench scale: ${cells} cells in one manifest${podman && input.reportScale ? ", then podman creating the same pods one after another" : ""}`);
  const begun = performance.now();
  const applied = await bk.keon(["apply", "-f", manifest]);
  if (applied.code !== 0) throw new Error(`keon apply of ${cells} cells failed: ${applied.err}`);
  await waitAllReady(bk, cells, 30 * 60_000);
  const keonMs = performance.now() - begun;
  console.error(`bench scale: ${cells} cells Ready in ${keonMs.toFixed(0)} ms`);

  let podmanMs: number | undefined;
  if (podman !== undefined && input.reportScale) {
    const started = performance.now();
    for (let i = 0; i < cells; i++) {
      await podman.podCreate(`kb-scale-${i}`);
      await podman.runDetached(`kb-scale-${i}-app`, ["--pod", `kb-scale-${i}`], ["/bin/sleep", "1000000"]);
    }
    podmanMs = performance.now() - started;
    console.error(`bench scale: podman made ${cells} pods in ${podmanMs.toFixed(0)} ms; removing them`);
    for (let i = 0; i < cells; i++) {
      await podman.containerRemove(`kb-scale-${i}-app`);
      await podman.podRemove(`kb-scale-${i}`);
    }
  }

  // Settled: no pass for a while after the last one (the event storm of the bring-up is over).
  await Bun.sleep(input.settleSeconds * 1000);
  const rss = bk.rssBytes();

  let idle: { cpuPercent: number; seconds: number } | undefined;
  /** After the idle minute: the bring-up's transient memory (the manifest parser's Worker ends 30 s after its last parse) is gone. */
  let rssIdle: number | undefined;
  let resync: { wallMs: number; cellPassMs: number | null } | undefined;
  let healAtN: Summary | undefined;
  if (input.reportScale) {
    console.error(`bench scale: keond idle for ${input.idleSeconds} s`);
    const cpu0 = bk.cpuSeconds();
    const t0 = performance.now();
    await Bun.sleep(input.idleSeconds * 1000);
    const seconds = (performance.now() - t0) / 1000;
    idle = { cpuPercent: round(((bk.cpuSeconds() - cpu0) / seconds) * 100, 2), seconds: round(seconds, 1) };
    rssIdle = bk.rssBytes();

    // A resync: a label change on the stack makes the realm's Worker look at every cell.
    const walls: number[] = [];
    const sum0 = await bk.metric("keon_reconcile_duration_seconds_sum");
    const count0 = await bk.metric("keon_reconcile_duration_seconds_count");
    for (let i = 1; i <= 3; i++) {
      const before = await bk.metric("keon_reconcile_duration_seconds_count");
      const started = performance.now();
      const touched = await bk.keond.api("POST", "/v1/apply", `kind: Stack\nmetadata: {name: main, labels: {resync: "r${i}"}}\nspec: {realmId: ${bk.realm}, spaceId: web}\n`);
      if (touched.status !== 200) throw new Error(`touching the stack: ${touched.status}`);
      await waitUntil(async () => (await bk.metric("keon_reconcile_duration_seconds_count")) >= before + cells, `a resync over ${cells} cells`, 10 * 60_000, 10);
      walls.push(performance.now() - started);
    }
    const passes = (await bk.metric("keon_reconcile_duration_seconds_count")) - count0;
    const secs = (await bk.metric("keon_reconcile_duration_seconds_sum")) - sum0;
    resync = { wallMs: round(walls.reduce((a, b) => a + b, 0) / walls.length, 1), cellPassMs: passes > 0 ? round((secs / passes) * 1000, 3) : null };

    const healer = await keonHealer(bk, input.cd, input.dir, "healn");
    try {
      const samples = await measureInterleaved(input.healSamples, [["keon", healer.side]]);
      healAtN = summarize(samples["keon"]!);
    } finally {
      await healer.remove();
    }
  }

  let api: { one: Awaited<ReturnType<typeof timeRequests>>; list: Awaited<ReturnType<typeof timeRequests>> } | undefined;
  if (input.reportApi) {
    console.error(`bench api: ${input.apiRequests} GETs of one cell, then of the ${cells}-cell list`);
    api = {
      one: await timeRequests(bk.keond.socket, `/v1/realms/${bk.realm}/spaces/web/stacks/main/cells/c0`, input.apiRequests),
      list: await timeRequests(bk.keond.socket, `/v1/cells?realm=${bk.realm}`, input.apiRequests),
    };
  }

  if (input.reportScale) {
    const vsPodman = ratioOf(keonMs, podmanMs);
    const healRatio = ratioOf(healAtN?.median, healAtOne?.median);
    printReport(
      {
        bench: "scale",
        figures: {
          cells,
          keonAllReadyMs: round(keonMs, 1),
          podmanSequentialMs: podmanMs === undefined ? null : round(podmanMs, 1),
          keondRssBytes: rss,
          keondRssIdleBytes: rssIdle ?? null,
          idle,
          resync,
          healAtCells: healAtN ?? null,
          healAtOneCell: healAtOne ?? null,
          healBenchKeon: input.healAtOne ?? null,
        },
        ratios: { keonVsPodman: vsPodman, healAtCellsVsOne: healRatio },
        targets: [
          target("time keon/podman", "≤ 0.5", vsPodman, 0.5),
          target("keond RSS MB (settled: after the idle minute)", "≤ 150", round((rssIdle ?? rss) / 1024 / 1024, 1), 150),
          target("idle CPU %", "≤ 1", idle?.cpuPercent ?? null, 1),
          target(`heal at ${cells} / heal at 1`, "≤ 1.2", healRatio, 1.2),
        ],
        peers: { podman: podman === undefined ? input.podmanWhy : "measured" },
        host: input.host,
      },
      [
        [`scale (${cells} cells)`, "keon", "podman"],
        ["all Ready / all pods made", ms(keonMs), podmanMs === undefined ? "-" : ms(podmanMs)],
        [`keond RSS ${input.settleSeconds} s after all Ready`, mb(rss), ""],
        ["keond RSS after the idle minute", rssIdle === undefined ? "-" : mb(rssIdle), ""],
        [`idle CPU over ${idle?.seconds ?? "-"} s`, `${idle?.cpuPercent ?? "-"} %`, ""],
        ["resync (every cell looked at)", ms(resync?.wallMs), ""],
        ["mean cell pass", ms(resync?.cellPassMs), ""],
        [`heal with ${cells} cells (median)`, ms(healAtN?.median), ""],
        ["heal with 1 cell, same keond (median)", ms(healAtOne?.median), ""],
      ],
    );
  }
  if (api !== undefined) {
    printReport(
      {
        bench: "api",
        figures: { cells, requests: input.apiRequests, getCell: api.one, listCells: api.list, unit: "ms" },
        ratios: { listVsOneP99: ratioOf(api.list.p99, api.one.p99) },
        targets: [target("GET one cell p99 ms", "≤ 2", api.one.p99, 2), target(`GET /v1/cells (${cells}) p99 ms`, "≤ 20", api.list.p99, 20)],
        peers: {},
        host: input.host,
      },
      [
        [`API over the unix socket (${input.apiRequests} requests each)`, "p50", "p99", "mean"],
        ["GET one cell", ms(api.one.p50), ms(api.one.p99), ms(api.one.mean)],
        [`GET /v1/cells (${cells} cells)`, ms(api.list.p50), ms(api.list.p99), ms(api.list.mean)],
      ],
    );
  }
}
