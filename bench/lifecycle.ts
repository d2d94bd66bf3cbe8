/**
 * @module
 * The lifecycle verbs on one keond: freeze (and unfreeze) of 10 Ready cells
 * at once, a snapshot of a cell whose writable layer holds a file of
 * KEON_BENCH_SNAPSHOT_MB MiB (default 100), and a fork of 10 cells from that
 * snapshot against applying 10 fresh cells of the same spec. Each is the
 * API call with `?wait` (answered once the worker reports it done), timed
 * from the client; the fork and the fresh cells are deleted between rounds.
 * Wake (of the hibernated cell with its file, filesystem kept, memory not)
 * is measured against a cold start (apply) of a cell of the same spec.
 */
import { performance } from "node:perf_hooks";
import type { TestContainerd } from "../test/harness/index.ts";
import type { HostInfo } from "./host-info.ts";
import { cellYaml, deleteAndWait, NAMESPACE_SUFFIX, SLEEPER, type BenchKeond } from "./keon-env.ts";
import { mb, ms, printReport } from "./report.ts";
import { ratio, summarize } from "./stats.ts";

const CELLS = 10;

export interface LifecycleBenchOptions {
  bk: BenchKeond;
  cd: TestContainerd;
  samples: number;
  host: HostInfo;
}

export async function benchLifecycle({ bk, cd, samples, host }: LifecycleBenchOptions): Promise<void> {
  const snapshotMb = Number(process.env["KEON_BENCH_SNAPSHOT_MB"] ?? "100");
  const rounds = Math.max(3, Math.min(samples, 5));
  const base = `/v1/realms/${bk.realm}/spaces/web/stacks/main/cells`;
  const call = async (method: string, path: string, body?: string) => {
    const answer = await bk.keond.api(method, path, body);
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  };
  const timed = async (body: () => Promise<unknown>) => {
    const begun = performance.now();
    await body();
    return performance.now() - begun;
  };
  const names = (prefix: string) => Array.from({ length: CELLS }, (_, i) => `${prefix}${i + 1}`);
  const deleteCells = (list: readonly string[]) => Promise.all(list.map((n) => deleteAndWait(bk.keond, `${base}/${n}`, `${base}/${n}`, 120_000)));

  // Freeze and unfreeze of 10 Ready cells, all asked at once.
  const frozenCells = names("frz");
  await call("POST", "/v1/apply?wait=120", frozenCells.map((n) => cellYaml(bk.realm, n, SLEEPER)).join("---\n"));
  const freeze: number[] = [];
  const unfreeze: number[] = [];
  for (let round = 0; round < rounds; round++) {
    freeze.push(await timed(() => Promise.all(frozenCells.map((n) => call("POST", `${base}/${n}/freeze?wait=60`)))));
    unfreeze.push(await timed(() => Promise.all(frozenCells.map((n) => call("POST", `${base}/${n}/unfreeze?wait=60`)))));
  }
  await deleteCells(frozenCells);

  // A snapshot of a cell whose writable layer holds the file.
  await call("POST", "/v1/apply?wait=120", cellYaml(bk.realm, "src", SLEEPER));
  const client = cd.client.withNamespace(`${bk.realm}.${NAMESPACE_SUFFIX}`);
  const pid = (await client.tasks.get("web_main_src_app")).pid;
  const written = Bun.spawnSync(["dd", "if=/dev/urandom", `of=/proc/${pid}/root/big.bin`, "bs=1M", `count=${snapshotMb}`, "status=none"]);
  if (written.exitCode !== 0) throw new Error(`writing the ${snapshotMb} MiB file failed: ${written.stderr.toString()}`);
  const snapshot: number[] = [];
  for (let round = 0; round < rounds; round++) snapshot.push(await timed(() => call("POST", `${base}/src/snapshots?name=s${round}&wait=600`)));
  const paused = await pausedMsOf(bk);

  // Fork of 10 from the snapshot against 10 fresh cells, interleaved.
  const fork: number[] = [];
  const fresh: number[] = [];
  const forkNames = Array.from({ length: CELLS }, (_, i) => `src-${i + 1}`);
  const freshNames = names("new");
  for (let round = 0; round < rounds; round++) {
    fork.push(await timed(() => call("POST", `${base}/src/fork?count=${CELLS}&fromSnapshot=s0&wait=300`)));
    await deleteCells(forkNames);
    fresh.push(await timed(() => call("POST", "/v1/apply?wait=300", freshNames.map((n) => cellYaml(bk.realm, n, SLEEPER)).join("---\n"))));
    await deleteCells(freshNames);
  }
  // Wake of the hibernated cell against a cold start of the same spec.
  const wake: number[] = [];
  const cold: number[] = [];
  for (let round = 0; round < rounds; round++) {
    await call("POST", `${base}/src/hibernate?wait=120`);
    wake.push(await timed(() => call("POST", `${base}/src/wake?wait=120`)));
    cold.push(await timed(() => call("POST", "/v1/apply?wait=120", cellYaml(bk.realm, "cold", SLEEPER))));
    await deleteCells(["cold"]);
  }
  await deleteCells(["src"]);

  const figures = {
    freeze10Ms: summarize(freeze),
    unfreeze10Ms: summarize(unfreeze),
    snapshotMs: summarize(snapshot),
    snapshotFileMiB: snapshotMb,
    snapshotPausedMs: paused,
    fork10Ms: summarize(fork),
    forkPerCellMs: summarize(fork.map((t) => t / CELLS)),
    fresh10Ms: summarize(fresh),
    wakeMs: summarize(wake),
    coldStartMs: summarize(cold),
  };
  printReport({
    bench: "lifecycle",
    figures,
    ratios: { fork10VsFresh10: ratio(figures.fork10Ms, figures.fresh10Ms), wakeVsColdStart: ratio(figures.wakeMs, figures.coldStartMs) },
    targets: [],
    peers: {},
    host,
  }, [
    ["", "median", "p90"],
    [`freeze ${CELLS} cells`, ms(figures.freeze10Ms.median), ms(figures.freeze10Ms.p90)],
    [`unfreeze ${CELLS} cells`, ms(figures.unfreeze10Ms.median), ms(figures.unfreeze10Ms.p90)],
    [`snapshot (${mb(snapshotMb * 1024 * 1024)} layer)`, ms(figures.snapshotMs.median), ms(figures.snapshotMs.p90)],
    [`fork ${CELLS} from it`, ms(figures.fork10Ms.median), ms(figures.fork10Ms.p90)],
    [`apply ${CELLS} fresh`, ms(figures.fresh10Ms.median), ms(figures.fresh10Ms.p90)],
    ["wake (filesystem kept)", ms(figures.wakeMs.median), ms(figures.wakeMs.p90)],
    ["cold start (apply)", ms(figures.coldStartMs.median), ms(figures.coldStartMs.p90)],
  ]);
}

/** How long the cell was paused for each snapshot, from the SnapshotCreated events ("the cell paused N ms"). */
async function pausedMsOf(bk: BenchKeond): Promise<number[]> {
  const events = await bk.keond.api<{ items: Array<{ reason: string; message: string }> }>("GET", `/v1/events?realm=${bk.realm}&cell=src&limit=1000`);
  return (events.body.items ?? []).filter((e) => e.reason === "SnapshotCreated").map((e) => Number(/paused (\d+) ms/.exec(e.message)?.[1] ?? Number.NaN));
}
