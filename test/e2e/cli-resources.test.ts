/**
 * The `keon` binary against a real keond (with the test's own containerd):
 * init, apply, get, describe, delete, cell actions, logs, events and their
 * failure paths, each as an operator would type it. The suite's own realm
 * keeps it apart from other suites; init's default realm is removed again.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { instanceOf, removeSpaceEgress } from "../../src/network/egress.ts";
import { listKeonTable } from "../../src/network/nft.ts";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { importImageArchive } from "../../src/containerd/image-import.ts";
import {
  buildBusyboxImage, CONTAINERD_BINARIES, randomId, requireBinaries, requireRoot, RUN_ID, startContainerd, unmountUnder, waitUntil,
  type TestContainerd,
} from "../harness/index.ts";
import { KeondProcess } from "../harness/keond.ts";
import { KEON_CLI, runKeon, type KeonRun, type KeonRunOptions } from "../harness/keon-cli.ts";
import { TEST_DIR_PREFIX } from "../harness/run-id.ts";
import { removeCgroups } from "../harness/cgroups.ts";
import { ownNetworkState, type OwnNetworkState } from "../harness/host-network.ts";
import { bridgeNameOf, networkNameOf } from "../../src/network/network-names.ts";
import { runChecked } from "../../src/network/run-command.ts";
import { cgroupDirsOf } from "../integration/runtime-helpers.ts";

const SUITE = "keon CLI e2e: resources";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, "ip", "iptables-save", "nft", "/usr/lib/cni/bridge"]);

const IMAGE = "keon.test/busybox:latest";
const realm = `cli${randomId(3)}`;
const SPACE = "web";
const STACK = "main";
const SCOPE = ["--realm", realm, "--space", SPACE, "--stack", STACK];

type Run = KeonRun;

function manifests(): { base: string; cell: string } {
  const base = `apiVersion: v1beta1
kind: Realm
metadata: {name: ${realm}}
spec: {}
---
kind: Space
metadata: {name: ${SPACE}}
spec: {realmId: ${realm}}
---
kind: Stack
metadata: {name: ${STACK}}
spec: {realmId: ${realm}, spaceId: ${SPACE}}
`;
  const cell = `kind: Cell
metadata:
  name: ticker
  labels: {app: ticker, tier: demo}
spec:
  realmId: ${realm}
  spaceId: ${SPACE}
  stackId: ${STACK}
  containers:
    - id: app
      image: ${IMAGE}
      command: /bin/sh
      args: ["-c", "trap 'exit 0' TERM; echo hello from ticker; i=0; while true; i=$((i+1)); do echo tick $i; sleep 0.3; done"]
      restartPolicy: always
    - id: side
      image: ${IMAGE}
      command: /bin/sh
      args: ["-c", "trap 'exit 0' TERM; echo side up; while true; do sleep 1; done"]
`;
  return { base, cell };
}

/** What of this suite's own networks the host shows (see test/harness/host-network.ts): nothing before, nothing after. */
const ownNetwork = () => ownNetworkState({ spaces: [[realm, SPACE]], realms: [realm] });

/**
 * True when the host already has a network by the name this keond's default
 * space would use (the demo's, another keond's). keond names a space's bridge
 * and iptables rules by realm and space only, so deleting this suite's
 * `default` space through its keond would delete that other network's bridge
 * and rules; the suite then removes its default realm's remains itself.
 */
async function foreignDefaultNetwork(): Promise<boolean> {
  const bridge = bridgeNameOf("default", "default");
  const links = (await runChecked(["ip", "-o", "link", "show"], { timeoutMs: 10_000 })).stdout;
  const nat = (await runChecked(["iptables-save", "-t", "nat"], { timeoutMs: 10_000 })).stdout;
  return links.includes(`: ${bridge}:`) || nat.includes(`name: \\"${networkNameOf("default", "default")}\\"`);
}

describe.skipIf(!ready)(SUITE, () => {
  let cd: TestContainerd;
  let keond: KeondProcess;
  const dir = `${TEST_DIR_PREFIX}cli-${RUN_ID}-${randomId()}`;
  const manifestDir = join(dir, "manifests");

  const keon = (args: string[], options: KeonRunOptions = {}): Promise<Run> => runKeon(keond.socket, args, options);

  /** A long-running keon (-f, -w): started, given time, interrupted like Ctrl-C. */
  function keonBackground(args: string[]) {
    const child = Bun.spawn([process.execPath, "run", KEON_CLI, ...args], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, KEON_SOCKET: keond.socket, NO_COLOR: "1" },
    });
    let out = "";
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stdout) out += decoder.decode(chunk, { stream: true });
    })();
    return {
      output: () => out,
      async interrupt(): Promise<{ code: number; out: string; err: string }> {
        child.kill("SIGINT");
        const code = await child.exited;
        await reading;
        return { code, out, err: await new Response(child.stderr).text() };
      },
    };
  }

  let before: OwnNetworkState;
  let sharedDefault = false;

  beforeAll(async () => {
    before = await ownNetwork();
    sharedDefault = await foreignDefaultNetwork();
    cd = await startContainerd();
    await importImageArchive(cd.client.withNamespace(`${realm}.e2e`), await buildBusyboxImage(), { name: IMAGE });
    keond = new KeondProcess({ dir, containerdSocket: cd.socket, cgroupRoot: cd.cgroupParent, subnetCidr: "10.216.0.0/16" });
    await keond.start();
    mkdirSync(manifestDir, { recursive: true });
    const { base, cell } = manifests();
    writeFileSync(join(manifestDir, "00-base.yaml"), base);
    writeFileSync(join(manifestDir, "10-cell.yaml"), cell);
  });

  /** This suite's keond's objects in the shared `inet keon` table. */
  const instanceObjects = async () => {
    const { tag } = instanceOf({ runPath: keond.runPath, namespaceSuffix: "e2e" });
    const table = await listKeonTable();
    return table === undefined ? [] : [...table.chains, ...Object.keys(table.sets), ...Object.keys(table.counters)].filter((n) => n.startsWith(`${tag}_`));
  };

  afterAll(async () => {
    try {
      if (keond?.pid !== undefined) {
        const deleted = await keon(["delete", "realm", realm, "--cascade", "--wait", "--ignore-not-found"]);
        expect(deleted.code).toBe(0);
        if (!sharedDefault) {
          expect((await keon(["delete", "realm", "default", "--cascade", "--wait", "--ignore-not-found"])).code).toBe(0);
        } else {
          console.warn(`${SUITE}: another Keon's default space network is on this host; this keond's default realm is removed by hand, not through keond (it would delete that network)`);
          expect((await keon(["delete", "stack", "default", "--realm", "default", "--space", "default", "--wait", "--ignore-not-found"])).code).toBe(0);
          // Its space's nft objects carry this keond's instance tag: only they go, the other Keon's stay.
          await removeSpaceEgress({ runPath: keond.runPath, namespaceSuffix: "e2e" }, "default", "default");
          expect(await instanceObjects()).toEqual([]);
        }
        expect(await keond.stop()).toBe(0);
      }
    } finally {
      await keond?.crash();
      if (cd && sharedDefault) expect(removeCgroups(`${cd.cgroupParent}/default`)).toEqual([]);
      unmountUnder(dir);
      const after = await ownNetwork();
      await cd?.stop();
      keond?.remove();
      expect(after).toEqual(before);
      if (cd) expect(cgroupDirsOf(cd.cgroupParent)).toEqual([]);
    }
  });

  test("init creates the default realm, space and stack; a second init changes nothing", async () => {
    const first = await keon(["init", "--wait"]);
    expect(first).toEqual({
      code: 0,
      out: "realm/default created\nspace/default created\nstack/default created\n3 resources: 3 created, 0 updated, 0 unchanged\n",
      err: "",
    });
    const second = await keon(["init"]);
    expect(second.code).toBe(0);
    expect(second.out).toBe("realm/default unchanged\nspace/default unchanged\nstack/default unchanged\n3 resources: 0 created, 0 updated, 3 unchanged\n");
    const stacks = await keon(["get", "stacks"]);
    expect(stacks.out).toMatch(/^NAME\s+STATE\s+AGE\ndefault\s+Ready\s+\d+s\n$/);
  });

  test("apply -f DIR --wait applies in dependency order until Ready; again reports unchanged", async () => {
    const applied = await keon(["apply", "-f", manifestDir, "--wait", "--timeout", "90s"]);
    expect(applied.err).toBe("");
    expect(applied.code).toBe(0);
    expect(applied.out).toBe(
      `realm/${realm} created\nspace/${SPACE} created\nstack/${STACK} created\ncell/ticker created\n4 resources: 4 created, 0 updated, 0 unchanged\n`,
    );
    const again = await keon(["apply", "-f", join(manifestDir, "10-cell.yaml"), "-f", join(manifestDir, "00-base.yaml")]);
    expect(again.out).toEndWith("4 resources: 0 created, 0 updated, 4 unchanged\n");
    const json = await keon(["apply", "-f", join(manifestDir, "10-cell.yaml"), "-o", "json"]);
    expect(JSON.parse(json.out)).toMatchObject({ results: [{ kind: "Cell", name: "ticker", result: "unchanged" }], summary: { unchanged: 1 } });
  });

  test("get shows tables with STATE and AGE, READY, RESTARTS and IP; wide, name, -l and -A", async () => {
    const cells = await keon(["get", "cells", ...SCOPE]);
    expect(cells.code).toBe(0);
    expect(cells.out).toMatch(/^NAME\s+STATE\s+READY\s+RESTARTS\s+IP\s+AGE\nticker\s+Ready\s+2\/2\s+0\s+10\.216\.\d+\.\d+\s+\d+s\n$/);
    const wide = await keon(["get", "cell", "ticker", ...SCOPE, "-o", "wide"]);
    expect(wide.out).toMatch(/CONTAINERS\s+IMAGES/);
    expect(wide.out).toContain(`app,side`);
    const containers = await keon(["get", "ctr", ...SCOPE]);
    expect(containers.out).toMatch(/^NAME\s+CELL\s+STATE\s+RESTARTS\s+EXIT\s+AGE\napp\s+ticker\s+Ready\s+0\s+-\s+\S+\nside\s+ticker\s+Ready\s+0\s+-\s+\S+\n$/);
    expect((await keon(["get", "c", ...SCOPE, "-o", "name"])).out).toBe(`cell/${realm}/${SPACE}/${STACK}/ticker\n`);
    expect((await keon(["get", "cells", ...SCOPE, "-l", "tier=demo"])).out).toContain("ticker");
    const none = await keon(["get", "cells", ...SCOPE, "-l", "tier=prod"]);
    expect(none).toEqual({ code: 0, out: "", err: `No resources found in ${realm}/${SPACE}/${STACK}.\n` });
    const all = await keon(["get", "cells", "-A"]);
    expect(all.out).toMatch(new RegExp(`^REALM\\s+SPACE\\s+STACK\\s+NAME[^\\n]*\\n${realm}\\s+${SPACE}\\s+${STACK}\\s+ticker\\s`));
    const realms = await keon(["get", "realm", realm]);
    expect(realms.out).toMatch(new RegExp(`^NAME\\s+NAMESPACE\\s+STATE\\s+AGE\\n${realm}\\s+-\\s+Ready\\s+\\d+s\\n$`));
  });

  test("`keon get cell X -o yaml | keon apply -f -` reports unchanged (json too, and whole lists)", async () => {
    const yaml = await keon(["get", "cell", "ticker", ...SCOPE, "-o", "yaml"]);
    expect(yaml.code).toBe(0);
    // status is shown (as kubectl shows it) and ignored on input: the round trip is still unchanged.
    expect(yaml.out).toContain("\nstatus:\n  state: Ready\n");
    expect(yaml.out).not.toContain("generation:");
    const back = await keon(["apply", "-f", "-"], { stdin: yaml.out });
    expect(back).toEqual({ code: 0, out: "cell/ticker unchanged\n1 resource: 0 created, 0 updated, 1 unchanged\n", err: "" });
    const json = await keon(["get", "cells", ...SCOPE, "-o", "json"]);
    expect((await keon(["apply", "-f", "-"], { stdin: json.out })).out).toBe("cell/ticker unchanged\n1 resource: 0 created, 0 updated, 1 unchanged\n");
    for (const args of [["realm", realm], ["spaces", "--realm", realm], ["stacks", "--realm", realm, "--space", SPACE]]) {
      const out = (await keon(["get", ...args, "-o", "yaml"])).out;
      const back = await keon(["apply", "-f", "-"], { stdin: out });
      expect({ args, code: back.code }).toEqual({ args, code: 0 });
      expect(back.out).toMatch(/\n1 resource: 0 created, 0 updated, 1 unchanged\n$/);
    }
  });

  test("describe shows the spec summary, state, containers with restarts and exit codes, and events", async () => {
    const described = await keon(["describe", "cell", "ticker", ...SCOPE]);
    expect(described.code).toBe(0);
    expect(described.out).toContain("Name:        ticker\n");
    expect(described.out).toContain(`Scope:       ${realm}/${SPACE}/${STACK}\n`);
    expect(described.out).toContain("State:       Ready\n");
    expect(described.out).toMatch(/IP:\s+10\.216\./);
    expect(described.out).toMatch(/app\s+keon\.test\/busybox:latest\s+Ready\s+0\s+-\s+-\s+\/bin\/sh -c/);
    expect(described.out).toMatch(/Events:\n\s+AGE\s+TYPE\s+REASON\s+MESSAGE\n(.*\n)*.*Ready\s+cell is Ready/);
    const missing = await keon(["describe", "cell", "nope", ...SCOPE]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^keon: CELL_NOT_FOUND: /);
  });

  test("logs: one container by -c, --tail, and -f until interrupted", async () => {
    const needsContainer = await keon(["logs", "ticker", ...SCOPE]);
    expect(needsContainer.code).toBe(1);
    expect(needsContainer.err).toContain("container");
    const side = await keon(["logs", "ticker", "-c", "side", ...SCOPE]);
    expect(side).toEqual({ code: 0, out: "side up\n", err: "" });
    const tail = await keon(["logs", "ticker", "-c", "app", "--tail", "2", ...SCOPE]);
    expect(tail.out.trim().split("\n")).toHaveLength(2);
    expect(tail.out).toMatch(/^tick \d+\ntick \d+\n$/);
    const follow = keonBackground(["logs", "ticker", "-c", "app", "-f", "--tail", "1", ...SCOPE]);
    await waitUntil(() => (follow.output().match(/tick/g) ?? []).length >= 4, "three new ticks while following", 15_000);
    const stopped = await follow.interrupt();
    expect(stopped.out.startsWith("tick ")).toBe(true);
    expect((await keon(["logs", "ticker", "-c", "ghost", ...SCOPE])).err).toMatch(/CONTAINER_NOT_FOUND/);
    expect((await keon(["logs", "ticker", "--tail", "many", ...SCOPE])).code).toBe(2);
  });

  test("stop, start, kill and restart a cell with --wait; get -w and events -w report it", async () => {
    const watch = keonBackground(["get", "cells", ...SCOPE, "-w"]);
    const events = keonBackground(["events", "--realm", realm, "-w"]);
    // No pause for the watchers: events -w resumes from the last listed event, and get -w sees two
    // stop/start cycles below, so a first change made while it subscribes cannot hide the second.
    await waitUntil(() => watch.output().includes("ticker") && events.output().includes("cell/ticker"), "watchers running", 15_000);

    expect(await keon(["stop", "cell", "ticker", ...SCOPE, "--wait"])).toEqual({ code: 0, out: "cell/ticker stopped (Stopped)\n", err: "" });
    expect((await keon(["get", "cell", "ticker", ...SCOPE])).out).toMatch(/ticker\s+Stopped\s+0\/2/);
    expect((await keon(["start", "cell/ticker", ...SCOPE, "--wait"])).out).toBe("cell/ticker started (Ready)\n");
    expect((await keon(["kill", "cell", "ticker", ...SCOPE, "--wait"])).out).toBe("cell/ticker killed (Stopped)\n");
    expect((await keon(["restart", "cell", "ticker", ...SCOPE, "--wait"])).out).toBe("cell/ticker restarted (Ready)\n");
    await waitUntil(() => /ticker\s+Stopped[^]*\nticker\s+Ready/.test(watch.output()), "get -w saw Stopped then Ready", 15_000);
    await waitUntil(() => /OperatorStopped|Stopped/.test(events.output()), "events -w saw the stop", 15_000);

    const watched = await watch.interrupt();
    expect(watched.code).toBe(0);
    expect(watched.out).toMatch(/^NAME\s+STATE\s+READY\s+RESTARTS\s+IP\s+AGE\n/);
    const streamed = await events.interrupt();
    expect(streamed.code).toBe(0);
    expect(streamed.out).toMatch(/^AGE\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n/);

    const list = await keon(["events", "--realm", realm, "--for", "cell/ticker"]);
    expect(list.out).toMatch(/^AGE\s+TYPE\s+REASON\s+MESSAGE\n/);
    expect(list.out).toContain("cell is Ready");
    expect((await keon(["stop", "stack", STACK, ...SCOPE])).code).toBe(2);
    expect((await keon(["start", "cell", "nope", ...SCOPE])).code).toBe(1);
  });

  test("delete: by name with --wait, from a manifest, refusing dependents without --cascade", async () => {
    const extra = join(dir, "extra.yaml");
    writeFileSync(extra, `kind: Stack
metadata: {name: extra}
spec: {realmId: ${realm}, spaceId: ${SPACE}}
---
kind: Cell
metadata: {name: once}
spec:
  realmId: ${realm}
  spaceId: ${SPACE}
  stackId: extra
  containers: [{id: job, image: ${IMAGE}, command: /bin/sh, args: ["-c", "echo done"]}]
---
kind: Secret
metadata: {name: token, realm: ${realm}, space: ${SPACE}}
spec: {data: s3cret}
`);
    expect((await keon(["apply", "-f", extra, "--wait"])).code).toBe(0);
    const secrets = await keon(["get", "secrets", "--realm", realm]);
    expect(secrets.out).toMatch(new RegExp(`^NAME\\s+SCOPE\\s+AGE\\ntoken\\s+${realm}/${SPACE}\\s`));
    expect((await keon(["get", "secret", "token", "--realm", realm, "--space", SPACE, "-o", "yaml"])).out).not.toContain("s3cret");

    const refused = await keon(["delete", "stack", "extra", "--realm", realm, "--space", SPACE]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/HAS_DEPENDENTS/);
    const byName = await keon(["delete", "cell", "once", "--realm", realm, "--space", SPACE, "--stack", "extra", "--wait"]);
    expect(byName).toEqual({ code: 0, out: "cell/once deleted\n", err: "" });
    const fromFile = await keon(["delete", "-f", extra, "--wait", "--ignore-not-found"]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.out).toBe("secret/token deleted\nstack/extra deleted\n");
    const gone = await keon(["delete", "cell", "once", "--realm", realm, "--space", SPACE, "--stack", "extra"]);
    expect(gone.code).toBe(1);
    expect(gone.err).toMatch(/^cell\/once: (STACK|CELL)_NOT_FOUND: /);
  });

  test("failures: unknown resource (1), bad flag (2), invalid manifest with field paths (1), unreachable keond (3)", async () => {
    const unknown = await keon(["get", "cell", "nope", ...SCOPE]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/^keon: CELL_NOT_FOUND: [^\n]*nope[^\n]*\n$/);

    const badFlag = await keon(["get", "cells", "--colour"]);
    expect(badFlag.code).toBe(2);
    expect(badFlag.err).toBe("keon: unknown flag --colour\nrun 'keon --help' for usage\n");
    expect((await keon(["get", "pods"])).code).toBe(2);

    const invalid = join(dir, "invalid.yaml");
    writeFileSync(invalid, `kind: Cell\nmetadata: {name: bad}\nspec:\n  realmId: ${realm}\n  spaceId: ${SPACE}\n  stackId: ${STACK}\n  containers: [{id: app, imagee: busybox}]\n`);
    const refused = await keon(["apply", "-f", invalid]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(invalid);
    expect(refused.err).toContain("spec.containers[0].imagee");
    // The headline, then the one issue on its own line with its line and column.
    expect(refused.err.trim().split("\n")).toEqual([
      `keon: INVALID_DOCUMENT: ${invalid}: invalid manifest (1 issue)`,
      expect.stringMatching(new RegExp(`^${invalid}:7:\\d+: spec\\.containers\\[0\\]\\.imagee: unknown field \\(did you mean 'image'\\?\\)$`)),
    ]);
    expect((await keon(["get", "cell", "bad", ...SCOPE])).code).toBe(1);

    const missingParent = await keon(["apply", "-f", "-"], { stdin: `kind: Stack\nmetadata: {name: s}\nspec: {realmId: ${realm}, spaceId: nowhere}\n` });
    expect(missingParent.code).toBe(1);
    expect(missingParent.err).toMatch(/SPACE_NOT_FOUND/);

    const unreachable = await keon(["get", "cells"], { env: { KEON_SOCKET: join(dir, "nobody.sock") } });
    expect(unreachable.code).toBe(3);
    expect(unreachable.err).toBe(`keon: cannot reach keond at unix://${join(dir, "nobody.sock")}: no socket there; start it with \`sudo keond --socket ${join(dir, "nobody.sock")}\`\n`);
    const verbose = await keon(["-v", "apply", "-f", manifestDir], { env: { KEON_SOCKET: join(dir, "nobody.sock") } });
    expect(verbose.code).toBe(3);
    expect(verbose.err).toContain("    at ");
  });

  test("version shows keon's and keond's versions", async () => {
    const version = await keon(["version"]);
    expect(version.code).toBe(0);
    expect(version.out).toMatch(/^Client: keon \d+\.\d+\.\d+ \(bun [\d.]+\)\nServer: keond \d+\.\d+\.\d+/);
    const json = JSON.parse((await keon(["version", "-o", "json"])).out) as { client: { keon: string }; server: { keon: string } };
    expect(json.server.keon).toBe(json.client.keon);
  });
});
