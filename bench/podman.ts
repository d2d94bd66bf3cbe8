/**
 * @module
 * podman (Debian's, installed by scripts/bench-setup.sh) as the peer the
 * start, heal and scale benchmarks compare Keon with, on a network of its
 * own: podman's default network is 10.88.0.0/16, Keon's default subnet pool.
 * Everything it makes is named after the bench run and removed by name at
 * the end; podman's own processes (conmon) go with their containers.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { runCommand } from "../src/network/run-command.ts";

/** Where the host-local IPAM plugin keeps each network's reservations (CNI's default dataDir). */
const CNI_IPAM_DIR = "/var/lib/cni/networks";

export const PODMAN_IMAGE_PREFIX = "localhost/keon-bench-busybox";

export interface PodmanCheck {
  available: boolean;
  version?: string;
  reason?: string;
}

export function checkPodman(): PodmanCheck {
  const path = Bun.which("podman");
  if (path === null) return { available: false, reason: "podman is not installed (scripts/bench-setup.sh installs Debian's)" };
  const version = Bun.spawnSync(["podman", "--version"], { timeout: 30_000, stdout: "pipe", stderr: "pipe" });
  if (version.exitCode !== 0) return { available: false, reason: `podman --version failed: ${version.stderr.toString().trim()}` };
  return { available: true, version: version.stdout.toString().trim().replace(/^podman version /, "") };
}

export class Podman {
  readonly network: string;
  readonly image: string;
  private readonly pods = new Set<string>();
  private readonly containers = new Set<string>();
  private networkMade = false;
  private imageLoaded = false;
  /** What podman makes on first use and keeps: removed at the end only when this run made it. */
  private pauseImageBefore = true;
  private firewallChainsBefore = { v4: true, v6: true };

  constructor(readonly run: string, readonly subnet: string) {
    this.network = `keon-bench-${run}`;
    this.image = `${PODMAN_IMAGE_PREFIX}:${run}`;
  }

  /** `podman args…`; throws with its output when it fails. Returns stdout. */
  async exec(args: readonly string[], timeoutMs = 120_000): Promise<string> {
    const result = await runCommand(["podman", ...args], { timeoutMs });
    if (result.exitCode !== 0 || result.timedOut) {
      throw new Error(`podman ${args.join(" ")} failed (${result.timedOut ? "timed out" : `exit ${result.exitCode}`}): ${result.stderr.trim()}`);
    }
    return result.stdout;
  }

  /** The bench's network and the busybox image (an OCI archive) under the run's tag. */
  async prepare(archive: string): Promise<void> {
    this.pauseImageBefore = (await this.exec(["images", "-q", "--filter", "reference=localhost/podman-pause"])).trim() !== "";
    this.firewallChainsBefore = { v4: await hasFirewallChains("iptables-save"), v6: await hasFirewallChains("ip6tables-save") };
    await this.exec(["network", "create", "--subnet", this.subnet, this.network]);
    this.networkMade = true;
    const loaded = await this.exec(["load", "-q", "-i", archive]);
    const name = /Loaded image(?:\(s\))?: (\S+)/.exec(loaded)?.[1];
    if (name === undefined) throw new Error(`podman load printed no image name: ${loaded}`);
    await this.exec(["tag", name, this.image]);
    this.imageLoaded = true;
    // The archive's own ref (`localhost/latest:latest`) is not the bench's to keep.
    if (name !== this.image) await this.exec(["untag", name, name]).catch(() => undefined);
  }

  async podCreate(name: string): Promise<void> {
    this.pods.add(name);
    await this.exec(["pod", "create", "--network", this.network, "--name", name]);
  }

  /** `podman run -d` of `command` in the image; `extra` goes before the image (--pod, --restart, -v). */
  async runDetached(name: string, extra: readonly string[], command: readonly string[]): Promise<void> {
    this.containers.add(name);
    await this.exec(["run", "-d", "--pull=never", "--name", name, ...extra, this.image, ...command]);
  }

  async podRemove(name: string): Promise<void> {
    await this.exec(["pod", "rm", "-f", "-t", "0", name]);
    this.pods.delete(name);
  }

  async containerRemove(name: string): Promise<void> {
    await this.exec(["rm", "-f", "-t", "0", name]);
    this.containers.delete(name);
  }

  async pidOf(name: string): Promise<number> {
    return Number((await this.exec(["inspect", "-f", "{{.State.Pid}}", name])).trim());
  }

  /** Removes every pod, container, the network and the image tag this run made; returns what failed. */
  async cleanup(): Promise<string[]> {
    const errors: string[] = [];
    const attempt = async (what: string, step: () => Promise<unknown>) => {
      try {
        await step();
      } catch (error) {
        errors.push(`${what}: ${(error as Error).message}`);
      }
    };
    for (const name of [...this.containers]) await attempt(`container ${name}`, () => this.containerRemove(name));
    for (const name of [...this.pods]) await attempt(`pod ${name}`, () => this.podRemove(name));
    if (this.networkMade) {
      await attempt(`network ${this.network}`, () => this.exec(["network", "rm", "-f", this.network]));
      // podman's CNI backend leaves the network's host-local IPAM directory (last_reserved_ip, lock) behind.
      await attempt(`IPAM of ${this.network}`, async () => rmSync(join(CNI_IPAM_DIR, this.network), { recursive: true, force: true }));
    }
    if (this.imageLoaded) await attempt(`image ${this.image}`, () => this.exec(["rmi", this.image]));
    if (!this.pauseImageBefore) {
      const pause = (await this.exec(["images", "-q", "--filter", "reference=localhost/podman-pause"]).catch(() => "")).trim();
      if (pause !== "") await attempt("podman's pause image", () => this.exec(["rmi", "-f", ...new Set(pause.split("\n"))]));
    }
    // podman's CNI firewall plugin adds shared CNI-FORWARD/CNI-ADMIN chains on first use and never removes them.
    if (!this.firewallChainsBefore.v4) await attempt("iptables CNI-FORWARD", () => removeIdleFirewallChains("iptables"));
    if (!this.firewallChainsBefore.v6) await attempt("ip6tables CNI-FORWARD", () => removeIdleFirewallChains("ip6tables"));
    return errors;
  }
}

async function hasFirewallChains(save: string): Promise<boolean> {
  const result = await runCommand([save, "-t", "filter"], { timeoutMs: 10_000 });
  return result.stdout.split("\n").some((l) => l.startsWith(":CNI-FORWARD "));
}

/** Removes the firewall plugin's chains when they hold nothing but their own skeleton (no container's rule). */
async function removeIdleFirewallChains(tool: "iptables" | "ip6tables"): Promise<void> {
  const saved = (await runCommand([`${tool}-save`, "-t", "filter"], { timeoutMs: 10_000 })).stdout.split("\n");
  if (!saved.some((l) => l.startsWith(":CNI-FORWARD "))) return;
  const rules = saved.filter((l) => l.startsWith("-A CNI-FORWARD ") || l.startsWith("-A CNI-ADMIN "));
  if (rules.some((l) => !l.includes("CNI firewall plugin admin overrides"))) return;
  const steps = [
    ["-D", "FORWARD", "-m", "comment", "--comment", "CNI firewall plugin rules", "-j", "CNI-FORWARD"],
    ["-F", "CNI-FORWARD"], ["-X", "CNI-FORWARD"], ["-F", "CNI-ADMIN"], ["-X", "CNI-ADMIN"],
  ];
  for (const step of steps) {
    const result = await runCommand([tool, "-t", "filter", ...step], { timeoutMs: 10_000 });
    if (result.exitCode !== 0) throw new Error(`${tool} ${step.join(" ")}: ${result.stderr.trim()}`);
  }
}
