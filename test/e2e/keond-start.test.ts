import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { requireBinaries, requireRoot } from "../harness/binaries.ts";
import { unmountUnder } from "../harness/mounts.ts";
import { isAlive, waitForExit } from "../harness/processes.ts";

const ready = requireRoot("keond e2e") && requireBinaries("keond e2e", ["containerd", "runc"]);
const repo = join(import.meta.dir, "..", "..");

async function waitForSocket(path: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (existsSync(path)) return;
    await Bun.sleep(50);
  }
  throw new Error(`no socket at ${path} after ${timeoutMs} ms`);
}

describe.skipIf(!ready)("keond as a process", () => {
  const dir = mkdtempSync("/tmp/keon-test-keond-");
  const socket = join(dir, "keond.sock");
  const runPath = join(dir, "run");
  const logPath = join(dir, "keond.log");
  let keond: ReturnType<typeof Bun.spawn> | undefined;

  afterAll(async () => {
    if (keond && keond.exitCode === null) {
      keond.kill("SIGKILL");
      await keond.exited;
    }
    const containerdPid = Number(Bun.spawnSync(["pgrep", "-f", `${runPath}/containerd/config.toml`]).stdout.toString().trim() || 0);
    if (containerdPid > 0) process.kill(containerdPid, "SIGKILL");
    unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  test("starts with a managed containerd, serves the API on a 0660 socket and stops on SIGTERM", async () => {
    keond = Bun.spawn([process.execPath, "run", join(repo, "src/daemon/main.ts"), "--run-path", runPath, "--socket", socket], {
      stdout: Bun.file(logPath),
      stderr: Bun.file(logPath),
    });
    await waitForSocket(socket, 30_000);
    expect(statSync(socket).mode & 0o777).toBe(0o660);
    const health = await fetch("http://keond/healthz", { unix: socket });
    expect(await health.json()).toEqual({ status: "ok" });
    const readiness = await fetch("http://keond/readyz", { unix: socket });
    expect(readiness.status).toBe(200);
    expect(((await readiness.json()) as { containerd: string }).containerd).toMatch(/^1\.6/);
    const instance = JSON.parse(readFileSync(join(runPath, ".keon-instance.json"), "utf8"));
    expect(instance).toMatchObject({ containerdNamespaceSuffix: "keon", cgroupRoot: "/keon" });

    const missing = await fetch("http://keond/v1/nothing", { unix: socket });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");

    const containerdPid = Number(Bun.spawnSync(["pgrep", "-f", `${runPath}/containerd/config.toml`]).stdout.toString().trim());
    expect(containerdPid).toBeGreaterThan(0);
    keond.kill("SIGTERM");
    expect(await keond.exited).toBe(0);
    expect(await waitForExit(containerdPid, 10_000)).toBe(true);
    expect(isAlive(containerdPid)).toBe(false);
  });

  test("refuses to start when the run path was made with another cgroup root", async () => {
    const other = Bun.spawnSync([process.execPath, "run", join(repo, "src/daemon/main.ts"), "--run-path", runPath, "--socket", socket, "--cgroup-root", "/elsewhere"]);
    expect(other.exitCode).not.toBe(0);
    expect(other.stderr.toString()).toContain("INSTANCE_MISMATCH");
    expect(other.stderr.toString()).toContain("/elsewhere");
  });

  test("refuses to start (exit 2, naming the route) when its subnet pool overlaps a route the host already has", async () => {
    const routes = JSON.parse(Bun.spawnSync(["ip", "-4", "-j", "route", "show", "table", "main"]).stdout.toString()) as Array<{ dst: string; dev?: string }>;
    // A network the host reaches through a device that is not a Keon bridge (the machine's own uplink, typically).
    const foreign = routes.find((r) => r.dst !== "default" && r.dst.includes("/") && !(r.dev ?? "").startsWith("kn"));
    expect(foreign).toBeDefined();
    const refused = Bun.spawnSync([process.execPath, "run", join(repo, "src/daemon/main.ts"), "--run-path", join(dir, "pool-run"), "--socket", join(dir, "pool.sock"), "--subnet-pool-cidr", foreign!.dst]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr.toString()).toContain("overlaps route(s) the host already has");
    expect(refused.stderr.toString()).toContain(foreign!.dst);
    expect(existsSync(join(dir, "pool.sock"))).toBe(false);
  });
});
