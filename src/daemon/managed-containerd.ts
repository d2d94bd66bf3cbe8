/**
 * @module
 * keond's embedded containerd: when no external socket is configured, keond
 * runs its own containerd with root, state and socket under the run path,
 * supervises it (restart with capped backoff) and waits until it answers.
 * Shims outlive containerd, so stopping or restarting it never stops
 * workloads; a containerd left running by a killed keond is adopted.
 */
import { mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { Logger } from "pino";
import { KeonError } from "../model/errors.ts";

/**
 * Plugins Keon never uses or that need what a plain host lacks: CRI (Keon
 * drives containerd directly), snapshotters needing special filesystems, the
 * opt plugin (it installs into /opt/containerd) and tracing exporters.
 */
export const DISABLED_CONTAINERD_PLUGINS = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.internal.v1.opt",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
];

export interface ContainerdLayout {
  root: string;
  state: string;
  socket: string;
}

/** containerd 1.6 config (version 2) for a private instance. Pure. */
export function containerdConfigToml(layout: ContainerdLayout, logLevel = "info"): string {
  const q = (s: string): string => JSON.stringify(s);
  return [
    "version = 2",
    `root = ${q(layout.root)}`,
    `state = ${q(layout.state)}`,
    `disabled_plugins = [${DISABLED_CONTAINERD_PLUGINS.map(q).join(", ")}]`,
    "",
    "[grpc]",
    `  address = ${q(layout.socket)}`,
    "",
    "[ttrpc]",
    `  address = ${q(`${layout.socket}.ttrpc`)}`,
    "",
    "[debug]",
    `  address = ""`,
    `  level = ${q(logLevel)}`,
    "",
    "[metrics]",
    `  address = ""`,
    "",
  ].join("\n");
}

export function managedLayout(runPath: string): ContainerdLayout {
  return {
    root: join(runPath, "containerd", "root"),
    state: join(runPath, "containerd", "state"),
    socket: join(runPath, "containerd", "containerd.sock"),
  };
}

/** What supervision needs to know about containerd's health; one method. */
export interface ContainerdProbe {
  ready(timeoutMs: number): Promise<void>;
}

export interface ManagedContainerdOptions {
  runPath: string;
  binary?: string;
  probe: ContainerdProbe;
  log: Logger;
  readyTimeoutMs?: number;
}

const MAX_BACKOFF_MS = 30_000;

export class ManagedContainerd {
  readonly layout: ContainerdLayout;
  #child: Subprocess | undefined;
  #stopping = false;
  #restarts = 0;
  #backoffStep = 0;
  #startedAt = 0;
  readonly #options: ManagedContainerdOptions;

  constructor(options: ManagedContainerdOptions) {
    this.#options = options;
    this.layout = managedLayout(options.runPath);
  }

  /** PID of the containerd this instance started (undefined when adopted or stopped). */
  get pid(): number | undefined {
    return this.#child?.exitCode === null ? this.#child.pid : undefined;
  }

  get restarts(): number {
    return this.#restarts;
  }

  /** Adopt a running instance on our socket, or start one; resolves once it answers. */
  async start(): Promise<void> {
    const { probe, log } = this.#options;
    try {
      await probe.ready(500);
      log.info({ socket: this.layout.socket }, "adopted the managed containerd already running");
      return;
    } catch {
      // Nothing answers: start our own below.
    }
    this.#spawn();
    await probe.ready(this.#options.readyTimeoutMs ?? 20_000);
    log.info({ socket: this.layout.socket, pid: this.#child?.pid }, "managed containerd ready");
  }

  #spawn(): void {
    const dir = join(this.#options.runPath, "containerd");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const configPath = join(dir, "config.toml");
    writeFileSync(configPath, containerdConfigToml(this.layout), { mode: 0o600 });
    const logFd = openSync(join(dir, "containerd.log"), "a", 0o600);
    const binary = this.#options.binary ?? "containerd";
    let child: Subprocess;
    try {
      child = Bun.spawn([binary, "--config", configPath], { stdio: ["ignore", logFd, logFd] });
    } catch (cause) {
      throw new KeonError("CONTAINERD_UNAVAILABLE", `cannot start ${binary}: install Debian's containerd package`, { cause });
    }
    this.#child = child;
    this.#startedAt = Date.now();
    void child.exited.then((code) => this.#onExit(child, code));
  }

  async #onExit(child: Subprocess, code: number | null): Promise<void> {
    if (this.#stopping || child !== this.#child) return;
    this.#restarts++;
    // A run that lasted a minute was healthy: start the backoff over.
    this.#backoffStep = Date.now() - this.#startedAt > 60_000 ? 0 : this.#backoffStep + 1;
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(this.#backoffStep, 7));
    this.#options.log.error({ code, restarts: this.#restarts, delayMs: delay }, "managed containerd exited; restarting");
    await Bun.sleep(delay);
    if (this.#stopping) return;
    this.#spawn();
  }

  /** SIGTERM containerd and wait; its shims and so the workloads keep running. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.#stopping = true;
    const child = this.#child;
    if (child === undefined || child.exitCode !== null) return;
    child.kill("SIGTERM");
    const exited = await Promise.race([child.exited.then(() => true), Bun.sleep(timeoutMs).then(() => false)]);
    if (!exited) {
      child.kill("SIGKILL");
      await child.exited;
    }
  }
}
