/**
 * Pull against a real registry under harder conditions: TLS with a CA the
 * test makes plus htpasswd Basic auth (and a wrong password), the Bearer
 * token flow, a redirect of blobs to another origin, a body cut short
 * (resumed), corrupt and oversized content, an unknown media type, a
 * registry that is down or never answers. The Bearer server, the redirect
 * target and the faults are a small loopback proxy in front of the real
 * docker-registry. Every failure must leave no lease and no ingest.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { hostPlatform } from "../../src/containerd/index.ts";
import { KeonError } from "../../src/model/errors.ts";
import { WRITE_CHUNK_BYTES } from "../../src/containerd/index.ts";
import { ingestRef } from "../../src/registry/blob-ingest.ts";
import { TokenCache, pullImage } from "../../src/registry/index.ts";
import {
  CONTAINERD_BINARIES,
  buildBusyboxImage,
  requireBinaries,
  requireRoot,
  startContainerd,
  waitUntil,
  type TestContainerd,
} from "../harness/index.ts";
import { REGISTRY_BINARIES, buildRegistryTestLayouts, startRegistry, type TestRegistry } from "../harness/registry.ts";

const SUITE = "registry pull: auth, TLS and faults";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, ...REGISTRY_BINARIES]);

const USER = "keon";
const PASSWORD = "s3cret-Pa55word";

type Fault = "none" | "truncate-once" | "truncate-always" | "corrupt" | "hang" | "unknown-layer-type" | "stall-once" | "wrong-digest-header";

describe.skipIf(!ready)(SUITE, () => {
  let cd: TestContainerd;
  let plain: TestRegistry;
  let secure: TestRegistry;
  let proxy: ReturnType<typeof Bun.serve>;
  let storage: ReturnType<typeof Bun.serve>;
  let fault: Fault = "none";
  let redirectBlobs = false;
  const seen = { tokenRequests: 0, rangeRequests: 0, authorizationAtStorage: [] as (string | null)[], blobRequests: 0 };
  let proxyHost = "";

  beforeAll(async () => {
    const images = await buildRegistryTestLayouts(await buildBusyboxImage(), hostPlatform().architecture);
    [cd, plain, secure] = await Promise.all([startContainerd(), startRegistry(), startRegistry({ tls: true, auth: { username: USER, password: PASSWORD } })]);
    plain.push(`oci:${images.layout}:multi`, "keon/multi:1");
    secure.push(`oci:${images.layout}:multi`, "keon/multi:1");

    // Another origin (localhost vs 127.0.0.1) standing in for blob storage behind a redirect.
    storage = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(request) {
        seen.authorizationAtStorage.push(request.headers.get("authorization"));
        const path = new URL(request.url).pathname;
        return await fetch(`http://${plain.host}${path}`);
      },
    });

    // Bearer-token front of the plain registry, with faults on demand.
    proxy = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 0,
      async fetch(request) {
        const url = new URL(request.url);
        if (url.pathname === "/token") {
          seen.tokenRequests++;
          const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;
          if (request.headers.get("authorization") !== expected) return new Response("denied", { status: 401 });
          expect(url.searchParams.get("service")).toBe("keon-proxy");
          expect(url.searchParams.get("scope")).toBe("repository:keon/multi:pull");
          return Response.json({ token: "tok-1", expires_in: 300 });
        }
        if (request.headers.get("authorization") !== "Bearer tok-1") {
          return new Response("unauthorized", {
            status: 401,
            headers: {
              "www-authenticate": `Bearer realm="http://${proxyHost}/token",service="keon-proxy",scope="repository:keon/multi:pull"`,
            },
          });
        }
        if (fault === "hang") return await new Promise<Response>(() => undefined);
        const isBlob = url.pathname.includes("/blobs/");
        const headers = new Headers();
        for (const name of ["accept", "range"]) {
          const value = request.headers.get(name);
          if (value !== null) headers.set(name, value);
        }
        if (isBlob) {
          seen.blobRequests++;
          if (request.headers.get("range") !== null) seen.rangeRequests++;
          if (redirectBlobs) return Response.redirect(`http://localhost:${storage.port}${url.pathname}`, 307);
        }
        const upstream = await fetch(`http://${plain.host}${url.pathname}`, { headers });
        const big = isBlob && Number(upstream.headers.get("content-length")) > 100_000;
        if (url.pathname.includes("/manifests/") && fault === "wrong-digest-header") {
          return new Response(await upstream.arrayBuffer(), {
            headers: { "content-type": upstream.headers.get("content-type") ?? "", "docker-content-digest": `sha256:${"1".repeat(64)}` },
          });
        }
        if (big && upstream.status === 200 && fault === "stall-once") {
          fault = "none";
          const bytes = new Uint8Array(await upstream.arrayBuffer());
          // Half the body, then silence: only the client's idle timeout ends this.
          return new Response(
            new ReadableStream<Uint8Array>({
              start(controller) {
                controller.enqueue(bytes.subarray(0, Math.floor(bytes.length / 2)));
              },
            }),
            { headers: { "content-type": "application/octet-stream" } },
          );
        }
        if (url.pathname.includes("/manifests/") && fault === "unknown-layer-type") {
          const manifest = (await upstream.json()) as { layers: { mediaType: string }[] };
          if (manifest.layers[0] !== undefined) manifest.layers[0].mediaType = "application/x-keon-unknown";
          return new Response(JSON.stringify(manifest), { headers: { "content-type": upstream.headers.get("content-type") ?? "" } });
        }
        const cut = fault === "truncate-always" || (upstream.status === 200 && (fault === "truncate-once" || fault === "corrupt"));
        if (big && cut) {
          const bytes = new Uint8Array(await upstream.arrayBuffer());
          if (fault === "corrupt") {
            bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
            return new Response(bytes, { headers: { "content-type": "application/octet-stream" } });
          }
          if (fault === "truncate-once") fault = "none";
          return new Response(bytes.subarray(0, Math.floor(bytes.length / 2)), { headers: { "content-type": "application/octet-stream" } });
        }
        const responseHeaders = new Headers();
        for (const name of ["content-type", "content-range", "docker-content-digest"]) {
          const value = upstream.headers.get(name);
          if (value !== null) responseHeaders.set(name, value);
        }
        return new Response(upstream.body, { status: upstream.status, headers: responseHeaders });
      },
    });
    proxyHost = `127.0.0.1:${proxy.port}`;
  });

  afterAll(async () => {
    proxy?.stop(true);
    storage?.stop(true);
    await cd?.stop();
    await plain?.stop();
    await secure?.stop();
  });

  async function expectNothingLeft(): Promise<void> {
    expect(await cd.client.leases.list()).toEqual([]);
    expect(await cd.client.content.listStatuses()).toEqual([]);
  }

  /** Remove every image and collect garbage, so the next pull fetches again. */
  async function forgetImages(): Promise<void> {
    for (const image of await cd.client.images.list()) await cd.client.images.delete(image.name, true);
    await cd.client.leases.collectGarbage();
  }

  const credential = { username: USER, password: PASSWORD };

  test("TLS with the test CA and htpasswd Basic auth", async () => {
    const pulled = await pullImage(cd.client, cd.namespace, `${secure.host}/keon/multi:1`, credential, { caFile: secure.caFile });
    expect(pulled.layers).toBe(3);
    expect((await cd.client.images.get(pulled.name)).target?.digest).toBe(pulled.digest);
    await expectNothingLeft();
  });

  test("a wrong password is refused with 401, naming the user and never the password", async () => {
    await forgetImages();
    const wrong = "not-the-Pa55word";
    const error = await pullImage(cd.client, cd.namespace, `${secure.host}/keon/multi:1`, { username: USER, password: wrong }, { caFile: secure.caFile }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KeonError);
    const { code, message } = error as KeonError;
    expect(code).toBe("UNAUTHORIZED");
    expect(message).toContain("401");
    expect(message).toContain(`user '${USER}'`);
    expect(message).toContain(secure.host);
    expect(JSON.stringify({ message, details: (error as KeonError).details })).not.toContain(wrong);
    await expectNothingLeft();
  });

  test("without the CA the registry's certificate is refused", async () => {
    const error = await pullImage(cd.client, cd.namespace, `${secure.host}/keon/multi:1`, credential).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeonError);
    expect((error as KeonError).code).toBe("NETWORK_ERROR");
    expect((error as KeonError).message).toContain(secure.host);
    expect((error as KeonError).message).not.toContain(PASSWORD);
    await expectNothingLeft();
  });

  test("Bearer tokens: fetched with Basic credentials once and reused until expiry", async () => {
    await forgetImages();
    const tokens = new TokenCache();
    seen.tokenRequests = 0;
    await pullImage(cd.client, cd.namespace, `${proxyHost}/keon/multi:1`, credential, { tokenCache: tokens });
    expect(seen.tokenRequests).toBe(1);
    await forgetImages();
    await pullImage(cd.client, cd.namespace, `${proxyHost}/keon/multi:1`, credential, { tokenCache: tokens });
    expect(seen.tokenRequests).toBe(1);
    // Anonymous is refused by this token server.
    const error = await pullImage(cd.client, cd.namespace, `${proxyHost}/keon/multi:1`, undefined, { tokenCache: tokens }).catch((e: unknown) => e);
    expect((error as KeonError).code).toBe("UNAUTHORIZED");
    expect((error as KeonError).message).toContain("anonymous");
    await expectNothingLeft();
  });

  test("blobs redirected to another origin are fetched without the credentials", async () => {
    await forgetImages();
    redirectBlobs = true;
    seen.authorizationAtStorage = [];
    try {
      const pulled = await pullImage(cd.client, cd.namespace, `${proxyHost}/keon/multi:1`, credential, { tokenCache: new TokenCache() });
      expect(pulled.bytesFetched).toBeGreaterThan(0);
    } finally {
      redirectBlobs = false;
    }
    expect(seen.authorizationAtStorage.length).toBeGreaterThan(0);
    expect(seen.authorizationAtStorage.every((a) => a === null)).toBe(true);
    await expectNothingLeft();
  });

  test("a body cut short is resumed from the offset containerd holds", async () => {
    await forgetImages();
    seen.rangeRequests = 0;
    fault = "truncate-once";
    const pulled = await pullImage(cd.client, cd.namespace, `${proxyHost}/keon/multi:1`, credential);
    expect(fault as Fault).toBe("none");
    expect(seen.rangeRequests).toBe(1);
    expect(pulled.layers).toBe(3);
    await expectNothingLeft();
  });

  test("an ingest left by an interrupted pull (keond killed mid-blob) is resumed from its offset", async () => {
    await forgetImages();
    const manifest = (await (
      await fetch(`http://${plain.host}/v2/keon/multi/manifests/1`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json" } })
    ).json()) as { layers: { digest: string; size: number }[] };
    const layer = manifest.layers.reduce((a, b) => (a.size >= b.size ? a : b));
    const bytes = new Uint8Array(await (await fetch(`http://${plain.host}/v2/keon/multi/blobs/${layer.digest}`)).arrayBuffer());
    const half = 3 * WRITE_CHUNK_BYTES;
    const ref = ingestRef(layer.digest);
    await cd.client.leases.create({ id: "crashed-pull", expireAfterMs: 60_000 });
    const stream = cd.client.connection.lockstep("containerd.services.content.v1.Content", "Write", { lease: "crashed-pull" });
    await stream.exchange({ action: "STAT", ref, total: layer.size, expected: layer.digest });
    for (let offset = 0; offset < half; offset += WRITE_CHUNK_BYTES) {
      await stream.exchange({ action: "WRITE", ref, offset, data: bytes.subarray(offset, offset + WRITE_CHUNK_BYTES) });
    }
    stream.cancel();
    await waitUntil(async () => (await cd.client.content.status(ref))?.offset === half, "the interrupted ingest at its offset");

    seen.rangeRequests = 0;
    const pulled = await pullImage(cd.client, cd.namespace, `${proxyHost}/keon/multi:1`, credential);
    expect(seen.rangeRequests).toBe(1);
    const total = manifest.layers.reduce((sum, l) => sum + l.size, 0);
    expect(pulled.bytesFetched).toBe(total - half);
    await cd.client.leases.delete("crashed-pull");
    await expectNothingLeft();
  });

  test("a body that stalls is ended by the idle timeout and resumed", async () => {
    await forgetImages();
    seen.rangeRequests = 0;
    fault = "stall-once";
    const started = performance.now();
    const pulled = await pullImage(cd.client, cd.namespace, `${proxyHost}/keon/multi:1`, credential, { idleTimeoutMs: 300 });
    expect(fault as Fault).toBe("none");
    expect(seen.rangeRequests).toBe(1);
    expect(pulled.layers).toBe(3);
    expect(performance.now() - started).toBeLessThan(10_000);
    await expectNothingLeft();
  });

  test("a manifest whose stated digest disagrees with its bytes is refused", async () => {
    fault = "wrong-digest-header";
    try {
      const error = await pullImage(cd.client, cd.namespace, `${proxyHost}/keon/multi:1`, credential).catch((e: unknown) => e);
      expect((error as KeonError).code).toBe("IMAGE_IMPORT_FAILED");
      expect((error as KeonError).message).toContain(`the registry states sha256:${"1".repeat(64)}`);
    } finally {
      fault = "none";
    }
    await expectNothingLeft();
  });

  test("a body always cut short fails after the attempts and leaves no ingest", async () => {
    await forgetImages();
    fault = "truncate-always";
    try {
      const error = await pullImage(cd.client, cd.namespace, `${proxyHost}/keon/multi:1`, credential, { maxAttempts: 2 }).catch((e: unknown) => e);
      expect((error as KeonError).code).toBe("IMAGE_IMPORT_FAILED");
      expect((error as KeonError).message).toContain("ended at");
      expect((error as KeonError).message).toContain(proxyHost);
    } finally {
      fault = "none";
    }
    await expectNothingLeft();
    expect(await cd.client.images.list()).toEqual([]);
  });

  test("corrupt content is refused by digest and nothing is left", async () => {
    await forgetImages();
    fault = "corrupt";
    try {
      const error = await pullImage(cd.client, cd.namespace, `${proxyHost}/keon/multi:1`, credential).catch((e: unknown) => e);
      expect((error as KeonError).code).toBe("IMAGE_IMPORT_FAILED");
      expect((error as KeonError).details?.["reason"]).toBe("digest-mismatch");
    } finally {
      fault = "none";
    }
    await expectNothingLeft();
    expect(await cd.client.images.list()).toEqual([]);
  });

  test("an unknown layer media type is refused before anything is written", async () => {
    fault = "unknown-layer-type";
    try {
      const error = await pullImage(cd.client, cd.namespace, `${proxyHost}/keon/multi:1`, credential).catch((e: unknown) => e);
      expect((error as KeonError).code).toBe("UNSUPPORTED");
      expect((error as KeonError).message).toContain("application/x-keon-unknown");
    } finally {
      fault = "none";
    }
    await expectNothingLeft();
  });

  test("a manifest over the size limit is refused", async () => {
    const error = await pullImage(cd.client, cd.namespace, `${proxyHost}/keon/multi:1`, credential, { maxManifestBytes: 100 }).catch((e: unknown) => e);
    expect((error as KeonError).code).toBe("IMAGE_IMPORT_FAILED");
    expect((error as KeonError).message).toContain("over the limit of 100");
    await expectNothingLeft();
  });

  test("a registry that never answers times out; one that is down is a network error", async () => {
    fault = "hang";
    try {
      const started = performance.now();
      const error = await pullImage(cd.client, cd.namespace, `${proxyHost}/keon/multi:1`, credential, { requestTimeoutMs: 300 }).catch((e: unknown) => e);
      expect((error as KeonError).code).toBe("DEADLINE_EXCEEDED");
      expect(performance.now() - started).toBeLessThan(10_000);
    } finally {
      fault = "none";
    }
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const port = closed.port;
    closed.stop(true);
    const down = await pullImage(cd.client, cd.namespace, `127.0.0.1:${port}/keon/multi:1`, undefined).catch((e: unknown) => e);
    expect((down as KeonError).code).toBe("NETWORK_ERROR");
    expect((down as KeonError).message).toContain(`127.0.0.1:${port}`);
    await expectNothingLeft();
  });
});
