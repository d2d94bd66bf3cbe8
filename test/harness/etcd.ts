/**
 * @module
 * A real etcd cluster (Debian's etcd-server) for the fleet tests: N members
 * on free loopback ports, data under one test directory, short heartbeat
 * and election timeouts so a lost member is noticed in about a second.
 * Members are killed and restarted by PID; `stop` ends them all and removes
 * the directory.
 */
import { mkdirSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "./registry.ts";
import { waitUntil } from "./wait.ts";

/** etcd's TLS: the CA, the members' certificate, and a client certificate of the same CA (the harness's health checks use it). */
export interface EtcdTls {
  ca: string;
  cert: string;
  key: string;
  clientCert: string;
  clientKey: string;
}

export const ETCD_BINARY = "/usr/bin/etcd";

interface Member {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  logPath: string;
  proc: ReturnType<typeof Bun.spawn> | undefined;
}

export class EtcdCluster {
  private constructor(
    readonly dir: string,
    private readonly members: Member[],
    private readonly token: string,
    private readonly tls: EtcdTls | undefined,
  ) {}

  /** With `tls`, clients speak HTTPS and must present a certificate of that CA (peers stay plain on loopback). */
  static async start(dir: string, size = 3, tls?: EtcdTls): Promise<EtcdCluster> {
    mkdirSync(dir, { recursive: true });
    const members: Member[] = [];
    for (let i = 0; i < size; i++) {
      const name = `m${i}`;
      members.push({
        name,
        clientUrl: `${tls === undefined ? "http" : "https"}://127.0.0.1:${freePort()}`,
        peerUrl: `http://127.0.0.1:${freePort()}`,
        dataDir: join(dir, name),
        logPath: join(dir, `${name}.log`),
        proc: undefined,
      });
    }
    const cluster = new EtcdCluster(dir, members, `keon-test-${Date.now()}`, tls);
    for (let i = 0; i < size; i++) cluster.spawn(i, "new");
    await cluster.waitHealthy();
    return cluster;
  }

  /** `host:port` of every member, for keond's fleet.etcdEndpoints. */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl.replace(/^https?:\/\//, ""));
  }

  get size(): number {
    return this.members.length;
  }

  pidOf(i: number): number | undefined {
    const proc = this.members[i]!.proc;
    return proc?.exitCode === null ? proc.pid : undefined;
  }

  private spawn(i: number, state: "new" | "existing"): void {
    const m = this.members[i]!;
    const initialCluster = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(",");
    const log = openSync(m.logPath, "a");
    m.proc = Bun.spawn([
      ETCD_BINARY,
      "--name", m.name,
      "--data-dir", m.dataDir,
      "--listen-client-urls", m.clientUrl,
      "--advertise-client-urls", m.clientUrl,
      "--listen-peer-urls", m.peerUrl,
      "--initial-advertise-peer-urls", m.peerUrl,
      "--initial-cluster", initialCluster,
      "--initial-cluster-token", this.token,
      "--initial-cluster-state", state,
      "--heartbeat-interval", "100",
      "--election-timeout", "1000",
      "--logger", "zap",
      "--log-level", "warn",
      ...(this.tls === undefined ? [] : ["--cert-file", this.tls.cert, "--key-file", this.tls.key, "--trusted-ca-file", this.tls.ca, "--client-cert-auth"]),
    ], { stdin: "ignore", stdout: log, stderr: log });
  }

  /** SIGKILL of member `i`. */
  async kill(i: number): Promise<void> {
    const proc = this.members[i]!.proc;
    if (proc === undefined || proc.exitCode !== null) return;
    proc.kill("SIGKILL");
    await proc.exited;
  }

  /** Member `i` again, with its data. */
  async restart(i: number): Promise<void> {
    await this.kill(i);
    this.spawn(i, "existing");
    await waitUntil(() => this.memberHealthy(i), `etcd member ${i} healthy again`, 30_000, 100);
  }

  private async memberHealthy(i: number): Promise<boolean> {
    try {
      // With client certificate authentication /health wants a client certificate too.
      const tls = this.tls === undefined ? undefined : { ca: Bun.file(this.tls.ca), cert: Bun.file(this.tls.clientCert), key: Bun.file(this.tls.clientKey) };
      const answer = await fetch(`${this.members[i]!.clientUrl}/health`, { signal: AbortSignal.timeout(2_000), ...(tls === undefined ? {} : { tls }) });
      return answer.ok && ((await answer.json()) as { health?: string }).health === "true";
    } catch {
      return false;
    }
  }

  async waitHealthy(): Promise<void> {
    await waitUntil(async () => (await Promise.all(this.members.map((_, i) => this.memberHealthy(i)))).every(Boolean), "every etcd member healthy", 30_000, 100);
  }

  /** Every member killed (by PID) and the directory removed. */
  async stop(): Promise<void> {
    for (let i = 0; i < this.members.length; i++) await this.kill(i);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
