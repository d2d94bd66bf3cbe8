import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildOciSpec } from "../../../src/oci/spec.ts";
import { createGateOf, needsTtyWrapper, shellQuote, TERMINAL_INIT, TTY_STATE_DIR, ttyProcessArgs, ttyWrapperScript } from "../../../src/oci/tty-wrapper.ts";
import { container, ctx, host, image } from "./fixtures.ts";

type Tty = Parameters<typeof ttyWrapperScript>[0];

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs the wrapper with the host's /bin/sh, its state directory in a temp dir, the workload a printf. */
function runWrapper(tty: Tty, stateDir?: string): { code: number; out: string; err: string; stateDir: string } {
  const dir = stateDir ?? mkdtempSync(join(tmpdir(), "keon-tty-"));
  if (stateDir === undefined) dirs.push(dir);
  const child = Bun.spawnSync(["/bin/sh", "-c", ttyWrapperScript(tty, dir), "keon-tty", "/bin/sh", "-c", 'printf "workload %s %s %s\\n" "$1" "$GREETING" "$(printenv PS1)"', "wl", "arg1"], {
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" },
  });
  return { code: child.exitCode ?? -1, out: child.stdout.toString(), err: child.stderr.toString(), stateDir: dir };
}

describe("tty wrapper", () => {
  test("only an attachable container with a prompt, a stage or a log file is wrapped", () => {
    expect(needsTtyWrapper({ attachable: true })).toBe(false);
    expect(needsTtyWrapper({ attachable: true, tty: { onInit: [{ script: "  " }] } })).toBe(false);
    expect(needsTtyWrapper({ attachable: false, tty: { prompt: "$ " } })).toBe(false);
    expect(needsTtyWrapper({ attachable: true, tty: { prompt: "$ " } })).toBe(true);
    expect(needsTtyWrapper({ attachable: true, tty: { logFile: "/var/log/t.log" } })).toBe(true);
    expect(needsTtyWrapper({ attachable: true, tty: { onInit: [{ script: "echo hi" }] } })).toBe(true);
    expect(ttyProcessArgs({ attachable: true }, ["sh", "-i"], false)).toEqual(["sh", "-i"]);
    const wrapped = ttyProcessArgs({ attachable: true, tty: { prompt: "$ " } }, ["sh", "-i"], false);
    expect(wrapped.slice(0, 2)).toEqual(["/bin/sh", "-c"]);
    expect(wrapped.slice(3)).toEqual(["keon-tty", "sh", "-i"]);
  });

  test("an attachable container runs under the init when the host gives one; others never do", () => {
    expect(ttyProcessArgs({ attachable: true }, ["sh", "-i"], true)).toEqual([TERMINAL_INIT, "--", "sh", "-i"]);
    const wrapped = ttyProcessArgs({ attachable: true, tty: { prompt: "$ " } }, ["sh", "-i"], true);
    expect(wrapped.slice(0, 4)).toEqual([TERMINAL_INIT, "--", "/bin/sh", "-c"]);
    expect(ttyProcessArgs({ attachable: false }, ["sh"], true)).toEqual(["sh"]);
    const spec = buildOciSpec(container({ attachable: true }), ctx({ terminalInit: "/var/lib/keon/pause/rootfs-x/catatonit" }), image(), host());
    expect(spec.process.args).toEqual([TERMINAL_INIT, "--", "sh"]);
    expect(spec.mounts.find((m) => m.destination === TERMINAL_INIT)).toEqual({
      destination: TERMINAL_INIT, type: "bind", source: "/var/lib/keon/pause/rootfs-x/catatonit", options: ["bind", "rprivate", "ro", "nosuid", "nodev"],
    });
    const plain = buildOciSpec(container({}), ctx({ terminalInit: "/x" }), image(), host());
    expect(plain.process.args).toEqual(["sh"]);
    expect(plain.mounts.some((m) => m.destination === TERMINAL_INIT)).toBe(false);
  });

  test("shellQuote survives quotes and newlines", () => {
    const text = "it's \"x\"\n$HOME `id`";
    expect(Bun.spawnSync(["/bin/sh", "-c", `printf %s ${shellQuote(text)}`]).stdout.toString()).toBe(text);
  });

  test("start stages run every time in the wrapper's shell (exports reach the workload), then the prompt and the workload's argv", () => {
    const tty: Tty = { prompt: "it's> ", onInit: [{ script: "export GREETING=hello" }, { script: "echo start-two", runOn: "start" }] };
    const first = runWrapper(tty);
    expect(first).toMatchObject({ code: 0, err: "" });
    expect(first.out).toBe("start-two\nworkload arg1 hello it's> \n");
    const log = readFileSync(join(first.stateDir, "tty.log"), "utf8");
    expect(log).toMatch(/^\S+Z keon-tty info: onInit\[0\] \(start\): running\n\S+Z keon-tty info: onInit\[1\] \(start\): running\n$/);
  });

  test("create stages run once, in order, before the start stages; an edited stage runs again", () => {
    const tty: Tty = { onInit: [{ script: "echo start" }, { script: "echo create-a", runOn: "create" }, { script: "echo create-b", runOn: "create" }] };
    const first = runWrapper(tty);
    expect(first.out).toBe("create-a\ncreate-b\nstart\nworkload arg1  \n");
    expect(readdirSync(first.stateDir).filter((f) => f.endsWith(".done")).sort()).toEqual(
      [createGateOf(1, "echo create-a", first.stateDir), createGateOf(2, "echo create-b", first.stateDir)].map((p) => p.split("/").pop() ?? "").sort(),
    );
    expect(runWrapper(tty, first.stateDir).out).toBe("start\nworkload arg1  \n");
    const edited: Tty = { onInit: [{ script: "echo start" }, { script: "echo create-a", runOn: "create" }, { script: "echo create-b2", runOn: "create" }] };
    expect(runWrapper(edited, first.stateDir).out).toBe("create-b2\nstart\nworkload arg1  \n");
  });

  test("a failing create stage stops the start with its status and leaves no gate; a failing start stage is logged and the start goes on", () => {
    const failing = runWrapper({ onInit: [{ script: "echo trying; exit 4", runOn: "create" }] });
    expect(failing.code).toBe(4);
    expect(failing.out).toBe("trying\n");
    expect(failing.err).toBe("keon: onInit[0] (create) failed with exit status 4\n");
    expect(readdirSync(failing.stateDir).some((f) => f.endsWith(".done"))).toBe(false);
    expect(readFileSync(join(failing.stateDir, "tty.log"), "utf8")).toContain("keon-tty error: onInit[0] (create) failed with exit status 4");

    const goesOn = runWrapper({ onInit: [{ script: "false" }, { script: "if then" }] });
    expect(goesOn.code).toBe(0);
    expect(goesOn.out).toBe("workload arg1  \n");
    const log = readFileSync(join(goesOn.stateDir, "tty.log"), "utf8");
    expect(log).toContain("keon-tty warn: onInit[0] (start) exited with status 1");
    expect(log).toMatch(/keon-tty warn: onInit\[1\] \(start\) exited with status [1-9]/);
  });

  test("logFile and logLevel: the wrapper's lines go where asked, filtered", () => {
    const dir = mkdtempSync(join(tmpdir(), "keon-tty-log-"));
    dirs.push(dir);
    const logFile = join(dir, "deep", "wrapper.log");
    const quiet = runWrapper({ logFile, logLevel: "warn", onInit: [{ script: "true" }] });
    expect(quiet.code).toBe(0);
    expect(existsSync(logFile)).toBe(false);
    const chatty = runWrapper({ logFile, logLevel: "debug", onInit: [{ script: "true" }] });
    expect(chatty.code).toBe(0);
    const lines = readFileSync(logFile, "utf8").trim().split("\n").map((l) => l.replace(/^\S+ /, ""));
    expect(lines).toEqual([
      "keon-tty debug: starting /bin/sh -c printf \"workload %s %s %s\\n\" \"$1\" \"$GREETING\" \"$(printenv PS1)\" wl arg1",
      "keon-tty info: onInit[0] (start): running",
      "keon-tty debug: exec /bin/sh -c printf \"workload %s %s %s\\n\" \"$1\" \"$GREETING\" \"$(printenv PS1)\" wl arg1",
    ]);
  });

  test("the OCI spec: an attachable container gets a terminal; a wrapped one its state directory at /run/keon/tty", () => {
    const plain = buildOciSpec(container({ attachable: true }), ctx({ ttyStateDir: "/run/x/sh.tty" }), image(), host());
    expect(plain.process.terminal).toBe(true);
    expect(plain.mounts.some((m) => m.destination === TTY_STATE_DIR)).toBe(false);
    const wrapped = buildOciSpec(container({ attachable: true, tty: { prompt: "> " } }), ctx({ ttyStateDir: "/run/x/sh.tty" }), image(), host());
    expect(wrapped.process.args[0]).toBe("/bin/sh");
    expect(wrapped.mounts.find((m) => m.destination === TTY_STATE_DIR)).toEqual({
      destination: TTY_STATE_DIR, type: "bind", source: "/run/x/sh.tty", options: ["rbind", "rprivate", "rw", "nosuid", "nodev"],
    });
    expect("terminal" in buildOciSpec(container({}), ctx(), image(), host()).process).toBe(false);
  });
});
