import { afterEach, describe, expect, test } from "bun:test";
import { KeonError } from "../../../src/model/errors.ts";
import { addChain, CniExecutor, delChain, ipv4OfResult, pluginStdin, type CniResult } from "../../../src/network/cni-exec.ts";
import type { CniConflist } from "../../../src/network/conflist.ts";
import { runCommand } from "../../../src/network/run-command.ts";
import { FakePlugins } from "./fake-plugins.ts";

const fakes: FakePlugins[] = [];
afterEach(() => {
  for (const f of fakes.splice(0)) f.cleanup();
});
function plugins(): FakePlugins {
  const f = new FakePlugins();
  fakes.push(f);
  return f;
}

const conflist = (...types: string[]): CniConflist => ({
  cniVersion: "1.0.0",
  name: "keon.r.s",
  plugins: types.map((type) => (type === "pm" ? { type, capabilities: { portMappings: true } } : { type, someOption: 1 })),
});
const attachment = { containerId: "s_st_c_root", netns: "/proc/1/ns/net", ifName: "eth0" };
const mapping = { hostPort: 8080, containerPort: 80, protocol: "tcp" as const };

describe("pluginStdin", () => {
  const list = conflist("br", "pm");
  const prev: CniResult = { cniVersion: "1.0.0", ips: [{ address: "10.0.0.2/24" }] };

  test("injects name and cniVersion; prevResult only when chaining", () => {
    expect(pluginStdin(list, list.plugins[0]!, undefined, {})).toEqual({ type: "br", someOption: 1, name: "keon.r.s", cniVersion: "1.0.0" });
    expect(pluginStdin(list, list.plugins[0]!, prev, {})["prevResult"]).toEqual(prev);
  });

  test("runtimeConfig carries only the capabilities a plugin declares", () => {
    expect(pluginStdin(list, list.plugins[0]!, prev, { portMappings: [mapping] })["runtimeConfig"]).toBeUndefined();
    expect(pluginStdin(list, list.plugins[1]!, prev, { portMappings: [mapping] })["runtimeConfig"]).toEqual({ portMappings: [mapping] });
    expect(pluginStdin(list, list.plugins[1]!, prev, {})["runtimeConfig"]).toBeUndefined();
  });
});

describe("CniExecutor.exec", () => {
  test("passes the CNI environment and parses the result", async () => {
    const f = plugins().add("br", { kind: "ok", ip: "10.9.0.7" });
    const exec = new CniExecutor({ pluginDirs: ["/nonexistent", f.binDir] });
    const result = (await exec.exec("ADD", "br", pluginStdin(conflist("br"), { type: "br" }, undefined, {}), attachment)) as CniResult;
    expect(ipv4OfResult(result)).toBe("10.9.0.7");
    const [call] = f.calls();
    expect(call).toMatchObject({ command: "ADD", plugin: "br", containerId: "s_st_c_root", netns: "/proc/1/ns/net", ifName: "eth0", cniPath: `/nonexistent:${f.binDir}` });
    expect(call!.stdin).toEqual({ type: "br", name: "keon.r.s", cniVersion: "1.0.0" });
  });

  test("a CNI error object becomes NETWORK_ERROR naming the plugin", async () => {
    const f = plugins().add("br", { kind: "cni-error", code: 7, msg: "no such bridge", details: "kn123" });
    const err = (await new CniExecutor({ pluginDirs: [f.binDir] }).exec("ADD", "br", {}, attachment).catch((e: unknown) => e)) as KeonError;
    expect(err).toBeInstanceOf(KeonError);
    expect(err.code).toBe("NETWORK_ERROR");
    expect(err.message).toBe("CNI plugin br ADD failed: no such bridge: kn123 (CNI error 7)");
    expect(err.details).toMatchObject({ plugin: "br", command: "ADD", cniCode: 7, cniMsg: "no such bridge", cniDetails: "kn123" });
  });

  test("a plain failure reports stderr", async () => {
    const f = plugins().add("br", { kind: "stderr-error", text: "segfault-ish" });
    const err = (await new CniExecutor({ pluginDirs: [f.binDir] }).exec("DEL", "br", {}, attachment).catch((e: unknown) => e)) as KeonError;
    expect(err.message).toBe("CNI plugin br DEL failed: segfault-ish");
    expect(err.details?.["exitCode"]).toBe(2);
  });

  test("a hung plugin is killed at the deadline", async () => {
    const f = plugins().add("slow", { kind: "hang" });
    const started = Date.now();
    const err = (await new CniExecutor({ pluginDirs: [f.binDir], timeoutMs: 300 }).exec("ADD", "slow", {}, attachment).catch((e: unknown) => e)) as KeonError;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(err.code).toBe("NETWORK_ERROR");
    expect(err.details).toMatchObject({ plugin: "slow", timedOut: true });
  });

  test("a missing plugin or a type with a slash is NETWORK_ERROR before anything runs", async () => {
    const exec = new CniExecutor({ pluginDirs: ["/nonexistent-cni"] });
    const err = (await exec.exec("ADD", "bridge", {}, attachment).catch((e: unknown) => e)) as KeonError;
    expect(err.message).toBe("CNI plugin 'bridge' not found in /nonexistent-cni");
    expect(err.details?.["pluginMissing"]).toBe(true);
    expect(() => exec.findPlugin("../../bin/sh")).toThrow(KeonError);
  });
});

describe("chains", () => {
  test("ADD passes each plugin the previous result; DEL runs in reverse with the same prevResult", async () => {
    const f = plugins().add("br", { kind: "ok", ip: "10.9.0.4" }).add("pm", { kind: "passthrough" });
    const exec = new CniExecutor({ pluginDirs: [f.binDir] });
    const list = conflist("br", "pm");
    const seen: number[] = [];
    const outcome = await addChain(exec, list, attachment, { portMappings: [mapping] }, (_r, i) => {
      seen.push(i);
    });
    expect(outcome.ok).toBe(true);
    expect(seen).toEqual([0, 1]);
    const result = (outcome as { result: CniResult }).result;
    expect(ipv4OfResult(result)).toBe("10.9.0.4");
    const [add1, add2] = f.calls();
    expect(add1!.stdin["prevResult"]).toBeUndefined();
    expect(add2!.stdin["prevResult"]).toEqual(result);
    expect(add2!.stdin["runtimeConfig"]).toEqual({ portMappings: [mapping] });
    f.clearCalls();
    expect(await delChain(exec, list, attachment, result, { portMappings: [mapping] })).toEqual([]);
    const dels = f.calls();
    expect(dels.map((c) => `${c.command} ${c.plugin}`)).toEqual(["DEL pm", "DEL br"]);
    expect(dels.every((c) => JSON.stringify(c.stdin["prevResult"]) === JSON.stringify(result))).toBe(true);
  });

  test("ADD stops at the first failure and says where", async () => {
    const f = plugins().add("br", { kind: "ok" }).add("pm", { kind: "fail-add", msg: "iptables busy" });
    const outcome = await addChain(new CniExecutor({ pluginDirs: [f.binDir] }), conflist("br", "pm", "third"), attachment, {});
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.failedIndex).toBe(1);
    expect(ipv4OfResult(outcome.lastResult!)).toBe("10.9.0.2");
    expect(outcome.error.message).toContain("iptables busy");
  });

  test("DEL goes on after a failure and reports every one", async () => {
    const f = plugins().add("br", { kind: "ok" }).add("pm", { kind: "fail-del", msg: "cannot" });
    const failures = await delChain(new CniExecutor({ pluginDirs: [f.binDir] }), conflist("br", "pm"), attachment, undefined, {});
    expect(failures.map((e) => e.details?.["plugin"])).toEqual(["pm"]);
    expect(f.calls().map((c) => c.plugin)).toEqual(["pm", "br"]);
  });
});

describe("runCommand", () => {
  test("collects output and exit code; deadline kills", async () => {
    const ok = await runCommand(["sh", "-c", "cat; echo err >&2; exit 3"], { timeoutMs: 5000, stdin: "in" });
    expect(ok).toMatchObject({ exitCode: 3, stdout: "in", stderr: "err\n", timedOut: false });
    const slow = await runCommand(["sleep", "5"], { timeoutMs: 100 });
    expect(slow.timedOut).toBe(true);
    expect(slow.signalCode).toBe("SIGKILL");
  });

  test("a grandchild holding the pipes does not stall past the deadline", async () => {
    const started = Date.now();
    const run = await runCommand(["sh", "-c", "sleep 5 & echo started"], { timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(2500);
    expect(run.timedOut).toBe(true);
  });
});
