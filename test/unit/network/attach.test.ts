import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KeonError } from "../../../src/model/errors.ts";
import { NetworkAttacher } from "../../../src/network/attach.ts";
import { CniExecutor } from "../../../src/network/cni-exec.ts";
import type { CniConflist } from "../../../src/network/conflist.ts";
import { ResultCache } from "../../../src/network/result-cache.ts";
import { FakePlugins } from "./fake-plugins.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function setup(configure: (f: FakePlugins) => void, types = ["br", "pm"]) {
  const fakes = new FakePlugins();
  configure(fakes);
  const dir = mkdtempSync("/tmp/keon-unit-attach-");
  cleanups.push(() => fakes.cleanup(), () => rmSync(dir, { recursive: true, force: true }));
  const cache = new ResultCache(join(dir, "cache"));
  const attacher = new NetworkAttacher(new CniExecutor({ pluginDirs: [fakes.binDir] }), cache);
  const conflist: CniConflist = {
    cniVersion: "1.0.0",
    name: "keon.r.s",
    plugins: types.map((type) => (type === "pm" ? { type, capabilities: { portMappings: true } } : { type })),
  };
  const key = { networkName: "keon.r.s", containerId: "s_st_c_root", ifName: "eth0" };
  return { fakes, cache, attacher, conflist, key, dir };
}
const mapping = { hostPort: 8080, containerPort: 80, protocol: "tcp" as const };
const commands = (f: FakePlugins) => f.calls().map((c) => `${c.command} ${c.plugin}`);

describe("attach", () => {
  test("caches the final result before returning; a second attach for the same namespace runs nothing", async () => {
    const { fakes, cache, attacher, conflist, key, dir } = setup((f) => f.add("br", { kind: "ok", ip: "10.9.0.5" }).add("pm", { kind: "passthrough" }));
    // A plain file stands in for the namespace: reuse is keyed on its inode.
    const netns = join(dir, "netns-7");
    writeFileSync(netns, "");
    const first = await attacher.attach({ conflist, containerId: key.containerId, netns, portMappings: [mapping] });
    expect(first).toMatchObject({ ip: "10.9.0.5", reused: false });
    expect(cache.read(key)).toMatchObject({ complete: true, netns, runtimeConfig: { portMappings: [mapping] }, result: first.result });
    fakes.clearCalls();
    const second = await attacher.attach({ conflist, containerId: key.containerId, netns, portMappings: [mapping] });
    expect(second).toEqual({ ...first, reused: true });
    expect(commands(fakes)).toEqual([]);
    // Other ports: replaced.
    await attacher.attach({ conflist, containerId: key.containerId, netns, portMappings: [] });
    expect(commands(fakes)).toEqual(["DEL pm", "DEL br", "ADD br", "ADD pm"]);
  });

  test("the same path naming another namespace (a recycled pid) is not reused", async () => {
    const { fakes, attacher, conflist, key, dir } = setup((f) => f.add("br", { kind: "ok" }).add("pm", { kind: "passthrough" }));
    const netns = join(dir, "netns-7");
    writeFileSync(netns, "");
    await attacher.attach({ conflist, containerId: key.containerId, netns });
    // A new file renamed over the old one: both exist at once, so the inodes differ.
    writeFileSync(`${netns}.new`, "");
    renameSync(`${netns}.new`, netns);
    fakes.clearCalls();
    const again = await attacher.attach({ conflist, containerId: key.containerId, netns });
    expect(again.reused).toBe(false);
    expect(commands(fakes)).toEqual(["DEL pm", "DEL br", "ADD br", "ADD pm"]);
  });

  test("a new namespace (the cell restarted) replaces the old attachment: DEL with its cache, then ADD", async () => {
    const { fakes, attacher, conflist, key } = setup((f) => f.add("br", { kind: "ok" }).add("pm", { kind: "passthrough" }));
    const old = await attacher.attach({ conflist, containerId: key.containerId, netns: "/proc/7/ns/net" });
    fakes.clearCalls();
    await attacher.attach({ conflist, containerId: key.containerId, netns: "/proc/8/ns/net" });
    expect(commands(fakes)).toEqual(["DEL pm", "DEL br", "ADD br", "ADD pm"]);
    const del = fakes.calls()[0]!;
    expect(del.netns).toBe("/proc/7/ns/net");
    expect(del.stdin["prevResult"]).toEqual(old.result);
  });

  test("the partial result is cached before the next plugin runs", async () => {
    const { fakes, attacher, conflist, key, cache } = setup((f) => f.add("br", { kind: "ok", ip: "10.9.0.6" }));
    // pm snapshots the cache file while it runs, then passes the result through.
    const path = cache.pathOf(key);
    const snapshot = join(fakes.dir, "snapshot.json");
    fakes.add("pm", { kind: "script", body: `cat "${path}" > "${snapshot}"; printf '%s' "$input" | ${process.execPath} -e 'process.stdout.write(JSON.stringify(JSON.parse(await Bun.stdin.text()).prevResult))'` });
    await attacher.attach({ conflist, containerId: key.containerId, netns: "/proc/7/ns/net" });
    const during = JSON.parse(readFileSync(snapshot, "utf8"));
    expect(during).toMatchObject({ complete: false, result: { ips: [{ address: "10.9.0.6/24" }] } });
  });

  test("a failing plugin mid-chain rolls back the ones added, in reverse, and leaves no cache", async () => {
    const { fakes, attacher, conflist, key, cache } = setup((f) => f.add("br", { kind: "ok" }).add("pm", { kind: "fail-add", msg: "no iptables" }).add("third", { kind: "ok" }), ["br", "pm", "third"]);
    const err = (await attacher.attach({ conflist, containerId: key.containerId, netns: "/proc/7/ns/net" }).catch((e: unknown) => e)) as KeonError;
    expect(err).toBeInstanceOf(KeonError);
    expect(err.code).toBe("NETWORK_ERROR");
    expect(err.message).toContain("rolled back");
    expect(err.message).toContain("no iptables");
    expect(err.details?.["rolledBack"]).toBe(true);
    expect(commands(fakes)).toEqual(["ADD br", "ADD pm", "DEL pm", "DEL br"]);
    expect(fakes.calls()[3]!.stdin["prevResult"]).toMatchObject({ ips: [{ address: "10.9.0.2/24" }] });
    expect(cache.read(key)).toBeUndefined();
  });

  test("a missing plugin binary mid-chain: the ones before are rolled back, the missing one is not run", async () => {
    const { fakes, attacher, conflist, key, cache } = setup((f) => f.add("br", { kind: "ok" }));
    const err = (await attacher.attach({ conflist, containerId: key.containerId, netns: "/proc/7/ns/net", portMappings: [mapping] }).catch((e: unknown) => e)) as KeonError;
    expect(err.message).toContain("CNI plugin 'pm' not found");
    expect(commands(fakes)).toEqual(["ADD br", "DEL br"]);
    expect(cache.read(key)).toBeUndefined();
  });

  test("when the rollback fails too, the cache keeps what was added for a later detach", async () => {
    const { fakes, attacher, conflist, key, cache } = setup((f) => f.add("br", { kind: "fail-del", msg: "busy" }).add("pm", { kind: "fail-add", msg: "boom" }));
    const err = (await attacher.attach({ conflist, containerId: key.containerId, netns: "/proc/7/ns/net" }).catch((e: unknown) => e)) as KeonError;
    expect(err.details?.["rolledBack"]).toBe(false);
    expect(err.message).toContain("rollback failed");
    expect(cache.read(key)).toMatchObject({ complete: false, result: { ips: [{ address: "10.9.0.3/24" }] } });
    // Fixed later: detach finishes the job with the cached result.
    fakes.add("br", { kind: "ok" });
    fakes.clearCalls();
    expect(await attacher.detach({ conflist, containerId: key.containerId })).toEqual({ usedCache: true });
    expect(fakes.calls().map((c) => c.netns)).toEqual(["/proc/7/ns/net", "/proc/7/ns/net"]);
    expect(cache.read(key)).toBeUndefined();
  });
});

describe("detach", () => {
  test("uses the cached result and runtimeConfig, then removes the entry", async () => {
    const { fakes, attacher, conflist, key, cache } = setup((f) => f.add("br", { kind: "ok" }).add("pm", { kind: "passthrough" }));
    const { result } = await attacher.attach({ conflist, containerId: key.containerId, netns: "/proc/7/ns/net", portMappings: [mapping] });
    fakes.clearCalls();
    expect(await attacher.detach({ conflist, containerId: key.containerId })).toEqual({ usedCache: true });
    const [pm, br] = fakes.calls();
    expect(pm!.stdin).toMatchObject({ prevResult: result, runtimeConfig: { portMappings: [mapping] } });
    expect(br!.stdin["prevResult"]).toEqual(result);
    expect(cache.read(key)).toBeUndefined();
  });

  test("without a cache entry DEL still runs (no prevResult) and succeeds, twice", async () => {
    const { fakes, attacher, conflist, key } = setup((f) => f.add("br", { kind: "ok" }).add("pm", { kind: "passthrough" }));
    expect(await attacher.detach({ conflist, containerId: key.containerId, portMappings: [mapping] })).toEqual({ usedCache: false });
    expect(await attacher.detach({ conflist, containerId: key.containerId })).toEqual({ usedCache: false });
    const calls = fakes.calls();
    expect(calls.map((c) => `${c.command} ${c.plugin}`)).toEqual(["DEL pm", "DEL br", "DEL pm", "DEL br"]);
    expect(calls.every((c) => c.stdin["prevResult"] === undefined)).toBe(true);
    expect(calls[0]!.stdin["runtimeConfig"]).toEqual({ portMappings: [mapping] });
  });

  test("a failed DEL keeps the entry and throws NETWORK_ERROR", async () => {
    const { fakes, attacher, conflist, key, cache } = setup((f) => f.add("br", { kind: "ok" }).add("pm", { kind: "passthrough" }));
    await attacher.attach({ conflist, containerId: key.containerId, netns: "/proc/7/ns/net" });
    fakes.add("pm", { kind: "fail-del", msg: "locked" });
    const err = (await attacher.detach({ conflist, containerId: key.containerId }).catch((e: unknown) => e)) as KeonError;
    expect(err.code).toBe("NETWORK_ERROR");
    expect(err.message).toContain("locked");
    expect(cache.read(key)?.complete).toBe(true);
  });

  test("an unreadable entry does not block DEL; the problem is reported", async () => {
    const { fakes, attacher, conflist, key, cache } = setup((f) => f.add("br", { kind: "ok" }).add("pm", { kind: "passthrough" }));
    await attacher.attach({ conflist, containerId: key.containerId, netns: "/proc/7/ns/net" });
    writeFileSync(cache.pathOf(key), "{torn");
    fakes.clearCalls();
    const outcome = await attacher.detach({ conflist, containerId: key.containerId, netns: "/proc/7/ns/net" });
    expect(outcome.usedCache).toBe(false);
    expect(outcome.cacheProblem).toContain("unreadable");
    expect(commands(fakes)).toEqual(["DEL pm", "DEL br"]);
    expect(existsSync(cache.pathOf(key))).toBe(false);
  });
});
