/**
 * @module
 * Keon's benchmarks, each against a reference measured in the same run on a
 * private containerd (test/harness): image import vs `ctr images import`,
 * run-to-exit vs `ctr run --rm`, and this process's RSS afterwards (keond's
 * own RSS is not measurable until keond runs workloads). Prints one JSON
 * object on stdout; progress goes to stderr. Needs root, containerd, runc,
 * ctr, umoci and busybox-static. Everything it made is removed at the end,
 * and the harness's teardown fails the run if anything is left.
 */
import { importImageArchive } from "../src/containerd/index.ts";
import { gatherHostFacts } from "../src/runtime/host-facts.ts";
import { CONTAINERD_BINARIES, RUN_ID, buildBusyboxImage, missingBinaries, startContainerd } from "../test/harness/index.ts";
import { hostInfo } from "./host-info.ts";
import { IMPORTED_NAME, benchImageImport } from "./image-import.ts";
import { benchRunToExit } from "./run-to-exit.ts";

const N = 10;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("bench: needs root (containerd mounts and runc)");
  const missing = missingBinaries([...CONTAINERD_BINARIES, "ctr"]);
  if (missing.length > 0) throw new Error(`bench: missing ${missing.join(", ")} (Debian: containerd, runc, umoci, busybox-static)`);

  const archive = await buildBusyboxImage();
  const cd = await startContainerd();
  let failed = false;
  try {
    const host = await hostInfo(cd.client);
    console.error(`bench: import of ${archive}, ${N} samples each (+1 warm-up)`);
    const imports = await benchImageImport(cd, archive, N, RUN_ID);

    console.error(`bench: run-to-exit, ${N} samples each (+1 warm-up)`);
    await importImageArchive(cd.client, archive, { name: IMPORTED_NAME });
    const facts = await gatherHostFacts({ containerdPid: cd.pid });
    const runToExit = await benchRunToExit(cd, IMPORTED_NAME, facts, N);

    const rssBytes = process.memoryUsage().rss;
    console.log(JSON.stringify({ imports, runToExit, rssBytes, n: N, warmup: 1, host }));
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    // A teardown failure must surface even when the bench itself failed first.
    await cd.stop().catch((error: unknown) => {
      console.error("bench: teardown failed:", error);
      if (!failed) throw error;
    });
  }
}

await main();
