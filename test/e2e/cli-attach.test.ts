/**
 * `keon attach` against a real keond, containerd and runc: an attachable
 * shell cell (kukeon's `sh -i`) stays running on its terminal; attach through
 * a real pty (util-linux `script`), type, read, detach with ^]^], attach
 * again to the same process, two clients at once, a late client sees the
 * recent output, the output is in `keon logs`, and a restarted keond
 * reopens the console. The tty block's prompt and onInit stages (create
 * once, start every time) are honoured.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CONTAINERD_BINARIES, randomId, requireBinaries, requireRoot, RUN_ID, waitUntil } from "../harness/index.ts";
import { PtyKeon } from "../harness/pty-keon.ts";
import { startKeondSuite, stopKeondSuite, TEST_IMAGE, type KeondSuite } from "../harness/keond-suite.ts";
import { TEST_DIR_PREFIX } from "../harness/run-id.ts";
import { scopeManifest } from "../harness/scope-manifest.ts";
import { ownNetworkState, type OwnNetworkState } from "../harness/host-network.ts";
import { cgroupDirsOf } from "../integration/runtime-helpers.ts";

const SUITE = "keon CLI e2e: attach";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, "script", "ip", "iptables-save", "nft", "/usr/lib/cni/bridge"]);

const realm = `att${randomId(3)}`;
const SPACE = "web";
const STACK = "main";
const SCOPE = ["--realm", realm, "--space", SPACE, "--stack", STACK];
const DETACH = "\u001d\u001d";

const ownNetwork = () => ownNetworkState({ spaces: [[realm, SPACE]], realms: [realm] });
describe.skipIf(!ready)(SUITE, () => {
  let suite: KeondSuite;
  // The shell's bind mount: outside the suite's directory, allowed to keond by its policy.
  const workspace = `${TEST_DIR_PREFIX}attws-${RUN_ID}-${randomId()}`;
  const keon = (args: string[]) => suite.keon(args);
  const clients: PtyKeon[] = [];
  const attach = (...extra: string[]) => {
    const client = new PtyKeon(suite.keond.socket, ["attach", "shell", ...SCOPE, ...extra]);
    clients.push(client);
    return client;
  };
  let before: OwnNetworkState;

  beforeAll(async () => {
    before = await ownNetwork();
    mkdirSync(workspace, { recursive: true });
    suite = await startKeondSuite({ name: "att", realm, subnetCidr: "10.218.0.0/16", extraArgs: ["--policy-host-path-prefixes", workspace] });
    const manifest = `${scopeManifest(realm, SPACE, STACK)}kind: Cell
metadata: {name: shell}
spec:
  realmId: ${realm}
  spaceId: ${SPACE}
  stackId: ${STACK}
  containers:
    - id: sh
      image: ${TEST_IMAGE}
      command: /bin/sh
      args: ["-i"]
      attachable: true
      volumes: [{kind: bind, source: ${workspace}, target: /workspace}]
      tty:
        prompt: "keon-prompt> "
        onInit:
          - {script: "echo once >> /workspace/created.txt", runOn: create}
          - {script: "export GREETING=hi-from-init; echo start-stage-ran"}
`;
    const applied = await suite.keon(["apply", "-f", "-", "--wait"], manifest);
    expect(applied.err).toBe("");
    expect(applied.code).toBe(0);
  });

  afterAll(async () => {
    for (const client of clients) client.kill();
    try {
      if (suite !== undefined) {
        await stopKeondSuite(suite, async () => {
          expect(await ownNetwork()).toEqual(before);
          // The console's FIFOs, the tty state and the log went with the cell.
          expect(existsSync(join(suite.keond.runPath, "cells", realm, SPACE, STACK, "shell"))).toBe(false);
        });
        expect(cgroupDirsOf(suite.cd.cgroupParent)).toEqual([]);
      }
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });

  const cellState = async () =>
    (await suite.keond.api<{ status: { state: string } }>("GET", `/v1/realms/${realm}/spaces/${SPACE}/stacks/${STACK}/cells/shell`)).body.status.state;

  /** The shell's pid as the host sees it: the same process across attaches and keond restarts. */
  const hostPid = async () => (await suite.cd.client.withNamespace(suite.namespace).tasks.get("web_main_shell_sh")).pid;
  let shellPid = 0;

  test("the attachable `sh -i` cell stays Ready; attach shows the recent screen, runs a command, ^]^] detaches", async () => {
    expect(await cellState()).toBe("Ready");
    // keond drains the console with nobody attached: the start stage's output reaches the log.
    await waitUntil(async () => (await keon(["logs", "shell", ...SCOPE])).out.includes("start-stage-ran"), "the console's output in keon logs before any attach", 15_000, 200);
    const first = attach();
    // Printed before anyone attached: the ring gives it to this late client.
    await first.waitFor(/start-stage-ran[\s\S]*keon-prompt> /, "the start stage's output and the tty prompt");
    // A shell variable set now and read by later clients proves they reach this very shell.
    const [, greeting] = await first.ask("kept=kept-$((40+2)); echo answer-$GREETING-$((6*7))", /answer-(hi-from-init)-42/, "the shell's answer");
    expect(greeting).toBe("hi-from-init");
    shellPid = await hostPid();
    first.type(DETACH);
    expect(await first.close()).toBe(0);
    expect(first.out).toContain("detached from shell");
    expect(await cellState()).toBe("Ready");
    expect(readFileSync(join(workspace, "created.txt"), "utf8")).toBe("once\n");
  });

  test("attach again: the same process, and it saw what the first client typed", async () => {
    const again = attach("--container", "sh");
    await again.waitFor(/answer-hi-from-init-42/, "the earlier output from the ring");
    await again.ask("echo var-$kept", /var-kept-42/, "the variable the first client set");
    expect(await hostPid()).toBe(shellPid);
    again.type(DETACH);
    expect(await again.close()).toBe(0);
  });

  test("two clients at once both see what either types; the output is in keon logs", async () => {
    const a = attach();
    const b = attach();
    await a.waitFor(/keon-prompt> /, "a's prompt");
    await b.waitFor(/keon-prompt> /, "b's prompt");
    await a.ask("echo from-a-$((2+3))", /from-a-5/, "a's command in a");
    await b.waitFor(/from-a-5/, "a's command in b");
    await b.ask("echo from-b-$((3+4))", /from-b-7/, "b's command in b");
    await a.waitFor(/from-b-7/, "b's command in a");
    a.type(DETACH);
    b.type(DETACH);
    expect(await a.close()).toBe(0);
    expect(await b.close()).toBe(0);
    const logs = await keon(["logs", "shell", ...SCOPE]);
    expect(logs.code).toBe(0);
    for (const text of ["start-stage-ran", "answer-hi-from-init-42", "from-a-5", "from-b-7"]) expect(logs.out).toContain(text);
  });

  test("after a keond restart the console is reopened: the same process, and what it printed meanwhile reaches the ring and the log", async () => {
    const before = attach();
    // A background job of the shell prints once the test says keond is gone, and says it did.
    await before.ask(
      "(while [ ! -e /workspace/go ]; do sleep 0.1; done; echo while-away-$((5*5)); touch /workspace/echoed) & echo job-$((1+1))-started",
      /job-2-started/, "the background job",
    );
    before.type(DETACH);
    expect(await before.close()).toBe(0);
    expect(await suite.keond.stop()).toBe(0);
    writeFileSync(join(workspace, "go"), "");
    await waitUntil(() => existsSync(join(workspace, "echoed")), "the shell's output while keond was away", 15_000);
    await suite.keond.start();
    const after = attach();
    await after.waitFor(/while-away-25/, "the output printed while keond was away, from the ring");
    await after.ask("echo still-$kept", /still-kept-42/, "the same shell after the restart");
    expect(await hostPid()).toBe(shellPid);
    after.type(DETACH);
    expect(await after.close()).toBe(0);
    expect(await cellState()).toBe("Ready");
    expect((await keon(["logs", "shell", ...SCOPE])).out).toContain("while-away-25");
  });

  test("the process ending ends the attach with its exit code; the create stage stays done across restarts", async () => {
    const last = attach();
    await last.waitFor(/keon-prompt> /, "the prompt");
    last.type("exit 3\n");
    expect(await last.close()).toBe(3);
    expect((await keon(["restart", "cell", "shell", ...SCOPE, "--wait"])).code).toBe(0);
    const fresh = attach();
    await fresh.ask("echo new-[$kept]", /new-\[\]/, "the restarted shell (without the old one's variable)");
    expect(await hostPid()).not.toBe(shellPid);
    fresh.type(DETACH);
    expect(await fresh.close()).toBe(0);
    // The new instance's output goes to a new log; the last one's is --previous.
    const current = await keon(["logs", "shell", ...SCOPE]);
    expect(current.out).toMatch(/new-\[\]/);
    expect(current.out).not.toContain("from-a-5");
    expect((await keon(["logs", "shell", ...SCOPE, "--previous"])).out).toContain("from-a-5");
    expect(readFileSync(join(workspace, "created.txt"), "utf8")).toBe("once\n");
  });

  test("a stop hangs up the terminal: the interactive shell (which ignores SIGTERM) ends by SIGHUP, and every attached client with it; a stopped cell refuses an attach", async () => {
    const client = attach();
    await client.ask("echo before-stop-$((8*8))", /before-stop-64/, "the shell");
    const stopped = await keon(["stop", "cell", "shell", ...SCOPE, "--wait"]);
    expect(stopped.code).toBe(0);
    // 128 + SIGHUP, forwarded by the container's init: not the grace period's SIGKILL (137).
    expect(await client.close()).toBe(129);
    expect(await cellState()).toBe("Stopped");
    const refused = await keon(["attach", "shell", ...SCOPE]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/CONFLICT: container 'sh' of cell 'shell' is not running/);
    expect((await keon(["start", "cell", "shell", ...SCOPE, "--wait"])).code).toBe(0);
  });

  test("refusals: an unknown container, an unknown cell", async () => {
    const ghost = await keon(["attach", "shell", ...SCOPE, "-c", "ghost"]);
    expect(ghost.code).toBe(1);
    expect(ghost.err).toMatch(/CONTAINER_NOT_FOUND/);
    const missing = await keon(["attach", "nope", ...SCOPE]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/CELL_NOT_FOUND/);
  });
});
