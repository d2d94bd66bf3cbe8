/**
 * @module
 * keond as a process for e2e tests: a private run path, socket, cgroup root
 * and subnet pool under one unique prefix, talking to the test's own
 * containerd (external socket) so the test can restart containerd, import
 * images and prove the host clean afterwards. keond is ended by its PID only.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { waitUntil } from "./wait.ts";

const repo = join(import.meta.dir, "..", "..");
export const KEOND_ENTRY = join(repo, "src/daemon/main.ts");

export interface KeondOptions {
  dir: string;
  containerdSocket: string;
  cgroupRoot: string;
  subnetCidr: string;
  namespaceSuffix?: string;
  extraArgs?: string[];
  env?: Record<string, string>;
}

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
}

export class KeondProcess {
  readonly socket: string;
  readonly runPath: string;
  readonly logPath: string;
  private proc: ReturnType<typeof Bun.spawn> | undefined;
  private starts = 0;

  constructor(readonly options: KeondOptions) {
    mkdirSync(options.dir, { recursive: true });
    this.socket = join(options.dir, "keond.sock");
    this.runPath = join(options.dir, "run");
    this.logPath = join(options.dir, "keond.log");
  }

  get pid(): number | undefined {
    // Bun leaves exitCode null for a process ended by a signal (SIGKILL): signalCode says so.
    return this.proc?.exitCode === null && this.proc.signalCode === null ? this.proc.pid : undefined;
  }

  args(): string[] {
    const o = this.options;
    return [
      "--run-path", this.runPath,
      "--socket", this.socket,
      "--socket-group", "",
      "--containerd-socket", o.containerdSocket,
      "--cgroup-root", o.cgroupRoot,
      "--namespace-suffix", o.namespaceSuffix ?? "e2e",
      "--subnet-pool-cidr", o.subnetCidr,
      "--restart-stable-seconds", "1",
      "--stop-grace-seconds", "2",
      "--log-level", "debug",
      // Tests name local images (busybox imports) that a pull would look up on Docker Hub: a test that
      // wants automatic pulls turns them on (extraArgs come later and win) against a loopback registry.
      "--image-pull-auto", "off",
      ...(o.extraArgs ?? []),
    ];
  }

  /** Starts keond and waits until /readyz answers 200. */
  async start(timeoutMs = 30_000): Promise<void> {
    this.starts += 1;
    const log = Bun.file(`${this.logPath}.${this.starts}`);
    this.proc = Bun.spawn([process.execPath, "run", KEOND_ENTRY, ...this.args()], {
      stdout: log,
      stderr: log,
      env: { ...process.env, ...this.options.env, NOTIFY_SOCKET: "" },
    });
    await waitUntil(
      async () => {
        if (this.proc?.exitCode !== null) throw new Error(`keond exited with ${this.proc?.exitCode}:\n${this.logTail()}`);
        try {
          return (await fetch("http://keond/readyz", { unix: this.socket })).status === 200;
        } catch {
          return false;
        }
      },
      "keond /readyz",
      timeoutMs,
      50,
    );
  }

  logTail(lines = 40): string {
    try {
      return readFileSync(`${this.logPath}.${this.starts}`, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** SIGTERM and wait; returns the exit code. */
  async stop(): Promise<number | null> {
    const proc = this.proc;
    if (proc === undefined || proc.exitCode !== null) return proc?.exitCode ?? null;
    proc.kill("SIGTERM");
    return await proc.exited;
  }

  /** SIGKILL, as in a crash. */
  async crash(): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || proc.exitCode !== null) return;
    proc.kill("SIGKILL");
    await proc.exited;
  }

  async api<T = unknown>(method: string, path: string, body?: string | object, headers: Record<string, string> = {}): Promise<ApiAnswer<T>> {
    const init: RequestInit & { unix: string } = { method, unix: this.socket, headers };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      if (typeof body !== "string") init.headers = { "content-type": "application/json", ...headers };
    }
    const response = await fetch(`http://keond${path}`, init);
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // text bodies (logs, metrics) stay text
    }
    return { status: response.status, body: parsed as T };
  }

  /** Removes the directory; keond's logs are kept under /tmp/keon-e2e-logs for a failing run to be read. */
  remove(): void {
    const keep = join("/tmp/keon-e2e-logs", `${this.options.dir.split("/").pop()}`);
    mkdirSync(keep, { recursive: true });
    for (let i = 1; i <= this.starts; i++) {
      try {
        copyFileSync(`${this.logPath}.${i}`, join(keep, `keond.log.${i}`));
      } catch {
        // that start wrote no log
      }
    }
    rmSync(this.options.dir, { recursive: true, force: true });
  }
}
