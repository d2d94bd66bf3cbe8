/**
 * The images route against a private containerd: an OCI archive uploaded
 * as the body is imported and unpacked, listed with its size, read by its
 * URL-encoded reference, removed; bad archives, unknown realms and unknown
 * images are refused, and no upload is left on disk.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import pino from "pino";
import { toErrorEnvelope } from "../../../src/api/error-envelope.ts";
import { registerImagesRoute, type ImageInfo } from "../../../src/api/images-route.ts";
import { CONTAINERD_BINARIES, buildBusyboxImage, requireBinaries, requireRoot, startContainerd, type TestContainerd } from "../../harness/index.ts";

const SUITE = "images route on a real containerd";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, CONTAINERD_BINARIES);

describe.skipIf(!ready)(SUITE, () => {
  let cd: TestContainerd;
  let dir: string;
  let archive: string;
  let app: Hono;
  const uploads = () => join(dir, "uploads");
  const REF = "keon.test/library/busybox:1.0";
  const encoded = encodeURIComponent(REF);

  beforeAll(async () => {
    dir = mkdtempSync("/tmp/keon-test-images-");
    archive = await buildBusyboxImage();
    cd = await startContainerd();
    // What a keond killed mid-import leaves: the next keond's route removes it.
    mkdirSync(join(uploads(), "import-stale"), { recursive: true });
    writeFileSync(join(uploads(), "import-stale", "archive.tar"), "half an upload");
    app = new Hono();
    app.onError((err, c) => {
      const { status, body } = toErrorEnvelope(err);
      return c.json(body, status as 400);
    });
    registerImagesRoute(app, {
      cells: { realmNamespace: (realm) => (realm === "r" ? cd.namespace : undefined) },
      store: { list: () => [] },
      containerd: cd.client,
      uploadDir: uploads(),
      log: pino({ level: "silent" }),
    });
  });

  afterAll(async () => {
    await cd?.client.images.delete(REF, true).catch(() => undefined);
    await cd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const noUploadsLeft = () => !existsSync(uploads()) || readdirSync(uploads()).length === 0;

  test("uploads a killed keond left behind are removed when the route starts", () => {
    expect(existsSync(join(uploads(), "import-stale"))).toBe(false);
  });

  test("imports an OCI archive streamed as the body, under the name asked for", async () => {
    const response = await app.request(`/v1/realms/r/images/import?name=${encoded}`, { method: "POST", body: Bun.file(archive).stream() });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { images: { name: string; chainId: string; blobsWritten: number }[] };
    expect(body.images).toHaveLength(1);
    expect(body.images[0]).toMatchObject({ name: REF, blobsWritten: 3 });
    expect(noUploadsLeft()).toBe(true);
  });

  test("lists the realm's images with their size, and reads one by its encoded reference", async () => {
    const list = (await (await app.request("/v1/realms/r/images")).json()) as { items: ImageInfo[] };
    const image = list.items.find((i) => i.name === REF);
    expect(image).toBeDefined();
    expect(image?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Compressed layer + config + manifest: about the size of the archive.
    expect(image?.size).toBeGreaterThan(statSync("/bin/busybox").size / 3);
    expect(image?.size).toBeLessThanOrEqual(statSync(archive).size);
    expect(typeof image?.createdAt).toBe("string");
    const one = await app.request(`/v1/realms/r/images/${encoded}`);
    expect(one.status).toBe(200);
    expect(((await one.json()) as ImageInfo).digest).toBe(image?.digest ?? "");
  });

  test("a bad archive is a 400 naming the problem; an empty body too; nothing is left behind", async () => {
    const bad = await app.request("/v1/realms/r/images/import?name=x", { method: "POST", body: "this is not a tar archive at all".repeat(40) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("IMAGE_IMPORT_FAILED");
    const empty = await app.request("/v1/realms/r/images/import", { method: "POST" });
    expect(empty.status).toBe(400);
    expect(noUploadsLeft()).toBe(true);
  });

  test("unknown realms and images are 404s", async () => {
    const realm = await app.request("/v1/realms/nope/images");
    expect(realm.status).toBe(404);
    expect(((await realm.json()) as { error: { code: string } }).error.code).toBe("REALM_NOT_FOUND");
    const image = await app.request(`/v1/realms/r/images/${encodeURIComponent("keon.test/none:1")}`);
    expect(image.status).toBe(404);
    expect(((await image.json()) as { error: { code: string } }).error.code).toBe("IMAGE_NOT_FOUND");
    const removal = await app.request(`/v1/realms/r/images/${encodeURIComponent("keon.test/none:1")}`, { method: "DELETE" });
    expect(removal.status).toBe(404);
  });

  test("removes the image; a second removal is a 404", async () => {
    const removed = await app.request(`/v1/realms/r/images/${encoded}`, { method: "DELETE" });
    expect(removed.status).toBe(200);
    expect(await removed.json()).toEqual({ result: "deleted", name: REF });
    const list = (await (await app.request("/v1/realms/r/images")).json()) as { items: ImageInfo[] };
    expect(list.items.map((i) => i.name)).not.toContain(REF);
    expect((await app.request(`/v1/realms/r/images/${encoded}`, { method: "DELETE" })).status).toBe(404);
  });
});
