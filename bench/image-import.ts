/**
 * @module
 * Import of the busybox OCI archive: Keon's importImageArchive (Content,
 * Diff, Snapshots and Images over gRPC) against `ctr images import`, both
 * writing every blob and unpacking into overlayfs. Each sample imports into
 * a fresh namespace and is followed by a synchronous GC that empties the
 * content store and the snapshotter, so no sample finds a blob or layer left
 * by another (containerd shares blobs across namespaces otherwise).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { importImageArchive } from "../src/containerd/index.ts";
import { cleanNamespace, type TestContainerd } from "../test/harness/index.ts";
import { runCtr } from "./ctr.ts";
import { ratio, summarize, type Summary } from "./stats.ts";
import { measurePair, type Side } from "./timing.ts";

export const IMPORTED_NAME = "keon.bench/busybox:latest";
/** ctr names an OCI archive's images `<base-name>:<ref.name annotation>`, here IMPORTED_NAME. */
const CTR_BASE_NAME = "keon.bench/busybox";

export interface ImportResult {
  keonMs: Summary;
  ctrMs: Summary;
  ratio: number;
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export async function benchImageImport(cd: TestContainerd, archive: string, n: number, runId: string): Promise<ImportResult> {
  const blobsDir = join(cd.root, "io.containerd.content.v1.content", "blobs", "sha256");
  const snapshotsDir = join(cd.root, "io.containerd.snapshotter.v1.overlayfs", "snapshots");
  const namespaceOf = (who: string, round: number): string => `bench-${runId}-${who}-${round < 0 ? "warm" : round}`;

  const side = (who: string, importInto: (namespace: string) => Promise<void>): Side => ({
    prepare: async (round) => {
      const left = [...entries(blobsDir), ...entries(snapshotsDir)];
      if (left.length > 0) throw new Error(`content or snapshots left before a ${who} import: ${left.join(", ")}`);
      await cd.client.namespaces.ensure(namespaceOf(who, round));
    },
    run: async (round) => await importInto(namespaceOf(who, round)),
    cleanup: async (round) => {
      const namespace = namespaceOf(who, round);
      const client = cd.client.withNamespace(namespace);
      // Both sides must have done the same work: image recorded, its one layer unpacked.
      const images = (await client.images.list()).map((i) => i.name);
      const snapshots = await client.snapshots.list();
      const errors: unknown[] = [];
      await cleanNamespace(cd.client, namespace, errors);
      await cd.client.leases.collectGarbage();
      if (errors.length > 0) throw new AggregateError(errors, `cleaning ${namespace} failed`);
      if (!images.includes(IMPORTED_NAME) || snapshots.length !== 1 || snapshots[0]?.kind !== "COMMITTED") {
        throw new Error(`${who} import left images [${images.join(", ")}] and ${snapshots.length} snapshots, not one unpacked image`);
      }
    },
  });

  const samples = await measurePair(
    n,
    side("keon", async (namespace) => {
      await importImageArchive(cd.client.withNamespace(namespace), archive, { name: IMPORTED_NAME });
    }),
    side("ctr", async (namespace) => {
      await runCtr(cd.socket, namespace, ["images", "import", "--base-name", CTR_BASE_NAME, archive]);
    }),
  );
  const keonMs = summarize(samples.keon);
  const ctrMs = summarize(samples.reference);
  return { keonMs, ctrMs, ratio: ratio(keonMs, ctrMs) };
}
