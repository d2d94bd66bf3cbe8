/**
 * @module
 * Keon as the benchmarks run it: the test harness's private containerd (its
 * own root, state, socket and cgroup parent), and a keond process per
 * benchmark (test/harness/keond.ts) with its own run path, socket, subnet
 * pool and namespace suffix, so a Keon already on the host (the demo, a
 * second keond) is neither measured nor touched. keond is ended by PID.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { importImageArchive } from "../src/containerd/image-import.ts";
import { collectStaleRules, deleteLink } from "../src/network/gc.ts";
import { bridgeNameOf, networkNameOf } from "../src/network/network-names.ts";
import { randomId, RUN_ID, unmountUnder, waitUntil, type TestContainerd } from "../test/harness/index.ts";
import { KeondProcess } from "../test/harness/keond.ts";
import { runKeon, type KeonRun } from "../test/harness/keon-cli.ts";

export const IMAGE = "keon.bench/busybox:latest";
export const NAMESPACE_SUFFIX = "bench";
/** Clear of Keon's default pool (10.88.0.0/16), the test suites' pools (10.213–10.217) and podman's bench network. */
export const KEON_SUBNET_POOL = "10.231.0.0/16";

export interface BenchKeond {
  keond: KeondProcess;
  realm: string;
  /** Realms deleted (cascade) by stop(): the base realm and any a benchmark adds. */
  realms: Set<string>;
  /** `keon …` against this keond. */
  keon(args: string[], stdin?: string, timeoutMs?: number): Promise<KeonRun>;
  /** A counter or gauge of the realm from /metrics (0 until reported). */
  metric(name: string, realm?: string): Promise<number>;
  /** keond's resident set in bytes (its Workers are threads of the same process). */
  rssBytes(): number;
  /** keond's CPU time so far, in seconds (user + system). */
  cpuSeconds(): number;
  /** Deletes the realms it made (cascade), stops keond by PID and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a keond on `cd` and creates `realm` with space `web` and stack `main`, the image imported.
 * `cli` is the keon the benchmarks time: the installed form (scripts/build-cli.ts), as an operator runs it.
 */
export async function startBenchKeond(cd: TestContainerd, archive: string, name: string, cli: string, extraArgs: string[] = []): Promise<BenchKeond> {
  const dir = `/tmp/keon-bench-${RUN_ID}-${name}-${randomId(2)}`;
  const keond = new KeondProcess({
    dir,
    containerdSocket: cd.socket,
    cgroupRoot: cd.cgroupParent,
    subnetCidr: KEON_SUBNET_POOL,
    namespaceSuffix: NAMESPACE_SUFFIX,
    // The harness's debug log level costs time a production keond does not spend. The heal workload
    // writes its line to a file bind-mounted from the bench's directory: the operator allows that prefix
    // (the default `baseline` policy allows no host path).
    extraArgs: ["--log-level", "warn", "--policy-host-path-prefixes", `/tmp/keon-bench-${RUN_ID}`, ...extraArgs],
  });
  await keond.start();
  const realm = `b${name.replace(/[^a-z0-9]/g, "")}${randomId(2)}`.slice(0, 30);
  const realms = new Set<string>([realm]);
  const base = `kind: Realm
metadata: {name: ${realm}}
spec: {}
---
kind: Space
metadata: {name: web}
spec: {realmId: ${realm}}
---
kind: Stack
metadata: {name: main}
spec: {realmId: ${realm}, spaceId: web}
`;
  const applied = await keond.api("POST", "/v1/apply?wait=60", base);
  if (applied.status !== 200) throw new Error(`bench: applying realm ${realm} failed (${applied.status}): ${JSON.stringify(applied.body)}`);
  await importImageArchive(cd.client.withNamespace(`${realm}.${NAMESPACE_SUFFIX}`), archive, { name: IMAGE });

  const procFile = (file: string) => readFileSync(`/proc/${keond.pid}/${file}`, "utf8");
  return {
    keond,
    realm,
    realms,
    keon: (args, stdin, timeoutMs) => runKeon(keond.socket, args, { stdin, timeoutMs: timeoutMs ?? 600_000, cli }),
    async metric(metricName, which = realm) {
      const text = String((await keond.api<string>("GET", "/metrics")).body);
      const found = new RegExp(`^${metricName}\\{realm="${which}"\\} (\\S+)$`, "m").exec(text);
      return found === null ? 0 : Number(found[1]);
    },
    rssBytes() {
      const kb = /^VmRSS:\s+(\d+) kB$/m.exec(procFile("status"))?.[1];
      return Number(kb ?? Number.NaN) * 1024;
    },
    cpuSeconds() {
      const stat = procFile("stat");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // utime and stime are fields 14 and 15 of /proc/PID/stat, in clock ticks (100 a second on Linux).
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    async stop() {
      const failures: string[] = [];
      try {
        if (keond.pid !== undefined) {
          for (const r of realms) {
            try {
              await deleteAndWait(keond, `/v1/realms/${r}?cascade=true`, `/v1/realms/${r}`, 15 * 60_000);
            } catch (error) {
              failures.push(`realm ${r}: ${(error as Error).message}`);
            }
          }
          await keond.stop();
        }
      } finally {
        await keond.crash();
        // What a cut-short deletion would leave on the host: the realms' space networks (bridge and CNI rules), by their names.
        if (failures.length > 0) {
          for (const r of realms) {
            await collectStaleRules(networkNameOf(r, "web"), []).catch(() => undefined);
            await deleteLink(bridgeNameOf(r, "web")).catch(() => undefined);
          }
        }
        unmountUnder(dir);
        keond.remove();
      }
      if (failures.length > 0) throw new Error(`bench: keond ${name} teardown: ${failures.join("; ")} (its networks were removed by name)`);
    },
  };
}

/**
 * DELETE `path` without `?wait`, then poll `probe` until 404. Bun 1.4.5's
 * Bun.serve on a unix socket ignores server.timeout(request, 0), so a
 * `?wait` longer than about twice keond's idle timeout is cut (ECONNRESET).
 */
export async function deleteAndWait(keond: KeondProcess, path: string, probe: string, timeoutMs: number): Promise<void> {
  const deleted = await keond.api("DELETE", path);
  if (![200, 202, 404].includes(deleted.status)) throw new Error(`DELETE ${path}: ${deleted.status} ${JSON.stringify(deleted.body)}`);
  await waitUntil(async () => (await keond.api("GET", probe)).status === 404, `${probe} gone`, timeoutMs, 250);
}

/** A cell of a pause root and one workload (networked unless told otherwise). */
export function cellYaml(realm: string, name: string, container: string, stack = "main"): string {
  return `kind: Cell
metadata: {name: ${name}}
spec:
  realmId: ${realm}
  spaceId: web
  stackId: ${stack}
  containers:
    - ${container}
`;
}

export const SLEEPER = `{id: app, image: ${IMAGE}, command: /bin/sleep, args: ["1000000"]}`;

/** The workload of the heal benchmark: one line into the bind-mounted file per start, then sleep. */
export function healer(hostDir: string): string {
  return `{id: app, image: ${IMAGE}, command: /bin/sh, args: ["-c", "echo up >> /data/heal.log; exec sleep 1000000"], restartPolicy: always, restartBackoffSeconds: 0, volumes: [{source: ${hostDir}, target: /data}]}`;
}

/** Waits until every cell of `realm` listed by the API is Ready (and there are `count`). */
export async function waitAllReady(bk: BenchKeond, count: number, timeoutMs: number): Promise<void> {
  await waitUntil(
    async () => {
      const list = await bk.keond.api<{ items?: Array<{ status?: { state?: string } }> }>("GET", `/v1/cells?realm=${bk.realm}`);
      const items = list.body.items ?? [];
      return items.length >= count && items.every((c) => c.status?.state === "Ready");
    },
    `${count} cells Ready`,
    timeoutMs,
    // Each poll lists every cell: often enough for the figure, rarely enough not to load keond.
    200,
  );
}

export function keonVersion(): string {
  return (JSON.parse(readFileSync(join(import.meta.dir, "..", "package.json"), "utf8")) as { version: string }).version;
}
