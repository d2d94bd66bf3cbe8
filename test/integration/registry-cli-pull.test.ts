/**
 * `keon image pull` as a process against the pull route served on a unix
 * socket (the route keond serves, without the rest of keond), a real
 * docker-registry and a private containerd: the summary on stdout, a line
 * per layer on stderr when not on a terminal, exit 0; a failure exits 1
 * naming the error code.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import pino from "pino";
import { toErrorEnvelope } from "../../src/api/error-envelope.ts";
import { registerImagePullRoute } from "../../src/api/image-pull-route.ts";
import { hostPlatform } from "../../src/containerd/index.ts";
import { parseDocument } from "../../src/model/index.ts";
import { Store } from "../../src/store/store.ts";
import { CONTAINERD_BINARIES, buildBusyboxImage, requireBinaries, requireRoot, startContainerd, type TestContainerd } from "../harness/index.ts";
import { REGISTRY_BINARIES, buildRegistryTestLayouts, startRegistry, type TestRegistry } from "../harness/registry.ts";

const SUITE = "keon image pull";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, ...REGISTRY_BINARIES]);
const CLI = join(import.meta.dir, "../../src/cli/main.ts");

describe.skipIf(!ready)(SUITE, () => {
  let cd: TestContainerd;
  let registry: TestRegistry;
  let store: Store;
  let server: ReturnType<typeof Bun.serve>;
  let dir: string;
  let socket: string;

  beforeAll(async () => {
    const images = await buildRegistryTestLayouts(await buildBusyboxImage(), hostPlatform().architecture);
    [cd, registry] = await Promise.all([startContainerd(), startRegistry()]);
    registry.push(`oci:${images.layout}:multi`, "keon/multi:1");
    store = new Store(":memory:");
    store.put(parseDocument({ apiVersion: "v1beta1", kind: "Realm", metadata: { name: "r" }, spec: {} }));
    const app = new Hono();
    app.onError((err, c) => {
      const { status, body } = toErrorEnvelope(err);
      return c.json(body, status as 400);
    });
    registerImagePullRoute(app, {
      cells: { realmNamespace: (realm) => (realm === "r" ? cd.namespace : undefined) },
      store,
      containerd: cd.client,
      log: pino({ level: "silent" }),
    });
    dir = mkdtempSync("/tmp/keon-test-cli-pull-");
    socket = join(dir, "keond.sock");
    server = Bun.serve({ unix: socket, fetch: app.fetch });
  });

  afterAll(async () => {
    server?.stop(true);
    store?.close();
    await cd?.stop();
    await registry?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function keon(args: string[]): Promise<{ code: number; out: string; err: string }> {
    const proc = Bun.spawn(["bun", CLI, ...args, "--socket", socket], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, out, err };
  }

  test("pulls, with a line per layer and a summary", async () => {
    const result = await keon(["image", "pull", `${registry.host}/keon/multi:1`, "--realm", "r"]);
    expect(result.err).toContain(`pulling ${registry.host}/keon/multi:1 (linux/${hostPlatform().architecture}, 3 layers`);
    expect(result.err.split("\n").filter((l) => / fetched /.test(l) || /: fetched/.test(l))).toHaveLength(3);
    expect(result.out).toMatch(new RegExp(`^image/${registry.host.replace(/\./g, "\\.")}/keon/multi:1 pulled \\(sha256:[0-9a-f]{12}, linux/\\w+, 3 layers, .* fetched\\)\\n$`));
    expect(result.code).toBe(0);

    const again = await keon(["image", "pull", `${registry.host}/keon/multi:1`, "--realm", "r"]);
    expect(again.out).toContain("3 layers already present");
    expect(again.code).toBe(0);
  });

  test("on a terminal the layers are redrawn in place", async () => {
    await cd.client.images.delete(`${registry.host}/keon/multi:1`, true);
    await cd.client.leases.collectGarbage();
    // script(1) gives the CLI a pty for stdout and stderr.
    const command = ["bun", CLI, "image", "pull", `${registry.host}/keon/multi:1`, "--realm", "r", "--socket", socket].map((a) => `'${a}'`).join(" ");
    const proc = Bun.spawn(["script", "-qec", command, "/dev/null"], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1", TERM: "xterm" } });
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(code).toBe(0);
    expect(out).toContain("\u001b[3A"); // back up over the three layer lines
    expect(out).toMatch(/sha256:[0-9a-f]{12} {2}(done|unpacked|unpacking) /);
    expect(out).toContain(`image/${registry.host}/keon/multi:1 pulled`);
  });

  test("a failure exits 1 with the error code; usage errors exit 2", async () => {
    const missing = await keon(["image", "pull", `${registry.host}/keon/nothing:1`, "--realm", "r"]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("IMAGE_NOT_FOUND");
    const noRealm = await keon(["image", "pull", `${registry.host}/keon/multi:1`, "--realm", "nope"]);
    expect(noRealm.code).toBe(1);
    expect(noRealm.err).toContain("REALM_NOT_FOUND");
    expect((await keon(["image", "pull"])).code).toBe(2);
  });
});
