/**
 * The service wrappers against a real containerd: namespaces, content (large
 * lock-step writes), leases, snapshots, status mapping, and an image import
 * that fails half-way and must leave nothing behind.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { WRITE_CHUNK_BYTES, importImageArchive } from "../../src/containerd/index.ts";
import { isKeonError } from "../../src/model/errors.ts";
import {
  CONTAINERD_BINARIES,
  buildBusyboxImage,
  randomId,
  requireBinaries,
  requireRoot,
  startContainerd,
  type TestContainerd,
} from "../harness/index.ts";

const SUITE = "containerd client services";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, CONTAINERD_BINARIES);

const sha256 = (data: Uint8Array | string): string => `sha256:${createHash("sha256").update(data).digest("hex")}`;

describe.skipIf(!ready)(SUITE, () => {
  let cd: TestContainerd;

  beforeAll(async () => {
    cd = await startContainerd();
  });

  afterAll(async () => {
    await cd?.stop();
  });

  test("version", async () => {
    const version = await cd.client.version.version();
    expect(version.version).toMatch(/^1\.6\./);
  });

  test("namespaces: create with labels, get, list, ensure, delete", async () => {
    const name = `ns-${randomId()}`;
    const created = await cd.client.namespaces.create(name, { "keon.dev/realm": "alpha" });
    expect(created.labels).toEqual({ "keon.dev/realm": "alpha" });
    const again = await cd.client.namespaces.create(name).catch((e: unknown) => e);
    expect(isKeonError(again, "CONFLICT")).toBe(true);
    await cd.client.namespaces.ensure(name, { "keon.dev/space": "beta" });
    expect((await cd.client.namespaces.get(name)).labels).toEqual({ "keon.dev/realm": "alpha", "keon.dev/space": "beta" });
    expect((await cd.client.namespaces.list()).map((n) => n.name)).toContain(name);
    expect(await cd.client.namespaces.delete(name)).toBe(true);
    expect(await cd.client.namespaces.delete(name)).toBe(false);
    const missing = await cd.client.namespaces.get(name).catch((e: unknown) => e);
    expect(isKeonError(missing, "NOT_FOUND")).toBe(true);
  });

  test("content: a multi-megabyte blob goes through in ≤64 KiB lock-step messages and reads back", async () => {
    const size = 5 * 1024 * 1024 + 123;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (i * 31 + 7) & 0xff;
    const digest = sha256(data);
    const lease = `lease-${randomId()}`;
    await cd.client.leases.create({ id: lease, expireAfterMs: 60_000 });

    const started = performance.now();
    expect(await cd.client.content.write({ ref: `ref-${randomId()}`, digest, size, data, labels: { a: "1" } }, { lease })).toBe(
      "written",
    );
    const ms = performance.now() - started;
    console.log(
      `[measure] content write of ${size} bytes in ${Math.ceil(size / WRITE_CHUNK_BYTES)} messages: ${ms.toFixed(1)} ms`,
    );
    // Present already: nothing is sent again.
    expect(await cd.client.content.write({ ref: `ref-${randomId()}`, digest, size, data }, { lease })).toBe("exists");

    const info = await cd.client.content.info(digest);
    expect(info.size).toBe(size);
    expect(info.labels).toEqual({ a: "1" });
    await cd.client.content.setLabels(digest, { b: "2" });
    expect((await cd.client.content.info(digest)).labels).toEqual({ a: "1", b: "2" });
    expect(Buffer.compare(await cd.client.content.readAll(digest), Buffer.from(data))).toBe(0);

    const slice: Buffer[] = [];
    for await (const chunk of cd.client.content.read(digest, { offset: 100, size: 1000 })) slice.push(chunk);
    expect(Buffer.compare(Buffer.concat(slice), Buffer.from(data.subarray(100, 1100)))).toBe(0);

    expect((await cd.client.leases.listResources(lease)).map((r) => r.id)).toContain(digest);
    // Delete while the lease still holds it: once the lease goes, GC may take it first.
    expect(await cd.client.content.delete(digest)).toBe(true);
    expect(await cd.client.content.delete(digest)).toBe(false);
    expect(await cd.client.content.find(digest)).toBeNull();
    expect(await cd.client.leases.delete(lease)).toBe(true);
  });

  test("content: a wrong digest is refused and the ingest aborted", async () => {
    const data = Buffer.from("not what the digest says");
    const ref = `ref-${randomId()}`;
    const error = await cd.client.content
      .write({ ref, digest: sha256("something else"), size: data.length, data })
      .catch((e: unknown) => e);
    expect(isKeonError(error, "CONTAINERD_ERROR")).toBe(true);
    expect(await cd.client.content.status(ref)).toBeNull();
    expect(await cd.client.content.listStatuses()).toEqual([]);
  });

  test("leases: create, add a resource, list, delete", async () => {
    const id = `lease-${randomId()}`;
    const lease = await cd.client.leases.create({ id, labels: { "keon.dev/purpose": "test" }, expireAfterMs: 60_000 });
    expect(lease.labels["containerd.io/gc.expire"]).toMatch(/^\d{4}-/);
    const data = Buffer.from("leased");
    const digest = sha256(data);
    await cd.client.content.write({ ref: `ref-${randomId()}`, digest, size: data.length, data });
    await cd.client.leases.addResource(id, { id: digest, type: "content" });
    expect(await cd.client.leases.listResources(id)).toEqual([{ id: digest, type: "content" }]);
    expect((await cd.client.leases.list()).map((l) => l.id)).toContain(id);
    expect(await cd.client.leases.delete(id, true)).toBe(true);
    expect(await cd.client.leases.delete(id)).toBe(false);
    // Unreferenced once the lease is gone: the synchronous GC took it.
    expect(await cd.client.content.find(digest)).toBeNull();
  });

  test("snapshots: prepare, commit, view, stat, list, remove", async () => {
    const base = `base-${randomId()}`;
    const active = `active-${randomId()}`;
    const mounts = await cd.client.snapshots.prepare(active, "", { "containerd.io/gc.root": "1" });
    expect(mounts.length).toBeGreaterThan(0);
    await cd.client.snapshots.commit(base, active, { "containerd.io/gc.root": "1" });
    expect((await cd.client.snapshots.stat(base)).kind).toBe("COMMITTED");
    const view = `view-${randomId()}`;
    const viewMounts = await cd.client.snapshots.view(view, base);
    expect(viewMounts[0]?.options).toContain("ro");
    expect((await cd.client.snapshots.stat(view)).kind).toBe("VIEW");
    expect((await cd.client.snapshots.mounts(view)).length).toBe(viewMounts.length);
    expect((await cd.client.snapshots.list()).map((s) => s.name).sort()).toEqual([base, view].sort());
    const busy = await cd.client.snapshots.remove(base).catch((e: unknown) => e);
    expect(isKeonError(busy)).toBe(true);
    expect(await cd.client.snapshots.remove(view)).toBe(true);
    expect(await cd.client.snapshots.remove(base)).toBe(true);
    expect(await cd.client.snapshots.remove(base)).toBe(false);
    expect(await cd.client.snapshots.find(base)).toBeNull();
  });

  test("gRPC statuses map to KeonError codes with the cause kept", async () => {
    const error = await cd.client.containers.get("does-not-exist").catch((e: unknown) => e);
    expect(isKeonError(error, "NOT_FOUND")).toBe(true);
    expect((error as Error).cause).toMatchObject({ code: 5 });
    const image = { name: `img-${randomId()}`, target: { media_type: "application/json", digest: sha256("x"), size: 1 } };
    await cd.client.images.create(image);
    const conflict = await cd.client.images.create(image).catch((e: unknown) => e);
    expect(isKeonError(conflict, "CONFLICT")).toBe(true);
    expect(await cd.client.images.delete(image.name)).toBe(true);
  });

  test("an import that fails half-way leaves no lease, no extraction snapshot, no ingest", async () => {
    const archive = await tamperedArchive(await buildBusyboxImage(), join(cd.dir, "tampered"));
    const error = await importImageArchive(cd.client, archive, { name: "keon.test/broken:1" }).catch((e: unknown) => e);
    expect(isKeonError(error, "IMAGE_IMPORT_FAILED")).toBe(true);
    expect((error as Error).message).toContain("unpacked to");
    expect(await cd.client.leases.list()).toEqual([]);
    expect(await cd.client.snapshots.list()).toEqual([]);
    expect(await cd.client.content.listStatuses()).toEqual([]);
    expect((await cd.client.images.list()).map((i) => i.name)).not.toContain("keon.test/broken:1");
    // The lease was deleted synchronously: the blobs written before the failure are collected already.
    expect(await cd.client.content.list()).toEqual([]);
  });
});

/**
 * The busybox layout with a config whose diff_id does not match its layer, so
 * the import gets as far as Diff.Apply and must then undo itself.
 */
async function tamperedArchive(source: string, dir: string): Promise<string> {
  rmSync(dir, { recursive: true, force: true });
  const layout = join(dir, "layout");
  mkdirSync(layout, { recursive: true });
  const untar = Bun.spawnSync(["tar", "-C", layout, "-xf", source]);
  if (untar.exitCode !== 0) throw new Error(`tar -x failed: ${untar.stderr.toString()}`);
  const blob = (digest: string): string => join(layout, "blobs/sha256", digest.slice("sha256:".length));
  const writeBlob = (bytes: string): { digest: string; size: number } => {
    const digest = sha256(bytes);
    writeFileSync(blob(digest), bytes);
    return { digest, size: Buffer.byteLength(bytes) };
  };

  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), "utf8"));
  const config = JSON.parse(readFileSync(blob(manifest.config.digest), "utf8"));
  config.rootfs.diff_ids = [sha256("not the layer")];
  Object.assign(manifest.config, writeBlob(JSON.stringify(config)));
  Object.assign(index.manifests[0], writeBlob(JSON.stringify(manifest)));
  writeFileSync(join(layout, "index.json"), JSON.stringify(index));

  const archive = join(dir, "tampered.tar");
  const pack = Bun.spawnSync(["tar", "-C", layout, "-cf", archive, "oci-layout", "index.json", "blobs"]);
  if (pack.exitCode !== 0) throw new Error(`tar -c failed: ${pack.stderr.toString()}`);
  return archive;
}
