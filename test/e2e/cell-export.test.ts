/**
 * `keon export` on one keond and `keon import` on a second one (its own
 * containerd, run path and realm, same host): the imported cell runs with
 * the files its snapshot held. Refusals: an export without a Ready
 * snapshot, an import over an existing cell, an archive that is not a cell
 * export.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONTAINERD_BINARIES, randomId, requireBinaries, requireRoot } from "../harness/index.ts";
import { startKeondSuite, stopKeondSuite, type KeondSuite } from "../harness/keond-suite.ts";
import { scopeManifest } from "../harness/scope-manifest.ts";
import { sleeperCellManifest } from "../harness/sleeper-cell.ts";
import { cgroupDirsOf, hostNetworkState } from "../integration/runtime-helpers.ts";

const ready = requireRoot("cell export e2e") && requireBinaries("cell export e2e", [...CONTAINERD_BINARIES, "ip", "iptables-save", "nft", "/usr/lib/cni/bridge"]);

const SPACE = "moving";
const realmA = `ea${randomId(3)}`;
const realmB = `eb${randomId(3)}`;

const treeYaml = (realm: string) => scopeManifest(realm, SPACE, "main");
const cellYaml = (realm: string) => sleeperCellManifest({ realm, space: SPACE, stack: "main" }, "mover", { app: "mover" });

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe.skipIf(!ready)("keon export / import", () => {
  let source: KeondSuite;
  let target: KeondSuite;
  let local: string;
  let before: Awaited<ReturnType<typeof hostNetworkState>>[];
  const networkStates = () => Promise.all([realmA, realmB].map((realm) => hostNetworkState(realm, [SPACE])));
  const scopeOf = (realm: string) => ["--realm", realm, "--space", SPACE, "--stack", "main"];

  beforeAll(async () => {
    local = mkdtempSync(join(tmpdir(), "keon-export-e2e-"));
    before = await networkStates();
    source = await startKeondSuite({ name: "exp", realm: realmA, subnetCidr: "10.242.0.0/16" });
    target = await startKeondSuite({ name: "imp", realm: realmB, subnetCidr: "10.243.0.0/16" });
    for (const [suite, realm] of [[source, realmA], [target, realmB]] as const) {
      const applied = await suite.keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], treeYaml(realm));
      expect(applied.err).toBe("");
    }
  }, 180_000);

  afterAll(async () => {
    if (local !== undefined) rmSync(local, { recursive: true, force: true });
    for (const suite of [target, source]) {
      if (suite === undefined) continue;
      await stopKeondSuite(suite);
      expect(cgroupDirsOf(suite.cd.cgroupParent)).toEqual([]);
    }
    expect(await networkStates()).toEqual(before);
  }, 300_000);

  test("a cell exported from one keond runs on another with its files", async () => {
    expect((await source.keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], cellYaml(realmA))).code).toBe(0);
    const noSnapshot = await source.keon(["export", "cell", "mover", ...scopeOf(realmA), "-o", join(local, "none.tar")]);
    expect(noSnapshot.code).toBe(1);
    expect(noSnapshot.err).toContain("has no Ready snapshot; take one first");

    const payload = join(local, "payload.bin");
    writeFileSync(payload, randomBytes(2 * 1024 * 1024));
    expect((await source.keon(["cp", payload, "mover:/payload.bin", ...scopeOf(realmA)])).code).toBe(0);
    const snap = await source.keon(["snapshot", "create", "cell", "mover", ...scopeOf(realmA), "--name", "s1", "--wait", "--timeout", "60s"]);
    expect(snap.err).toBe("");
    const archive = join(local, "mover.tar");
    const exported = await source.keon(["export", "cell", "mover", ...scopeOf(realmA), "-o", archive]);
    expect(exported.err).toBe("");
    expect(exported.out).toBe(`cell/mover exported (snapshot s1) to ${archive}\n`);

    const imported = await target.keon(["import", archive, ...scopeOf(realmB), "--wait", "--timeout", "90s"], undefined, 150_000);
    expect(imported.err).toBe("");
    expect(imported.out).toBe("cell/mover imported with 1 image (Ready)\n");
    const cell = (await target.keond.api<{ metadata: { labels: Record<string, string> }; spec: { realmId: string; containers: { id: string; image: string }[] } }>("GET", `/v1/realms/${realmB}/spaces/${SPACE}/stacks/main/cells/mover`)).body;
    expect(cell.spec.realmId).toBe(realmB);
    expect(cell.metadata.labels).toEqual({ app: "mover" });
    expect(cell.spec.containers.find((c) => c.id === "app")?.image).toStartWith(`keon.snapshot/${SPACE}/main/mover/app:s1`);

    const back = join(local, "back.bin");
    const copied = await target.keon(["cp", "mover:/payload.bin", back, ...scopeOf(realmB)]);
    expect(copied.err).toBe("");
    expect(sha256(back)).toBe(sha256(payload));
  }, 240_000);

  test("an import over an existing cell, or of an archive that is no cell export, is refused", async () => {
    const again = await target.keon(["import", join(local, "mover.tar"), ...scopeOf(realmB)]);
    expect(again.code).toBe(1);
    expect(again.err).toContain("already exists; import under another name (--name)");

    const notExport = join(local, "not-export.tar");
    writeFileSync(notExport, "not a tar at all");
    const bad = await target.keon(["import", notExport, ...scopeOf(realmB), "--name", "other"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("IMAGE_IMPORT_FAILED");
    expect(bad.err).toContain("neither an OCI image layout");
    expect((await target.keond.api("GET", `/v1/realms/${realmB}/spaces/${SPACE}/stacks/main/cells/other`)).status).toBe(404);
  }, 120_000);

  test("the imported images are the cell's: a snapshot `imported` its removal is refused for, gone with the cell", async () => {
    const path = `/v1/realms/${realmB}/spaces/${SPACE}/stacks/main/cells/mover`;
    const importedImages = async () => (await target.cd.client.withNamespace(target.namespace).images.list()).map((i) => i.name).filter((n) => n.startsWith("keon.snapshot/"));
    expect(await importedImages()).toEqual([`keon.snapshot/${SPACE}/main/mover/app:s1`]);
    const snapshots = (await target.keond.api<{ items: Array<{ name: string; phase: string }> }>("GET", `${path}/snapshots`)).body.items;
    expect(snapshots.map((s) => [s.name, s.phase])).toEqual([["imported", "Ready"]]);
    // The cell itself runs on those images: removing them alone is refused naming it.
    const refused = await target.keond.api<{ error: { code: string; message: string } }>("DELETE", `${path}/snapshots/imported`);
    expect([refused.status, refused.body.error.code]).toEqual([409, "CONFLICT"]);
    expect(refused.body.error.message).toContain(`${SPACE}/main/mover`);

    expect((await target.keon(["delete", "cell", "mover", ...scopeOf(realmB), "--wait"])).code).toBe(0);
    expect(await importedImages()).toEqual([]);
  }, 120_000);
});
