/**
 * Automatic pulls against keond as a process, a private containerd and a
 * real docker-registry on loopback (TLS with a CA the test makes, passed as
 * keond's imagePull.caFile, and htpasswd Basic auth): a cell whose image is
 * only in the registry is `Pending (Pulling)` and then Ready; with a wrong
 * password its reason is ImagePullFailed naming the 401 and the registry,
 * retried with backoff, and no password appears in any read, event or log
 * line; `keon image ls` shows the image's size and the cells that use it;
 * `keon image rm` refuses it while a cell uses it, and `--force` removes it
 * (leaving no lease behind).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { hostPlatform } from "../../src/containerd/index.ts";
import { buildBusyboxImage, CONTAINERD_BINARIES, randomId, requireBinaries, requireRoot, waitUntil } from "../harness/index.ts";
import { startKeondSuite, stopKeondSuite, type KeondSuite } from "../harness/keond-suite.ts";
import { REGISTRY_BINARIES, buildRegistryTestLayouts, startRegistry, type TestRegistry } from "../harness/registry.ts";
import { cellManifest } from "../harness/scope-manifest.ts";
import { hostNetworkState } from "../integration/runtime-helpers.ts";

const SUITE = "automatic image pulls e2e";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, ...REGISTRY_BINARIES, "ip", "iptables-save", "nft", "/usr/lib/cni/bridge"]);

const realm = `ap${randomId(3)}`;
const SPACE = "web";
const USER = "puller";
const PASSWORD = "Right-Pa55word-7f3k";
const WRONG = "Wrong-Pa55word-q9z2";

type Doc = { metadata: { name: string }; status?: Record<string, unknown> };
type EventItem = { kind: string; name: string; type: string; reason: string; message: string };

describe.skipIf(!ready)(SUITE, () => {
  let suite: KeondSuite;
  let registry: TestRegistry;
  let image: string;
  let before: Awaited<ReturnType<typeof hostNetworkState>>;
  const keon = (args: string[], stdin?: string) => suite.keon(args, stdin);
  const realmYaml = (password: string) =>
    `kind: Realm\nmetadata: {name: ${realm}}\nspec:\n  registryCredentials:\n    - {serverAddress: "${registry.host}", username: ${USER}, password: "${password}"}\n`;
  const treeYaml = () => `kind: Space\nmetadata: {name: ${SPACE}}\nspec: {realmId: ${realm}}\n---\nkind: Stack\nmetadata: {name: main}\nspec: {realmId: ${realm}, spaceId: ${SPACE}}\n`;
  const cellYaml = (name: string) => cellManifest({ realm, space: SPACE, stack: "main" }, name, [`{id: app, image: "${image}", command: /bin/sh, args: ["-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}`]);
  const getCell = async (name: string) => (await suite.keond.api<Doc>("GET", `/v1/realms/${realm}/spaces/${SPACE}/stacks/main/cells/${name}`)).body;
  const events = async () => ((await suite.keond.api<{ items: EventItem[] }>("GET", `/v1/events?realm=${realm}&limit=10000`)).body.items ?? []);
  const keondLogs = () => readdirSync(suite.dir).filter((f) => f.startsWith("keond.log")).map((f) => readFileSync(join(suite.dir, f), "utf8")).join("\n");

  beforeAll(async () => {
    const layouts = await buildRegistryTestLayouts(await buildBusyboxImage(), hostPlatform().architecture);
    registry = await startRegistry({ tls: true, auth: { username: USER, password: PASSWORD } });
    registry.push(`oci:${layouts.layout}:multi`, "keon/app:1");
    image = `${registry.host}/keon/app:1`;
    before = await hostNetworkState(realm, [SPACE]);
    suite = await startKeondSuite({
      name: "autopull",
      realm,
      subnetCidr: "10.222.0.0/16",
      extraArgs: ["--image-pull-auto", "on", "--image-pull-ca-file", registry.caFile ?? ""],
    });
  }, 180_000);

  afterAll(async () => {
    try {
      if (suite !== undefined) {
        await stopKeondSuite(suite);
        expect(await hostNetworkState(realm, [SPACE])).toEqual(before);
      }
    } finally {
      await registry?.stop();
    }
  }, 200_000);

  test("a wrong password: the cell's reason is ImagePullFailed naming the 401 and the registry, retried with backoff", async () => {
    expect((await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], realmYaml(WRONG))).code).toBe(0);
    expect((await keon(["apply", "-f", "-", "--wait", "--timeout", "60s"], treeYaml())).code).toBe(0);
    const applied = await keon(["apply", "-f", "-"], cellYaml("app"));
    expect(applied.code).toBe(0);
    await waitUntil(async () => ((await getCell("app")).status?.["retry"] as { attempt?: number } | undefined)?.attempt === 2, "a second failed pull", 60_000, 100);
    const status = (await getCell("app")).status ?? {};
    expect(status["state"]).toBe("Pending");
    expect(status["reason"]).toBe("ImagePullFailed");
    expect(String(status["message"])).toContain(`401 from ${registry.host}`);
    expect(String(status["message"])).toContain(`user '${USER}'`);
    const warnings = (await events()).filter((e) => e.name === "app" && e.reason === "ImagePullFailed");
    expect(warnings.length).toBeGreaterThan(0);
    expect(await suite.cd.client.withNamespace(suite.namespace).images.list([`name==${JSON.stringify(image)}`])).toEqual([]);
  }, 120_000);

  test("the right password: the cell goes Pulling, then Ready; no password in any read, event or log", async () => {
    expect((await keon(["apply", "-f", "-"], realmYaml(PASSWORD))).code).toBe(0);
    // The next retry (at most a few seconds away) pulls; two more cells of the image ask for it meanwhile.
    expect((await keon(["apply", "-f", "-"], cellYaml("second") + cellYaml("third"))).code).toBe(0);
    await waitUntil(async () => (await Promise.all(["app", "second", "third"].map(getCell))).every((c) => c.status?.["state"] === "Ready"), "all three cells Ready", 90_000, 200);
    const all = await events();
    for (const name of ["app", "second", "third"]) {
      const reasons = all.filter((e) => e.kind === "Cell" && e.name === name).map((e) => e.reason);
      expect(reasons).toContain("Pulling");
      expect(reasons.indexOf("Pulling")).toBeLessThan(reasons.lastIndexOf("Ready"));
    }
    // One download for the three cells (and the retries): keond logged one successful pull of the image.
    expect(keondLogs().split("\n").filter((l) => l.includes('"msg":"image pulled"') && l.includes(image))).toHaveLength(1);

    const reads = [
      JSON.stringify((await suite.keond.api("GET", `/v1/realms/${realm}`)).body),
      JSON.stringify((await suite.keond.api("GET", `/v1/cells?realm=${realm}`)).body),
      JSON.stringify(all),
      (await keon(["describe", "cell", "app", "--realm", realm, "--space", SPACE, "--stack", "main"])).out,
      (await keon(["get", "realm", realm, "-o", "yaml"])).out,
      keondLogs(),
    ];
    for (const text of reads) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(WRONG);
    }
  }, 150_000);

  test("image ls shows the size and the cells; rm refuses an image in use, --force removes it and leaves no lease", async () => {
    const listed = await keon(["image", "ls", "--realm", realm]);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(/^NAME\s+DIGEST\s+SIZE\s+CELLS\s+AGE\n/);
    const row = listed.out.split("\n").find((l) => l.startsWith(`${image} `)) ?? "";
    expect(row).toMatch(new RegExp(`sha256:[0-9a-f]{12}\\s+[\\d.]+(Ki|Mi)\\s+${SPACE}/main/app,${SPACE}/main/second,${SPACE}/main/third\\s`));
    const json = JSON.parse((await keon(["image", "ls", "--realm", realm, "-o", "json"])).out) as { items: Array<{ name: string; size: number; cells: string[] }> };
    expect(json.items.find((i) => i.name === image)?.size).toBeGreaterThan(0);

    const refused = await keon(["image", "rm", image, "--realm", realm]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("CONFLICT");
    expect(refused.err).toContain(`${SPACE}/main/app, ${SPACE}/main/second, ${SPACE}/main/third`);
    expect((await suite.cd.client.withNamespace(suite.namespace).images.list([`name==${JSON.stringify(image)}`])).length).toBe(1);

    const forced = await keon(["image", "rm", image, "--realm", realm, "--force"]);
    expect(forced).toMatchObject({ code: 0, out: `image/${image} removed\n` });
    expect(await suite.cd.client.withNamespace(suite.namespace).leases.list()).toEqual([]);
    // The running cells are untouched (their snapshots keep what they need).
    expect((await getCell("app")).status?.["state"]).toBe("Ready");
  }, 120_000);
});
