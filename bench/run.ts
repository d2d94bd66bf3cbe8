/**
 * @module
 * Keon's benchmarks (`bun run bench`), each measuring Keon and its peers
 * interleaved in the same run on this machine, each printing one JSON line
 * (figures, ratios, targets, host) and a short table:
 *   start   keon apply --wait of one cell vs podman pod create + run --pod, and ctr run -d (the floor)
 *   heal    SIGKILL → the new process wrote a line, keon vs podman --restart=always
 *   scale   N cells (200) to all Ready vs podman making N pods; RSS, idle CPU, resync, heal at N
 *   api     p50/p99 of GET one cell and GET /v1/cells with N cells, over the unix socket
 *   realms  keond RSS with 1, 10 and 50 realms
 *   import, run-to-exit (only when named in --only): image import and run-to-exit vs ctr
 *   egress (only when named): one nft transaction of 1 000 CIDRs + 200 cells; per-packet cost of the chains
 *   lifecycle (only when named): freeze of 10 cells, snapshot of a 100 MiB layer, fork of 10 vs 10 fresh cells, wake vs cold start
 *   pull (only when named): a 5-layer ~50 MB image from a loopback registry vs ctr images pull and podman pull
 *   fleet (only when named): fleet apply of 30 cells to all Ready on 3 nodes (real etcd) vs the 30 on one keond
 *
 * Flags (or environment): --cells N (KEON_BENCH_CELLS, 200), --samples N
 * (KEON_BENCH_SAMPLES, 10), --idle-seconds S (KEON_BENCH_IDLE_SECONDS, 60),
 * --realms 1,10,50 (KEON_BENCH_REALMS), --requests N (KEON_BENCH_REQUESTS,
 * 2000), --only start,heal,scale,api,realms (KEON_BENCH_ONLY), --no-podman
 * (KEON_BENCH_NO_PODMAN=1: measure as on a host without podman).
 *
 * Needs root, containerd, runc, ctr, umoci and busybox-static; podman is the
 * peer (scripts/bench-setup.sh installs it): when it is missing the bench
 * says so and still prints Keon's figures. Everything runs on a private
 * containerd and keond (own run path, socket, cgroup parent, subnet pool
 * 10.231.0.0/16) and a podman network of its own (10.232.x.0/24); all of it
 * is removed at the end, and only processes the bench started are ended, by
 * PID. Targets are reported, never asserted.
 */
import { mkdirSync, rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { importImageArchive } from "../src/containerd/index.ts";
import { gatherHostFacts } from "../src/runtime/host-facts.ts";
import { buildCli } from "../scripts/build-cli.ts";
import { CONTAINERD_BINARIES, RUN_ID, buildBusyboxImage, missingBinaries, startContainerd, type TestContainerd } from "../test/harness/index.ts";
import { benchEgress } from "./egress.ts";
import { benchFleet } from "./fleet.ts";
import { benchHeal } from "./heal.ts";
import { benchLifecycle } from "./lifecycle.ts";
import { hostInfo, type HostInfo } from "./host-info.ts";
import { IMPORTED_NAME, benchImageImport } from "./image-import.ts";
import { IMAGE, keonVersion, startBenchKeond, type BenchKeond } from "./keon-env.ts";
import { checkPodman, Podman } from "./podman.ts";
import { benchPull } from "./pull.ts";
import { benchRealms } from "./realms.ts";
import { benchRunToExit } from "./run-to-exit.ts";
import { benchScale } from "./scale.ts";
import { benchStart } from "./start.ts";
import type { Summary } from "./stats.ts";

const ALL = ["start", "heal", "scale", "api", "realms"] as const;
const OPTIONAL = ["import", "run-to-exit", "egress", "lifecycle", "pull", "fleet"] as const;
/** The fleet bench's cell count and samples (each sample builds a realm on three nodes and one). */
const FLEET_CELLS = 30;
const FLEET_SAMPLES = 3;

function options() {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      cells: { type: "string" },
      samples: { type: "string" },
      "idle-seconds": { type: "string" },
      realms: { type: "string" },
      requests: { type: "string" },
      only: { type: "string" },
      "no-podman": { type: "boolean" },
    },
    strict: true,
  });
  const env = process.env;
  const int = (flag: string | undefined, variable: string | undefined, fallback: number, name: string) => {
    const text = flag ?? (variable === "" ? undefined : variable);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new Error(`bench: ${name} must be a whole number ≥ 1, got '${text}'`);
    return value;
  };
  const only = (values.only ?? env["KEON_BENCH_ONLY"] ?? ALL.join(",")).split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const name of only) {
    if (![...ALL, ...OPTIONAL].includes(name as never)) throw new Error(`bench: unknown benchmark '${name}' (${[...ALL, ...OPTIONAL].join(", ")})`);
  }
  const realms = (values.realms ?? env["KEON_BENCH_REALMS"] ?? "1,10,50").split(",").map((s) => int(s.trim(), undefined, 1, "--realms"));
  return {
    cells: int(values.cells, env["KEON_BENCH_CELLS"], 200, "--cells"),
    samples: int(values.samples, env["KEON_BENCH_SAMPLES"], 10, "--samples"),
    idleSeconds: int(values["idle-seconds"], env["KEON_BENCH_IDLE_SECONDS"], 60, "--idle-seconds"),
    requests: int(values.requests, env["KEON_BENCH_REQUESTS"], 2000, "--requests"),
    realms,
    only: new Set(only),
    noPodman: values["no-podman"] === true || env["KEON_BENCH_NO_PODMAN"] === "1",
  };
}

async function main(): Promise<void> {
  const opts = options();
  if (process.getuid?.() !== 0) throw new Error("bench: needs root (containerd mounts and runc)");
  const missing = missingBinaries([...CONTAINERD_BINARIES, "ctr", "ip", "iptables-save"]);
  if (missing.length > 0) throw new Error(`bench: missing ${missing.join(", ")} (Debian: containerd, runc, umoci, busybox-static; bash scripts/setup.sh)`);

  const podmanCheck = opts.noPodman ? { available: false, reason: "left out (--no-podman)" } as ReturnType<typeof checkPodman> : checkPodman();
  const podmanWhy = podmanCheck.available ? "measured" : `not measured: ${podmanCheck.reason}`;
  if (!podmanCheck.available) console.error(`bench: podman is missing (${podmanCheck.reason}); Keon's figures are printed without the podman ratios`);

  const dir = `/tmp/keon-bench-${RUN_ID}`;
  mkdirSync(dir, { recursive: true });
  const archive = await buildBusyboxImage();
  const cli = await buildCli(`${dir}/cli`);
  const cd = await startContainerd();
  const podman = podmanCheck.available ? new Podman(RUN_ID, `10.232.${Number.parseInt(RUN_ID.slice(0, 2), 16) % 250}.0/24`) : undefined;
  const keonds: BenchKeond[] = [];
  const failures: string[] = [];
  try {
    const base = await hostInfo(cd.client);
    const host: HostInfo & { podman: string; keon: string } = { ...base, podman: podmanCheck.version ?? "missing", keon: keonVersion() };
    if (podman !== undefined) await podman.prepare(archive);
    const run = async (name: string, body: () => Promise<void>) => {
      try {
        await body();
      } catch (error) {
        failures.push(`${name}: ${(error as Error).message}`);
        console.error(`bench ${name} failed:`, error);
      }
    };
    const fresh = async (name: string, extraArgs: string[] = []) => {
      const bk = await startBenchKeond(cd, archive, name, cli, extraArgs);
      keonds.push(bk);
      return bk;
    };
    const retire = async (bk: BenchKeond) => {
      keonds.splice(keonds.indexOf(bk), 1);
      await bk.stop();
    };

    let healAtOne: Summary | undefined;
    if (opts.only.has("start") || opts.only.has("heal")) {
      const bk = await fresh("start");
      try {
        if (opts.only.has("start")) {
          await run("start", async () => {
            const ctrNamespace = `keon-bench-ctr-${RUN_ID}`;
            await importImageArchive(cd.client.withNamespace(ctrNamespace), archive, { name: IMAGE });
            await benchStart({ bk, cd, podman, podmanWhy, ctrNamespace, ctrImage: IMAGE, samples: opts.samples, host });
          });
        }
        if (opts.only.has("heal")) {
          await run("heal", async () => {
            healAtOne = await benchHeal({ bk, cd, podman, podmanWhy, dir, samples: opts.samples, host });
          });
        }
      } finally {
        await retire(bk);
      }
    }
    if (opts.only.has("scale") || opts.only.has("api")) {
      const bk = await fresh("scale");
      try {
        await run(opts.only.has("scale") ? "scale" : "api", () =>
          benchScale({
            bk, cd, podman, podmanWhy, dir,
            cells: opts.cells,
            idleSeconds: opts.idleSeconds,
            settleSeconds: 5,
            apiRequests: opts.requests,
            healSamples: Math.min(5, opts.samples),
            healAtOne,
            reportScale: opts.only.has("scale"),
            reportApi: opts.only.has("api"),
            host,
          }),
        );
      } finally {
        await retire(bk);
      }
    }
    if (opts.only.has("realms")) {
      const bk = await fresh("realms");
      try {
        await run("realms", () => benchRealms({ bk, counts: opts.realms, settleSeconds: 5, host }));
      } finally {
        await retire(bk);
      }
    }
    if (opts.only.has("import")) {
      await run("import", async () => {
        const imports = await benchImageImport(cd, archive, opts.samples, RUN_ID);
        console.log(JSON.stringify({ bench: "import", figures: imports, host }));
      });
    }
    if (opts.only.has("egress")) await run("egress", () => benchEgress({ samples: opts.samples, host }));
    if (opts.only.has("lifecycle")) {
      const bk = await fresh("lifecycle");
      try {
        await run("lifecycle", () => benchLifecycle({ bk, cd, samples: opts.samples, host }));
      } finally {
        await retire(bk);
      }
    }
    if (opts.only.has("pull")) {
      await run("pull", async () => {
        const pulls = await benchPull(cd, podman, dir, opts.samples, RUN_ID);
        console.log(JSON.stringify({ bench: "pull", figures: pulls, podman: podmanWhy, host }));
      });
    }
    if (opts.only.has("fleet")) await run("fleet", () => benchFleet({ cells: FLEET_CELLS, samples: Math.min(FLEET_SAMPLES, opts.samples), host }));
    if (opts.only.has("run-to-exit")) {
      await run("run-to-exit", async () => {
        await importImageArchive(cd.client, archive, { name: IMPORTED_NAME });
        const facts = await gatherHostFacts({ containerdPid: cd.pid });
        const runToExit = await benchRunToExit(cd, IMPORTED_NAME, facts, opts.samples);
        console.log(JSON.stringify({ bench: "run-to-exit", figures: runToExit, host }));
      });
    }
  } finally {
    await tearDown(cd, keonds, podman, dir, failures);
  }
  if (failures.length > 0) {
    console.error(`bench: ${failures.length} benchmark(s) failed:\n  ${failures.join("\n  ")}`);
    process.exitCode = 1;
  }
}

/** Removes everything the run made, even after a failure; a teardown failure is reported and fails the run. */
async function tearDown(cd: TestContainerd, keonds: BenchKeond[], podman: Podman | undefined, dir: string, failures: string[]): Promise<void> {
  for (const bk of keonds) await bk.stop().catch((e: unknown) => failures.push(`teardown keond: ${String(e)}`));
  if (podman !== undefined) for (const error of await podman.cleanup()) failures.push(`teardown podman: ${error}`);
  await cd.stop().catch((e: unknown) => failures.push(`teardown containerd: ${String(e)}`));
  rmSync(dir, { recursive: true, force: true });
}

await main();
