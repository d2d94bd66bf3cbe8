/**
 * `keon cp` against keond as a process, with the test's own containerd,
 * runc and CNI plugins: a 10 MB random file and a tree with modes, symlinks
 * and mtimes go into a running container and back out with equal checksums;
 * symlinks in the container that climb out with `..` or point at absolute
 * paths resolve inside the container's root, for reads and for writes;
 * refusals (missing container or path, a path escaping the root, a stopped
 * cell, a non-empty directory in the way, a hostile archive) are 4xx naming
 * the problem and change nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "tar-stream";
import { CONTAINERD_BINARIES, randomId, requireBinaries, requireRoot } from "../harness/index.ts";
import { startKeondSuite, stopKeondSuite, type KeondSuite } from "../harness/keond-suite.ts";
import { scopeManifest } from "../harness/scope-manifest.ts";
import { sleeperCellManifest } from "../harness/sleeper-cell.ts";
import { cgroupDirsOf, hostNetworkState } from "../integration/runtime-helpers.ts";

const ready = requireRoot("keon cp e2e") && requireBinaries("keon cp e2e", [...CONTAINERD_BINARIES, "ip", "iptables-save", "nft", "/usr/lib/cni/bridge"]);

const realm = `cp${randomId(3)}`;
const SPACE = "files";
const marker = `keon-cp-marker-${randomId(6)}`;

const setupYaml = scopeManifest(realm, SPACE, "main") + sleeperCellManifest({ realm, space: SPACE, stack: "main" }, "box");

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const modeOf = (path: string) => lstatSync(path).mode & 0o7777;

/** Every entry of a tree: relative path → kind, mode, checksum or link target (and a file's mtime). */
function treeFacts(root: string): Record<string, string> {
  const facts: Record<string, string> = {};
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const rel = `${prefix}${name}`;
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) facts[rel] = `link ${readlinkSync(path)}`;
      else if (stat.isDirectory()) {
        facts[rel] = `dir ${modeOf(path).toString(8)}`;
        walk(path, `${rel}/`);
      } else facts[rel] = `file ${modeOf(path).toString(8)} ${sha256(path)} ${Math.floor(stat.mtimeMs / 1000)}`;
    }
  };
  walk(root, "");
  return facts;
}

describe.skipIf(!ready)("keon cp", () => {
  let suite: KeondSuite;
  let local: string;
  let hostMarkerWritten = false;
  let before: Awaited<ReturnType<typeof hostNetworkState>>;
  const scope = ["--realm", realm, "--space", SPACE, "--stack", "main"];
  const cp = (from: string, to: string) => suite.keon(["cp", from, to, ...scope], undefined, 120_000);
  const filesPath = `/v1/realms/${realm}/spaces/${SPACE}/stacks/main/cells/box/files`;
  /** The container's root as the host sees it (fixtures only: keon reaches it through its own resolver). */
  const rootOf = async () => `/proc/${(await suite.cd.client.withNamespace(suite.namespace).tasks.get(`${SPACE}_main_box_app`)).pid}/root`;
  const leftovers = async (dir: string) => readdirSync(join(await rootOf(), dir)).filter((n) => n.startsWith(".keon-cp-"));

  beforeAll(async () => {
    local = mkdtempSync(join(tmpdir(), "keon-cp-e2e-"));
    before = await hostNetworkState(realm, [SPACE]);
    suite = await startKeondSuite({ name: "cp", realm, subnetCidr: "10.241.0.0/16" });
    const applied = await suite.keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], setupYaml);
    expect(applied.err).toBe("");
    expect(applied.code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    if (hostMarkerWritten) rmSync(`/etc/${marker}`, { force: true });
    rmSync(`/etc/${marker}-written`, { force: true });
    if (local !== undefined) rmSync(local, { recursive: true, force: true });
    if (suite === undefined) return;
    await stopKeondSuite(suite);
    expect(await hostNetworkState(realm, [SPACE])).toEqual(before);
    expect(cgroupDirsOf(suite.cd.cgroupParent)).toEqual([]);
  }, 300_000);

  test("a 10 MB file and a tree with modes go in and come back out equal", async () => {
    const tree = join(local, "tree");
    mkdirSync(join(tree, "bin"), { recursive: true });
    mkdirSync(join(tree, "private"));
    writeFileSync(join(tree, "big.bin"), randomBytes(10 * 1024 * 1024));
    writeFileSync(join(tree, "bin", "run.sh"), "#!/bin/sh\necho hi\n");
    chmodSync(join(tree, "bin", "run.sh"), 0o751);
    writeFileSync(join(tree, "private", "key"), "k");
    chmodSync(join(tree, "private", "key"), 0o600);
    chmodSync(join(tree, "private"), 0o700);
    symlinkSync("big.bin", join(tree, "alias"));
    utimesSync(join(tree, "big.bin"), 1_600_000_000, 1_600_000_000);
    const original = treeFacts(tree);

    const copiedIn = await cp(tree, "box:/tmp");
    expect(copiedIn.err).toBe("");
    expect(copiedIn.out).toBe("copied 7 entries to box:/tmp/tree\n");
    expect(treeFacts(join(await rootOf(), "tmp", "tree"))).toEqual(original);

    const out = join(local, "out");
    mkdirSync(out);
    const copiedOut = await cp("box:app:/tmp/tree", out);
    expect(copiedOut.err).toBe("");
    expect(copiedOut.code).toBe(0);
    expect(treeFacts(join(out, "tree"))).toEqual(original);

    // One file under a new name, both ways.
    expect((await cp(join(tree, "big.bin"), "box:/tmp/renamed.bin")).code).toBe(0);
    expect(sha256(join(await rootOf(), "tmp", "renamed.bin"))).toBe(sha256(join(tree, "big.bin")));
    expect((await cp("box:/tmp/renamed.bin", join(local, "back.bin"))).code).toBe(0);
    expect(sha256(join(local, "back.bin"))).toBe(sha256(join(tree, "big.bin")));
    expect(await leftovers("tmp")).toEqual([]);
  }, 180_000);

  test("symlinks that climb out with .. or point at absolute paths stay inside the container's root", async () => {
    const root = await rootOf();
    writeFileSync(join(root, "etc", marker), "inside\n");
    writeFileSync(`/etc/${marker}`, "HOST\n");
    hostMarkerWritten = true;
    symlinkSync(`/../../etc/${marker}`, join(root, "tmp", "evil"));
    symlinkSync("../../../../../etc", join(root, "tmp", "evildir"));
    symlinkSync("/../../../etc", join(root, "tmp", "absdir"));

    // Reads: through a directory symlink, the container's file comes out, never the host's.
    for (const via of ["evildir", "absdir"]) {
      const target = join(local, `read-${via}`);
      const run = await cp(`box:/tmp/${via}/${marker}`, target);
      expect(run.err).toBe("");
      expect(readFileSync(target, "utf8")).toBe("inside\n");
    }
    // A symlink named as the source is copied as the symlink it is.
    expect((await cp("box:/tmp/evil", join(local, "evil-link"))).code).toBe(0);
    expect(readlinkSync(join(local, "evil-link"))).toBe(`/../../etc/${marker}`);

    // Writes through them land in the container's /etc, not the host's.
    writeFileSync(join(local, "payload"), "written\n");
    expect((await cp(join(local, "payload"), `box:/tmp/evildir/${marker}-written`)).code).toBe(0);
    expect((await cp(join(local, "payload"), `box:/tmp/evil`)).code).toBe(0);
    expect(readFileSync(join(root, "etc", `${marker}-written`), "utf8")).toBe("written\n");
    expect(readFileSync(join(root, "etc", marker), "utf8")).toBe("written\n");
    expect(existsSync(`/etc/${marker}-written`)).toBe(false);
    expect(readFileSync(`/etc/${marker}`, "utf8")).toBe("HOST\n");
  }, 120_000);

  test("refusals name the problem and change nothing", async () => {
    const file = join(local, "small.txt");
    writeFileSync(file, "small\n");
    const refused = async (from: string, to: string, message: string) => {
      const run = await cp(from, to);
      expect(run.code).toBe(1);
      expect(run.err).toContain(message);
    };
    await refused(file, "box:nope:/tmp", "cell has no container 'nope'");
    await refused("box:/no/such/file", join(local, "x"), "'/no' does not exist in the container");
    await refused("box:/tmp/missing", join(local, "x"), "'/tmp/missing' does not exist in container 'app'");
    await refused(file, "box:/../etc", "escapes the container's root");
    await refused(file, "ghost:/tmp", "cell 'ghost' not found");
    await refused("box:/tmp/renamed.bin", join(local, "no-dir", "x"), `local directory '${join(local, "no-dir")}' does not exist`);
    // /tmp/tree exists and is not empty: a directory cannot replace it.
    await refused(join(local, "tree"), "box:/tmp/tree/..", "'/tmp/tree' exists and cannot be replaced");
    expect(existsSync(join(local, "x"))).toBe(false);

    // A hand-made archive whose second entry would be written through its first (a symlink to /etc).
    const archive = pack();
    archive.entry({ name: "trick", type: "symlink", linkname: "/etc" });
    archive.entry({ name: "trick/passwd", type: "file", mode: 0o644 }, "owned\n");
    archive.finalize();
    const chunks: Uint8Array[] = [];
    for await (const chunk of archive) chunks.push(chunk as Uint8Array);
    const put = await suite.keond.api<{ error: { code: string; message: string } }>("PUT", `${filesPath}?path=/tmp`, Buffer.concat(chunks).toString("latin1"), { "content-type": "application/x-tar" });
    expect(put.status).toBe(400);
    expect(put.body.error.message).toContain("archive entry 'trick/passwd': its directory is not in the archive before it");
    expect(existsSync(join(await rootOf(), "tmp", "trick"))).toBe(false);
    expect(await leftovers("tmp")).toEqual([]);

    const stopped = await suite.keon(["stop", "cell", "box", ...scope, "--wait", "--timeout", "60s"]);
    expect(stopped.code).toBe(0);
    await refused(file, "box:/tmp", "container 'app' of cell 'box' is not running");
    await refused("box:/tmp/tree", join(local, "y"), "is not running");
    expect(existsSync(join(local, "y"))).toBe(false);
  }, 120_000);
});
