/**
 * The pull route against a real registry (docker-registry, TLS-less but
 * with htpasswd Basic auth on loopback) and a private containerd: the
 * realm's credentials come from the store (password write-only), progress
 * streams as NDJSON ending in `done`; a wrong stored password ends the
 * stream in an `error` line naming 401; bad input is an error envelope.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import pino from "pino";
import { toErrorEnvelope } from "../../src/api/error-envelope.ts";
import { registerImagePullRoute, type PullStreamLine } from "../../src/api/image-pull-route.ts";
import { hostPlatform } from "../../src/containerd/index.ts";
import { parseDocument } from "../../src/model/index.ts";
import { Store } from "../../src/store/store.ts";
import { CONTAINERD_BINARIES, buildBusyboxImage, requireBinaries, requireRoot, startContainerd, type TestContainerd } from "../harness/index.ts";
import { REGISTRY_BINARIES, buildRegistryTestLayouts, startRegistry, type TestRegistry } from "../harness/registry.ts";

const SUITE = "image pull route";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, ...REGISTRY_BINARIES]);
const USER = "puller";
const PASSWORD = "route-Pa55word";

describe.skipIf(!ready)(SUITE, () => {
  let cd: TestContainerd;
  let registry: TestRegistry;
  let store: Store;
  let app: Hono;

  function putRealm(name: string, password: string): void {
    store.put(
      parseDocument({
        apiVersion: "v1beta1",
        kind: "Realm",
        metadata: { name },
        spec: { registryCredentials: [{ username: "someone-else", password: "x", serverAddress: "quay.io" }, { username: USER, password, serverAddress: registry.host }] },
      }),
    );
  }

  beforeAll(async () => {
    const images = await buildRegistryTestLayouts(await buildBusyboxImage(), hostPlatform().architecture);
    [cd, registry] = await Promise.all([startContainerd(), startRegistry({ auth: { username: USER, password: PASSWORD } })]);
    registry.push(`oci:${images.layout}:multi`, "keon/multi:1");
    registry.push(`oci:${images.layout}:multiarch`, "keon/multiarch:1", ["--all"]);
    store = new Store(":memory:");
    putRealm("good", PASSWORD);
    putRealm("bad", "wrong-Pa55word");
    app = new Hono();
    app.onError((err, c) => {
      const { status, body } = toErrorEnvelope(err);
      return c.json(body, status as 400);
    });
    registerImagePullRoute(app, {
      cells: { realmNamespace: (realm) => (realm === "good" || realm === "bad" ? cd.namespace : undefined) },
      store,
      containerd: cd.client,
      log: pino({ level: "silent" }),
    });
  });

  afterAll(async () => {
    store?.close();
    await cd?.stop();
    await registry?.stop();
  });

  async function pull(realm: string, body: unknown): Promise<Response> {
    return await app.request(`/v1/realms/${realm}/images/pull`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  }

  async function lines(response: Response): Promise<PullStreamLine[]> {
    expect(response.headers.get("content-type")).toBe("application/x-ndjson");
    return (await response.text())
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as PullStreamLine);
  }

  test("pulls with the realm's stored credentials, streaming progress", async () => {
    const response = await pull("good", { reference: `${registry.host}/keon/multi:1` });
    expect(response.status).toBe(200);
    const stream = await lines(response);
    expect(stream[0]?.type).toBe("resolved");
    expect(stream.filter((l) => l.type === "layer" && l.state === "done")).toHaveLength(3);
    const last = stream.at(-1);
    expect(last?.type).toBe("done");
    if (last?.type !== "done") throw new Error("no done line");
    expect(last.image.name).toBe(`${registry.host}/keon/multi:1`);
    expect((await cd.client.images.get(last.image.name)).target?.digest).toBe(last.image.digest);
  });

  test("a wrong stored password ends the stream with a 401 error that does not contain it", async () => {
    await cd.client.images.delete(`${registry.host}/keon/multi:1`, true);
    await cd.client.leases.collectGarbage();
    const text = await (await pull("bad", { reference: `${registry.host}/keon/multi:1` })).text();
    expect(text).not.toContain("wrong-Pa55word");
    const last = JSON.parse(text.trim().split("\n").at(-1) ?? "{}") as PullStreamLine;
    expect(last.type).toBe("error");
    if (last.type !== "error") throw new Error("no error line");
    expect(last.error.code).toBe("UNAUTHORIZED");
    expect(last.error.message).toContain("401");
    expect(last.error.message).toContain(`user '${USER}'`);
    expect(await cd.client.leases.list()).toEqual([]);
  });

  test("another platform than the host's on request", async () => {
    const other = hostPlatform().architecture === "arm64" ? "amd64" : "arm64";
    const stream = await lines(await pull("good", { reference: `${registry.host}/keon/multiarch:1`, platform: `linux/${other}` }));
    const last = stream.at(-1);
    if (last?.type !== "done") throw new Error(`no done line: ${JSON.stringify(last)}`);
    expect(last.image.platform).toBe(other === "arm64" ? "linux/arm64/v8" : "linux/amd64");
    const config = JSON.parse((await cd.client.content.readAll(last.image.configDigest)).toString()) as { architecture: string };
    expect(config.architecture).toBe(other);
    const bad = await pull("good", { reference: "busybox", platform: "linux" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("INVALID_REQUEST");
  });

  test("bad input is an error envelope before anything streams", async () => {
    expect((await pull("nowhere", { reference: "busybox" })).status).toBe(404);
    const badRef = await pull("good", { reference: "Not A Reference" });
    expect(badRef.status).toBe(400);
    expect(((await badRef.json()) as { error: { code: string } }).error.code).toBe("INVALID_NAME");
    const noRef = await pull("good", { image: "busybox" });
    expect(noRef.status).toBe(400);
    expect(((await noRef.json()) as { error: { code: string; details: { issues: { path: string }[] } } }).error.details.issues[0]?.path).toBe("reference");
    const notJson = await app.request("/v1/realms/good/images/pull", { method: "POST", body: "{" });
    expect(notJson.status).toBe(400);
  });
});
