/**
 * @module
 * One e2e suite's keond: its own containerd, a keond process on a private
 * run path and subnet pool talking to it, a realm applied with the test
 * image imported; and the teardown every such suite owes the host (the realm
 * cascade-deleted through keond with --wait, keond stopped cleanly, then
 * whatever is left ended and removed, by PID and by path).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "bun:test";
import { importImageArchive } from "../../src/containerd/image-import.ts";
import { buildBusyboxImage } from "./busybox-image.ts";
import { startContainerd, type TestContainerd } from "./containerd.ts";
import { runKeon, type KeonRun } from "./keon-cli.ts";
import { KeondProcess } from "./keond.ts";
import { unmountUnder } from "./mounts.ts";
import { RUN_ID, randomId, TEST_DIR_PREFIX } from "./run-id.ts";

export const TEST_IMAGE = "keon.test/busybox:latest";

export interface KeondSuite {
  cd: TestContainerd;
  keond: KeondProcess;
  dir: string;
  realm: string;
  /** The realm's containerd namespace (the harness keond's suffix is `e2e`). */
  namespace: string;
  keon(args: string[], stdin?: string, timeoutMs?: number): Promise<KeonRun>;
}

export interface KeondSuiteOptions {
  /** A short word for the suite's directory. */
  name: string;
  realm: string;
  /** The keond's subnet pool: one per suite, so suites never share addresses. */
  subnetCidr: string;
  extraArgs?: string[];
}

/** containerd, keond (boot id from a file the suite controls), the realm Ready and the test image in it. */
export async function startKeondSuite(options: KeondSuiteOptions): Promise<KeondSuite> {
  const dir = `${TEST_DIR_PREFIX}${options.name}-${RUN_ID}-${randomId()}`;
  const cd = await startContainerd();
  const keond = new KeondProcess({
    dir,
    containerdSocket: cd.socket,
    cgroupRoot: cd.cgroupParent,
    subnetCidr: options.subnetCidr,
    extraArgs: ["--boot-id-path", join(dir, "boot_id"), ...(options.extraArgs ?? [])],
  });
  writeFileSync(join(dir, "boot_id"), "boot-one\n");
  await keond.start();
  const keon = (args: string[], stdin?: string, timeoutMs = 120_000) =>
    runKeon(keond.socket, args, { ...(stdin === undefined ? {} : { stdin }), timeoutMs });
  const applied = await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], `kind: Realm\nmetadata: {name: ${options.realm}}\nspec: {}\n`);
  expect(applied.err).toBe("");
  const namespace = `${options.realm}.e2e`;
  await importImageArchive(cd.client.withNamespace(namespace), await buildBusyboxImage(), { name: TEST_IMAGE });
  return { cd, keond, dir, realm: options.realm, namespace, keon };
}

/**
 * The realm deleted through keond (cascade, --wait) and keond stopped with
 * exit 0 — `check` runs between the two, for a suite's own "nothing left"
 * assertions — then, whatever failed, keond and containerd ended and the
 * directory removed.
 */
export async function stopKeondSuite(suite: KeondSuite, check: () => Promise<void> = async () => {}, deleteTimeoutSeconds = 120): Promise<void> {
  const { keond, cd } = suite;
  try {
    if (keond.pid === undefined) await keond.start();
    const deleted = await suite.keon(["delete", "realm", suite.realm, "--cascade", "--wait", "--timeout", `${deleteTimeoutSeconds}s`], undefined, (deleteTimeoutSeconds + 20) * 1000);
    expect(deleted.err).toBe("");
    expect(deleted.code).toBe(0);
    await check();
    expect(await keond.stop()).toBe(0);
  } finally {
    await keond.crash();
    unmountUnder(suite.dir);
    await cd.stop();
    keond.remove();
  }
}
