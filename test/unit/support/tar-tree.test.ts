import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "tar-stream";
import { isKeonError } from "../../../src/model/errors.ts";
import { dirname, basename } from "node:path";
import { openTrustedDir } from "../../../src/support/pinned-dir.ts";
import { entryComponents, packTree as packFd, placementOf, unpackTree as unpackFd, type Placement } from "../../../src/support/tar-tree.ts";

/** The tree at a trusted local path, as the CLI packs it. */
const packTree = (path: string, name: string) => packFd(openTrustedDir(dirname(path)), basename(path), name);
/** Unpacked as the CLI does: the placement's directory held open. */
const unpackTree = (source: AsyncIterable<Uint8Array>, placement: Placement) => unpackFd(source, { ...placement, dirFd: openTrustedDir(placement.dir) });

const work = mkdtempSync(join(tmpdir(), "keon-tar-tree-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function* streamOf(stream: ReadableStream<Uint8Array>): AsyncIterable<Uint8Array> {
  const reader = stream.getReader();
  for (;;) {
    const next = await reader.read();
    if (next.done) return;
    yield next.value;
  }
}

/** A tar built by hand from headers, for archives keon's packer would never write. */
async function* handMade(entries: { name: string; type: "file" | "directory" | "symlink"; linkname?: string; body?: string }[]): AsyncIterable<Uint8Array> {
  const archive = pack();
  for (const e of entries) archive.entry({ name: e.name, type: e.type, mode: 0o644, ...(e.linkname === undefined ? {} : { linkname: e.linkname }) }, e.body ?? "");
  archive.finalize();
  for await (const chunk of archive) yield chunk as Uint8Array;
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isKeonError(error)) return `${error.code}: ${error.message}`;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("packTree and unpackTree", () => {
  test("a tree comes back with its contents, modes, mtimes and symlinks (not followed)", async () => {
    const src = join(work, "src");
    mkdirSync(join(src, "sub"), { recursive: true });
    writeFileSync(join(src, "run.sh"), "#!/bin/sh\n");
    chmodSync(join(src, "run.sh"), 0o750);
    writeFileSync(join(src, "sub", "secret"), "s");
    chmodSync(join(src, "sub", "secret"), 0o600);
    symlinkSync("/etc/shadow", join(src, "link"));
    utimesSync(join(src, "run.sh"), 1_000_000, 1_000_000);
    chmodSync(join(src, "sub"), 0o711);
    const dest = join(work, "dest");
    mkdirSync(dest);
    const result = await unpackTree(streamOf(packTree(src, "copy")), placementOf(dest, true));
    expect(result).toEqual({ path: join(dest, "copy"), entries: 5 });
    const out = join(dest, "copy");
    expect(readFileSync(join(out, "run.sh"), "utf8")).toBe("#!/bin/sh\n");
    expect(lstatSync(join(out, "run.sh")).mode & 0o7777).toBe(0o750);
    expect(lstatSync(join(out, "run.sh")).mtimeMs).toBe(1_000_000_000);
    expect(lstatSync(join(out, "sub")).mode & 0o7777).toBe(0o711);
    expect(lstatSync(join(out, "sub", "secret")).mode & 0o7777).toBe(0o600);
    expect(readlinkSync(join(out, "link"))).toBe("/etc/shadow");
    expect(readdirSync(dest)).toEqual(["copy"]);
  });

  test("a reader that goes away mid-file (keond refused the upload) ends the archive quietly", async () => {
    const big = join(work, "big");
    writeFileSync(big, new Uint8Array(4 * 1024 * 1024));
    const reader = packTree(big, "big").getReader();
    expect((await reader.read()).done).toBe(false);
    await reader.cancel();
    // The entry being written is destroyed with the archive: its error must be heard, not thrown at the process.
    await new Promise((resolve) => setTimeout(resolve, 50));
  });

  test("a file placed under a new name replaces an existing file; a non-empty directory is a conflict", async () => {
    const file = join(work, "one.txt");
    writeFileSync(file, "new");
    const target = join(work, "target.txt");
    writeFileSync(target, "old");
    await unpackTree(streamOf(packTree(file, "one.txt")), placementOf(target, false));
    expect(readFileSync(target, "utf8")).toBe("new");
    const busy = join(work, "busy");
    mkdirSync(join(busy, "x"), { recursive: true });
    const message = await refusal(unpackTree(streamOf(packTree(join(work, "src"), "src")), placementOf(busy, false)));
    expect(message).toStartWith(`CONFLICT: '${busy}' exists`);
    expect(readdirSync(work).filter((n) => n.startsWith(".keon-cp-"))).toEqual([]);
  });

  test("hostile archives are refused and leave nothing behind", async () => {
    const dest = join(work, "hostile");
    mkdirSync(dest);
    const cases: [Parameters<typeof handMade>[0], string][] = [
      [[{ name: "a", type: "symlink", linkname: "/etc" }, { name: "a/passwd", type: "file", body: "x" }], "its directory is not in the archive before it"],
      [[{ name: "../evil", type: "file" }], "climbs with '..'"],
      [[{ name: "/abs", type: "file" }], "is absolute"],
      [[{ name: "a", type: "directory" }, { name: "b", type: "file" }], "a second top entry"],
      [[{ name: "a", type: "file" }, { name: "a", type: "file" }], "appears twice"],
    ];
    for (const [entries, why] of cases) {
      expect(await refusal(unpackTree(handMade(entries), placementOf(dest, true)))).toContain(why);
    }
    expect(readdirSync(dest)).toEqual([]);
    expect(existsSync("/etc/passwd") && readFileSync("/etc/passwd", "utf8") !== "x").toBe(true);
  });
});

describe("placementOf and entryComponents", () => {
  test("into a directory under the source's name, else as the target", () => {
    expect(placementOf("/data", true)).toEqual({ dir: "/data", name: undefined });
    expect(placementOf("/data/new.txt", false)).toEqual({ dir: "/data", name: "new.txt" });
    expect(placementOf("/new.txt", false)).toEqual({ dir: "/", name: "new.txt" });
    expect(placementOf("new", false)).toEqual({ dir: ".", name: "new" });
  });
  test("entry names normalise; escaping ones are refused", () => {
    expect(entryComponents("./a/./b/")).toEqual(["a", "b"]);
    expect(() => entryComponents("a/../../b")).toThrow("climbs");
  });
});
