/**
 * @module
 * Pull of a 5-layer, ~50 MB image (each layer 10 MB of random bytes, so
 * gzip cannot shrink it: what goes over the wire is what is unpacked) from a
 * docker-registry on loopback: Keon's pullImage (fetch, Content.Write,
 * Diff.Apply) against `ctr images pull --plain-http` (containerd's own
 * client: fetch, then unpack) and `podman pull --tls-verify=false` (its own
 * storage), interleaved. Before each sample the side's caches are empty:
 * containerd's content store and snapshotter hold nothing (a fresh namespace
 * and a synchronous GC after each), podman's image is removed. The
 * registry's files are in the page cache for every side alike after the
 * warm-up.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pullImage } from "../src/registry/index.ts";
import { cleanNamespace, type TestContainerd } from "../test/harness/index.ts";
import { startRegistry, type TestRegistry } from "../test/harness/registry.ts";
import { runCtr } from "./ctr.ts";
import type { Podman } from "./podman.ts";
import { ratio, summarize, type Summary } from "./stats.ts";
import { measureInterleaved, type Side } from "./timing.ts";

export const PULL_LAYERS = 5;
export const PULL_LAYER_BYTES = 10 * 1024 * 1024;
const REPOSITORY = "keon-bench/pull";

export interface PullResult {
  layers: number;
  bytes: number;
  keonMs: Summary;
  ctrMs: Summary;
  podmanMs: Summary | null;
  ratio: { ctr: number; podman: number | null };
  target: { ctr: number; met: boolean };
}

function run(args: string[]): void {
  const result = Bun.spawnSync(args, { timeout: 300_000, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${args.join(" ")} failed (${result.exitCode}): ${result.stderr.toString()}`);
}

/** An OCI layout (umoci) with `layers` layers of random bytes, one file each; returns `oci:LAYOUT:TAG`. */
function buildRandomImage(dir: string, layers: number, layerBytes: number): string {
  const layout = join(dir, "layout");
  const image = `${layout}:bench`;
  run(["umoci", "init", "--layout", layout]);
  run(["umoci", "new", "--image", image]);
  for (let i = 0; i < layers; i++) {
    const file = join(dir, `layer-${i}.bin`);
    writeFileSync(file, crypto.getRandomValues(new Uint8Array(layerBytes)));
    run(["umoci", "insert", "--image", image, file, `/data/layer-${i}.bin`]);
    rmSync(file);
  }
  run(["umoci", "gc", "--layout", layout]);
  return `oci:${image}`;
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export async function benchPull(cd: TestContainerd, podman: Podman | undefined, dir: string, n: number, runId: string): Promise<PullResult> {
  const work = join(dir, "pull-image");
  mkdirSync(work, { recursive: true });
  let registry: TestRegistry | undefined;
  try {
    registry = await startRegistry();
    registry.push(buildRandomImage(work, PULL_LAYERS, PULL_LAYER_BYTES), `${REPOSITORY}:1`);
    const reference = `${registry.host}/${REPOSITORY}:1`;
    const blobsDir = join(cd.root, "io.containerd.content.v1.content", "blobs", "sha256");
    const snapshotsDir = join(cd.root, "io.containerd.snapshotter.v1.overlayfs", "snapshots");
    const namespaceOf = (who: string, round: number): string => `bench-${runId}-pull-${who}-${round < 0 ? "warm" : round}`;

    const containerdSide = (who: string, pullInto: (namespace: string) => Promise<void>): Side => {
      // A failed pull's own error goes up, not the cleanup's complaint that it left no image.
      let failed = false;
      return {
      prepare: async (round) => {
        failed = false;
        const left = [...entries(blobsDir), ...entries(snapshotsDir)];
        if (left.length > 0) throw new Error(`content or snapshots left before a ${who} pull: ${left.length} entries`);
        await cd.client.namespaces.ensure(namespaceOf(who, round));
      },
      run: async (round) => {
        try {
          await pullInto(namespaceOf(who, round));
        } catch (error) {
          failed = true;
          throw error;
        }
      },
      cleanup: async (round) => {
        const namespace = namespaceOf(who, round);
        const client = cd.client.withNamespace(namespace);
        // Both sides must have done the same work: the image recorded, its five layers unpacked.
        const images = (await client.images.list()).map((i) => i.name);
        const committed = (await client.snapshots.list()).filter((s) => s.kind === "COMMITTED").length;
        const errors: unknown[] = [];
        await cleanNamespace(cd.client, namespace, errors);
        await cd.client.leases.collectGarbage();
        if (errors.length > 0) throw new AggregateError(errors, `cleaning ${namespace} failed`);
        if (!failed && (!images.includes(reference) || committed !== PULL_LAYERS)) {
          throw new Error(`${who} pull left images [${images.join(", ")}] and ${committed} committed snapshots, not one unpacked ${PULL_LAYERS}-layer image`);
        }
      },
      };
    };

    const sides: Array<readonly [string, Side]> = [
      ["keon", containerdSide("keon", async (namespace) => {
        await pullImage(cd.client, namespace, reference, undefined);
      })],
      ["ctr", containerdSide("ctr", async (namespace) => {
        await runCtr(cd.socket, namespace, ["images", "pull", "--plain-http", reference], 300_000);
      })],
    ];
    if (podman !== undefined) {
      const remove = async () => {
        await podman.exec(["rmi", "-f", "--ignore", reference]);
      };
      sides.push(["podman", {
        prepare: remove,
        run: async () => {
          await podman.exec(["pull", "-q", "--tls-verify=false", reference], 300_000);
        },
        cleanup: remove,
      }]);
    }
    const samples = await measureInterleaved(n, sides);
    const keonMs = summarize(samples["keon"]!);
    const ctrMs = summarize(samples["ctr"]!);
    const podmanMs = samples["podman"] === undefined ? null : summarize(samples["podman"]);
    const ctrRatio = ratio(keonMs, ctrMs);
    return {
      layers: PULL_LAYERS,
      bytes: PULL_LAYERS * PULL_LAYER_BYTES,
      keonMs,
      ctrMs,
      podmanMs,
      ratio: { ctr: ctrRatio, podman: podmanMs === null ? null : ratio(keonMs, podmanMs) },
      target: { ctr: 1.0, met: ctrRatio <= 1.0 },
    };
  } finally {
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
