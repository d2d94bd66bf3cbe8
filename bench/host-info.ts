/**
 * @module
 * What a benchmark's figures depend on, printed with them so two runs can be
 * compared only when they were taken on comparable hosts.
 */
import { cpus, release, totalmem } from "node:os";
import type { ContainerdClient } from "../src/containerd/index.ts";

export interface HostInfo {
  kernel: string;
  cpuModel: string;
  cpus: number;
  memoryBytes: number;
  bun: string;
  containerd: string;
  runc: string;
  cgroup: "v2" | "v1-hybrid" | "v1";
}

function firstLine(args: string[]): string {
  const result = Bun.spawnSync(args, { timeout: 10_000, stdout: "pipe", stderr: "pipe" });
  return result.exitCode === 0 ? (result.stdout.toString().split("\n")[0] ?? "").trim() : "unknown";
}

function cgroupLayout(): HostInfo["cgroup"] {
  if (Bun.spawnSync(["test", "-f", "/sys/fs/cgroup/cgroup.controllers"]).exitCode === 0) return "v2";
  return Bun.spawnSync(["test", "-d", "/sys/fs/cgroup/unified"]).exitCode === 0 ? "v1-hybrid" : "v1";
}

export async function hostInfo(client: ContainerdClient): Promise<HostInfo> {
  const version = await client.version.version();
  return {
    kernel: release(),
    cpuModel: cpus()[0]?.model ?? "unknown",
    cpus: cpus().length,
    memoryBytes: totalmem(),
    bun: Bun.version,
    containerd: `${version.version} (${version.revision})`,
    runc: firstLine(["runc", "--version"]),
    cgroup: cgroupLayout(),
  };
}
