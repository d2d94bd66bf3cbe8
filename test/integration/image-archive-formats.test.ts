/**
 * Importing archives in every form the importer takes, into a private
 * containerd: gzip- and zstd-compressed OCI layout tars and `docker save`
 * archives (manifest.json, uncompressed layer tars, several images), with
 * `name` picking one image and an ambiguous name refused; a decompression
 * bomb and a hostile tar are refused leaving nothing behind.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { hostPlatform, importImageArchive, readImageConfig } from "../../src/containerd/index.ts";
import { KeonError } from "../../src/model/errors.ts";
import { CONTAINERD_BINARIES, buildBusyboxImage, requireBinaries, requireRoot, startContainerd, type TestContainerd } from "../harness/index.ts";
import { REGISTRY_BINARIES, buildRegistryTestLayouts } from "../harness/registry.ts";

const SUITE = "image archive formats";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, ...REGISTRY_BINARIES]);

interface Manifest {
  config: { digest: string };
  layers: { digest: string; mediaType: string }[];
}

describe.skipIf(!ready)(SUITE, () => {
  let cd: TestContainerd;
  let dir: string;
  let ociTar: string;
  let dockerTar: string;
  let workDir: string;

  /** A docker save archive of the layout's `multi` and `latest` images, layers uncompressed as docker writes them. */
  function buildDockerArchive(layout: string): string {
    const root = join(dir, "docker");
    mkdirSync(root);
    const blob = (digest: string): Buffer => readFileSync(join(layout, "blobs/sha256", digest.slice("sha256:".length)));
    const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
    const entries = [];
    for (const [tag, repoTag] of [["multi", "multi:1"], ["latest", "keon.test/busybox:1"]] as const) {
      const descriptor = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag);
      if (descriptor === undefined) throw new Error(`no ${tag}`);
      const manifest = JSON.parse(blob(descriptor.digest).toString()) as Manifest;
      const configName = `${manifest.config.digest.slice(7)}.json`;
      writeFileSync(join(root, configName), blob(manifest.config.digest));
      const layers = manifest.layers.map((layer) => {
        const id = layer.digest.slice(7, 71);
        mkdirSync(join(root, id), { recursive: true });
        writeFileSync(join(root, id, "layer.tar"), Bun.gunzipSync(new Uint8Array(blob(layer.digest))));
        return `${id}/layer.tar`;
      });
      entries.push({ Config: configName, RepoTags: [repoTag], Layers: layers });
    }
    writeFileSync(join(root, "manifest.json"), JSON.stringify(entries));
    const out = join(dir, "docker-save.tar");
    const tar = Bun.spawnSync(["tar", "-C", root, "-cf", out, "."]);
    if (tar.exitCode !== 0) throw new Error(tar.stderr.toString());
    return out;
  }

  beforeAll(async () => {
    dir = mkdtempSync("/tmp/keon-test-archives-");
    workDir = join(dir, "work");
    mkdirSync(workDir);
    ociTar = await buildBusyboxImage();
    const { layout } = await buildRegistryTestLayouts(ociTar, hostPlatform().architecture);
    dockerTar = buildDockerArchive(layout);
    cd = await startContainerd();
  });

  afterAll(async () => {
    await cd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function expectClean(): Promise<void> {
    expect(await cd.client.leases.list()).toEqual([]);
    expect(await cd.client.content.listStatuses()).toEqual([]);
    expect(readdirSync(workDir)).toEqual([]);
  }

  test.each([
    ["gzip", (bytes: Uint8Array) => gzipSync(bytes)],
    ["zstd", (bytes: Uint8Array) => zstdCompressSync(bytes)],
  ] as const)("a %s-compressed OCI layout tar", async (kind, compress) => {
    const path = join(dir, `busybox.tar.${kind}`);
    writeFileSync(path, compress(readFileSync(ociTar)));
    const [image] = await importImageArchive(cd.client, path, { name: `keon.test/${kind}:1`, workDir });
    expect(image?.name).toBe(`keon.test/${kind}:1`);
    expect((await cd.client.snapshots.stat(image?.chainId ?? "")).kind).toBe("COMMITTED");
    await expectClean();
  });

  test("a docker save archive: every RepoTag imported (short names normalised), layers unpacked to the config's diff IDs", async () => {
    const images = await importImageArchive(cd.client, dockerTar, { workDir });
    expect(images.map((i) => i.name).sort()).toEqual(["docker.io/library/multi:1", "keon.test/busybox:1"]);
    const multi = images.find((i) => i.name === "docker.io/library/multi:1");
    // The base layer may be there from the OCI imports above: three snapshots either way.
    expect((multi?.snapshotsCreated ?? 0) + (multi?.snapshotsPresent ?? 0)).toBe(3);
    expect(multi?.snapshotsCreated).toBeGreaterThanOrEqual(2);
    expect((await readImageConfig(cd.client, "docker.io/library/multi:1")).chainId).toBe(multi?.chainId ?? "");
    // The shared base layer was unpacked once.
    expect(images.find((i) => i.name === "keon.test/busybox:1")?.snapshotsCreated).toBe(0);
    await expectClean();
  });

  test("a gzip-compressed docker archive, one image picked by name", async () => {
    for (const image of await cd.client.images.list()) await cd.client.images.delete(image.name, true);
    const path = join(dir, "docker-save.tar.gz");
    writeFileSync(path, gzipSync(readFileSync(dockerTar)));
    const images = await importImageArchive(cd.client, path, { name: "keon.test/busybox:1", workDir });
    expect(images.map((i) => i.name)).toEqual(["keon.test/busybox:1"]);
    expect((await cd.client.images.list()).map((i) => i.name)).toEqual(["keon.test/busybox:1"]);
    await expectClean();
  });

  test("a name that picks none of several images is refused as ambiguous", async () => {
    const error = await importImageArchive(cd.client, dockerTar, { name: "keon.test/other:1", workDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeonError);
    expect((error as KeonError).message).toContain("holds 2 images (docker.io/library/multi:1, keon.test/busybox:1)");
    await expectClean();
  });

  test("a decompression bomb is refused by the expansion limit, leaving no file", async () => {
    const path = join(dir, "bomb.tar.gz");
    writeFileSync(path, gzipSync(new Uint8Array(64 * 1024 * 1024)));
    const started = performance.now();
    const error = await importImageArchive(cd.client, path, { workDir, maxRatio: 100 }).catch((e: unknown) => e);
    expect((error as KeonError).code).toBe("IMAGE_IMPORT_FAILED");
    expect((error as KeonError).message).toContain("expands to more than");
    expect(performance.now() - started).toBeLessThan(10_000);
    await expectClean();
  });

  test("a tar whose pax size is negative is refused, not looped on", async () => {
    const block = (name: string, size: number, type: string): Uint8Array => {
      const b = new Uint8Array(512);
      const put = (at: number, text: string) => b.set(new TextEncoder().encode(text), at);
      put(0, name);
      put(100, "0000644\0");
      put(124, `${size.toString(8).padStart(11, "0")}\0`);
      put(156, type);
      put(257, "ustar\0");
      put(263, "00");
      b.fill(0x20, 148, 156);
      put(148, `${b.reduce((x, y) => x + y, 0).toString(8).padStart(6, "0")}\0 `);
      return b;
    };
    const record = "13 size=-512\n";
    const bytes = new Uint8Array(512 * 5);
    bytes.set(block("pax", record.length, "x"), 0);
    bytes.set(new TextEncoder().encode(record), 512);
    bytes.set(block("oci-layout", 0, "0"), 1024);
    const path = join(dir, "hostile.tar");
    writeFileSync(path, bytes);
    const error = await importImageArchive(cd.client, path, { workDir }).catch((e: unknown) => e);
    expect((error as KeonError).message).toContain('bad pax size "-512"');
    await expectClean();
  });
});
