/**
 * The `keon` binary against a real keond for what goes beyond documents:
 * exec (plain, with stdin, and `-it` on a real pty driven through
 * util-linux `script`, with a window resize), top, status and images.
 * Needs keond to serve api/exec-route.ts, top-route.ts, status-route.ts and
 * images-route.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { importImageArchive } from "../../src/containerd/image-import.ts";
import {
  buildBusyboxImage, CONTAINERD_BINARIES, randomId, requireBinaries, requireRoot, RUN_ID, startContainerd, unmountUnder, waitUntil,
  type TestContainerd,
} from "../harness/index.ts";
import { KeondProcess } from "../harness/keond.ts";
import { KEON_CLI, runKeon, type KeonRun, type KeonRunOptions } from "../harness/keon-cli.ts";
import { TEST_DIR_PREFIX } from "../harness/run-id.ts";
import { scopeManifest } from "../harness/scope-manifest.ts";
import { ownNetworkState, type OwnNetworkState } from "../harness/host-network.ts";
import { cgroupDirsOf } from "../integration/runtime-helpers.ts";

const SUITE = "keon CLI e2e: exec, top, status, images";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, "script", "stty", "ip", "iptables-save", "nft", "/usr/lib/cni/bridge"]);

const IMAGE = "keon.test/busybox:latest";
const realm = `clx${randomId(3)}`;
const SPACE = "web";
const STACK = "main";
const SCOPE = ["--realm", realm, "--space", SPACE, "--stack", STACK];

type Run = KeonRun;

/** What of this suite's own network the host shows (see test/harness/host-network.ts): nothing before, nothing after. */
const ownNetwork = () => ownNetworkState({ spaces: [[realm, SPACE]], realms: [realm] });

const shQuote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

describe.skipIf(!ready)(SUITE, () => {
  let cd: TestContainerd;
  let keond: KeondProcess;
  let archive: string;
  const dir = `${TEST_DIR_PREFIX}clx-${RUN_ID}-${randomId()}`;
  const tcpPort = 20_000 + Math.floor(Math.random() * 30_000);

  const keon = (args: string[], options: KeonRunOptions = {}): Promise<Run> => runKeon(keond.socket, args, options);

  let before: OwnNetworkState;

  beforeAll(async () => {
    before = await ownNetwork();
    cd = await startContainerd();
    archive = await buildBusyboxImage();
    await importImageArchive(cd.client.withNamespace(`${realm}.e2e`), archive, { name: IMAGE });
    keond = new KeondProcess({
      dir, containerdSocket: cd.socket, cgroupRoot: cd.cgroupParent, subnetCidr: "10.217.0.0/16",
      extraArgs: ["--tcp-listen", `127.0.0.1:${tcpPort}`, "--token-file", join(dir, "token")],
    });
    writeFileSync(join(dir, "token"), "cli-e2e-token\n", { mode: 0o600 });
    await keond.start();
    const manifest = `${scopeManifest(realm, SPACE, STACK)}kind: Cell
metadata: {name: shell}
spec:
  realmId: ${realm}
  spaceId: ${SPACE}
  stackId: ${STACK}
  tty: {default: app}
  containers:
    - {id: app, image: ${IMAGE}, command: /bin/sh, args: ["-c", "trap 'exit 0' TERM; while true; do sleep 1; done"], env: ["GREETING=hello"], workingDir: /tmp, attachable: true}
    - {id: burner, image: ${IMAGE}, command: /bin/sh, args: ["-c", "trap 'exit 0' TERM; while true; do :; done"]}
`;
    const applied = await keon(["apply", "-f", "-", "--wait"], { stdin: manifest });
    expect(applied.err).toBe("");
    expect(applied.code).toBe(0);
  });

  afterAll(async () => {
    try {
      if (keond?.pid !== undefined) {
        expect((await keon(["delete", "realm", realm, "--cascade", "--wait", "--ignore-not-found"])).code).toBe(0);
        expect(await keond.stop()).toBe(0);
      }
    } finally {
      await keond?.crash();
      unmountUnder(dir);
      const execDirs = existsSync(join(keond.runPath, "exec")) ? readdirSync(join(keond.runPath, "exec")) : [];
      const after = await ownNetwork();
      await cd?.stop();
      keond?.remove();
      expect(after).toEqual(before);
      expect(execDirs).toEqual([]);
      if (cd) expect(cgroupDirsOf(cd.cgroupParent)).toEqual([]);
    }
  });

  test("exec runs in the container with its env and cwd; stdout, stderr and the exit code come back", async () => {
    const run = await keon(["exec", "shell", ...SCOPE, "--", "sh", "-c", 'echo "$GREETING from $(pwd)"; echo oops >&2; exit 7']);
    expect(run).toEqual({ code: 7, out: "hello from /tmp\n", err: "oops\n" });
    const other = await keon(["exec", "shell", "-c", "burner", ...SCOPE, "--", "cat", "/proc/1/cmdline"]);
    expect(other.code).toBe(0);
    expect(other.out).toContain("while true; do :; done");
  });

  test("exec -i passes stdin through to EOF", async () => {
    const run = await keon(["exec", "shell", "-i", ...SCOPE, "--", "sh", "-c", "tr a-z A-Z; echo end"], { stdin: "hello\nworld\n" });
    expect(run).toEqual({ code: 0, out: "HELLO\nWORLD\nend\n", err: "" });
  });

  test("exec -it on a real pty: raw mode, the terminal's size, a resize (SIGWINCH) and the exit code", async () => {
    const trigger = join(dir, "resize-now");
    // The pty is `script`'s; a background job resizes it when the test says so, and the
    // kernel sends SIGWINCH to keon in the foreground.
    const inner = [
      "stty cols 77 rows 19",
      `(while [ ! -e ${shQuote(trigger)} ]; do sleep 0.05; done; stty -F /dev/tty cols 100 rows 30) &`,
      `exec ${shQuote(process.execPath)} run ${shQuote(KEON_CLI)} exec shell -it ${SCOPE.join(" ")} -- sh`,
    ].join("\n");
    const child = Bun.spawn(["script", "-qfec", inner, "/dev/null"], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, KEON_SOCKET: keond.socket, TERM: "xterm" },
    });
    let out = "";
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stdout) out += decoder.decode(chunk, { stream: true });
    })();
    const type = (text: string) => {
      child.stdin.write(text);
      child.stdin.flush();
    };
    try {
      await waitUntil(() => out.includes("# "), "the remote shell's prompt", 20_000);
      type("stty size; tty; echo marker-$((6*7))\n");
      await waitUntil(() => out.includes("marker-42"), "the first answers", 10_000);
      expect(out).toMatch(/19 77\r*\n/);
      expect(out).toMatch(/\/dev\/pts\/\d+/);
      writeFileSync(trigger, "");
      // The resize lands when the background job sees the trigger: ask until the remote side reports it.
      await waitUntil(() => {
        if (/30 100\r*\n/.test(out)) return true;
        type("stty size\n");
        return false;
      }, "the remote terminal's size after the resize (30 100)", 10_000, 250);
      // Raw mode: a Ctrl-C goes to the remote shell (which survives it) instead of killing keon.
      // A ^C sent before the shell started `sleep` only clears its line: send it until the shell answers
      // (an echo computed remotely, so the pty's echo of the typed line does not count) well before 30 s.
      type("sleep 30\n");
      await waitUntil(() => {
        if (out.includes("after-2-interrupt")) return true;
        type("\u0003");
        type("echo after-$((1+1))-interrupt\n");
        return false;
      }, "the shell answering after ^C (sleep 30 interrupted)", 10_000, 300);
      type("exit 42\n");
      expect(await child.exited).toBe(42);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await reading;
    }
  });

  test("exec failures: unknown cell (1), missing command (2), a command that does not exist (127), a stopped cell (1)", async () => {
    const unknown = await keon(["exec", "nope", ...SCOPE, "--", "true"]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/^keon: CELL_NOT_FOUND: /);
    expect((await keon(["exec", "shell", ...SCOPE])).code).toBe(2);
    const notFound = await keon(["exec", "shell", ...SCOPE, "--", "/no/such/binary"]);
    expect(notFound.code).toBe(127);
    expect(notFound.err).toContain("/no/such/binary");
    expect((await keon(["exec", "shell", "-c", "ghost", ...SCOPE, "--", "true"])).err).toMatch(/CONTAINER_NOT_FOUND/);
    expect((await keon(["stop", "cell", "shell", ...SCOPE, "--wait"])).code).toBe(0);
    const stopped = await keon(["exec", "shell", ...SCOPE, "--", "true"]);
    expect(stopped.code).toBe(1);
    expect(stopped.err).toMatch(/^keon: CONFLICT: container 'app' of cell 'shell' is not running/);
    expect((await keon(["start", "cell", "shell", ...SCOPE, "--wait"])).code).toBe(0);
  });

  test("over TCP with the bearer token: get and exec (the WebSocket carries the token); without it, refused", async () => {
    const tcp = { KEON_SOCKET: "", KEON_HOST: `tcp://127.0.0.1:${tcpPort}`, KEON_TOKEN: "cli-e2e-token" };
    expect((await keon(["get", "cells", ...SCOPE, "-o", "name"], { env: tcp })).out).toBe(`cell/${realm}/${SPACE}/${STACK}/shell\n`);
    expect(await keon(["exec", "shell", ...SCOPE, "--", "echo", "over tcp"], { env: tcp })).toEqual({ code: 0, out: "over tcp\n", err: "" });
    const refused = await keon(["get", "cells", ...SCOPE], { env: { ...tcp, KEON_TOKEN: "wrong" } });
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/UNAUTHORIZED.*KEON_TOKEN/);
    const execRefused = await keon(["exec", "shell", ...SCOPE, "--", "true"], { env: { ...tcp, KEON_TOKEN: "wrong" } });
    expect(execRefused.code).toBe(1);
    expect(execRefused.err).toMatch(/UNAUTHORIZED.*KEON_TOKEN/);
  });

  test("top shows CPU, memory and pids from the containers' cgroups", async () => {
    const top = await keon(["top", "cell", "shell", ...SCOPE]);
    expect(top.code).toBe(0);
    expect(top.out).toMatch(/^CELL\s+CONTAINER\s+RUNNING\s+CPU\s+MEMORY\s+MEM LIMIT\s+PIDS\s+PIDS LIMIT\n/);
    const burner = top.out.split("\n").find((l) => /\sburner\s/.test(l)) ?? "";
    // A busy loop: most of a CPU.
    const cpu = Number(/yes\s+(\d+)m/.exec(burner)?.[1] ?? "0");
    expect(cpu).toBeGreaterThan(300);
    // app is attachable: its init (catatonit) is one pid more than the shell and its sleep.
    expect(top.out).toMatch(/shell\s+app\s+yes\s+\d+m\s+[\d.]+(B|Ki|Mi)\s+\S+\s+[1-3]\s/);
    const json = JSON.parse((await keon(["top", "cell", "shell", ...SCOPE, "-o", "json", "--sample", "100"])).out) as { containers: { name: string; pids: { current: number } | null }[] };
    expect(json.containers.map((c) => c.name)).toEqual(["app", "burner"]);
    expect(json.containers[0]?.pids?.current).toBeGreaterThanOrEqual(1);
    expect((await keon(["top", "cell", "nope", ...SCOPE])).code).toBe(1);
    expect((await keon(["top", "stack", STACK, ...SCOPE])).code).toBe(2);
  });

  test("status: each part with ok, degraded or missing, and hints", async () => {
    const status = await keon(["status"]);
    expect([0, 1]).toContain(status.code);
    expect(status.out).toMatch(/^keond at unix:\/\/\S+: (ok|degraded|missing)\nCOMPONENT\s+STATUS\s+DETAIL\n/);
    for (const part of ["daemon", "containerd", "cgroups", "cni", "nftables"]) expect(status.out).toMatch(new RegExp(`\\n${part}\\s+(ok|degraded|missing)\\s`));
    expect(status.out).toMatch(/\ncontainerd\s+ok\s+1\.6/);
    expect(status.out).toMatch(/\ncni\s+ok\s/);
    const json = JSON.parse((await keon(["status", "-o", "json"])).out) as { components: { name: string }[] };
    expect(json.components.map((c) => c.name)).toEqual(["daemon", "containerd", "cgroups", "cni", "nftables", "checkpoint"]);
    const unreachable = await keon(["status"], { env: { KEON_SOCKET: join(dir, "nobody.sock") } });
    expect(unreachable.code).toBe(3);
  });

  test("image import (plain progress lines off a terminal), ls, get, rm; and their failures", async () => {
    const imported = await keon(["image", "import", archive, "--name", "keon.test/other:1", "--realm", realm]);
    expect(imported.code).toBe(0);
    expect(imported.out).toMatch(/^image\/keon\.test\/other:1 imported \(sha256:[0-9a-f]{12}, 0 new blobs, 3 present\)\n$/);
    expect(imported.err).toMatch(/^uploading busybox-oci\.tar: [\d.]+(Ki|Mi)\n(.*\n)*unpacked into realm /);
    expect(imported.err).not.toContain("\r");

    const listed = await keon(["image", "ls", "--realm", realm]);
    expect(listed.out).toMatch(/^NAME\s+DIGEST\s+SIZE\s+CELLS\s+AGE\n/);
    expect(listed.out).toMatch(/keon\.test\/busybox:latest\s+sha256:[0-9a-f]{12}\s+[\d.]+Mi/);
    expect(listed.out).toContain("keon.test/other:1");
    expect((await keon(["get", "images", "-A"])).out).toMatch(new RegExp(`\\n${realm}\\s+keon\\.test/other:1\\s`));
    const one = JSON.parse((await keon(["get", "image", "keon.test/other:1", "--realm", realm, "-o", "json"])).out) as { name: string };
    expect(one.name).toBe("keon.test/other:1");

    expect(await keon(["image", "rm", "keon.test/other:1", "--realm", realm])).toEqual({ code: 0, out: "image/keon.test/other:1 removed\n", err: "" });
    const again = await keon(["image", "rm", "keon.test/other:1", "--realm", realm]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/IMAGE_NOT_FOUND/);

    expect((await keon(["image", "import", join(dir, "missing.tar"), "--realm", realm])).code).toBe(2);
    const junk = join(dir, "junk.tar");
    writeFileSync(junk, "not a tar".repeat(200));
    const bad = await keon(["image", "import", junk, "--name", "x:1", "--realm", realm]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/IMAGE_IMPORT_FAILED/);
    // A registry that is not there (a loopback port nothing listens on): the pull fails, naming it; nothing leaves the host.
    const pull = await keon(["image", "pull", "127.0.0.1:1/busybox:latest", "--realm", realm]);
    expect(pull.code).toBe(1);
    expect(pull.err).toContain("127.0.0.1:1");
    expect((await keon(["image", "frob"])).code).toBe(2);
    expect((await keon(["image", "ls", "--realm", "nope"])).err).toMatch(/REALM_NOT_FOUND/);
  });

  test("completion scripts come out for each shell; bash's parses", async () => {
    const bash = await keon(["completion", "bash"]);
    expect(bash.code).toBe(0);
    const file = join(dir, "keon.bash");
    writeFileSync(file, bash.out);
    expect(Bun.spawnSync(["bash", "-n", file]).exitCode).toBe(0);
    expect((await keon(["completion", "zsh"])).out).toStartWith("#compdef keon");
    expect((await keon(["completion", "fish"])).out).toContain("complete -c keon");
    expect((await keon(["__complete", "cells", "--realm", realm, "--space", SPACE, "--stack", STACK])).out).toBe("shell\n");
    expect((await keon(["completion", "powershell"])).code).toBe(2);
  });
});
