/**
 * @module
 * The consoles of attachable containers, kept by keond's main thread. The
 * realm Worker creates the task on a terminal with two FIFOs
 * (runtime/container-stdio.ts says why they outlive keond); from then on
 * this keeper, for each such running task:
 * - drains stdout for as long as the task lives (else the process would
 *   block once the pipe and the pty are full), appending it to the
 *   container's log file (what `keon logs` reads), to a ring of recent
 *   output, and to every attached client;
 * - writes the clients' input to stdin and their window sizes to the pty.
 *
 * Why here and not in the Worker: attach clients are the API's WebSockets,
 * and a Worker that crashes and is restarted must not cut them or the
 * drain; the Worker stays a reconciler. The keeper learns of a console from
 * the cell's status messages (a start or restart always changes the status),
 * from its first look at every stored cell when keond starts (a console left
 * by the previous keond is reopened: the FIFOs and the shim's ends of them
 * are still there), and from an attach itself. Opening is idempotent.
 */
import { closeSync, constants as fsConstants, existsSync, fstatSync, mkdirSync, openSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "pino";
import type { ContainerdClient } from "../containerd/client.ts";
import { containerdId } from "../model/derived-ids.ts";
import { isKeonError } from "../model/errors.ts";
import type { CellDocument } from "../model/schema/cell.ts";
import type { FromWorker } from "../protocol/messages.ts";
import { containerConsoleOf, containerLogPathOf } from "../runtime/run-layout.ts";
import type { CellLookup, CellRef } from "./cell-lookup.ts";
import type { DaemonBus } from "./deps.ts";
import { OutputRing, withoutTerminalQueries } from "./output-ring.ts";
import type { Store } from "../store/store.ts";

/** One attached client, as the console sees it. */
export interface ConsoleClient {
  output(data: Uint8Array): void;
  /** The process ended (exit code when containerd still knew it); the console is gone. */
  ended(exitCode: number | undefined): void;
}

export interface ConsoleTarget {
  namespace: string;
  ref: CellRef;
  container: string;
}

/** What the keeper needs to know about cells, beyond one cell's lookup: every stored cell, once at start-up. */
export interface ConsoleCells extends CellLookup {
  all(): CellRef[];
}

/** ConsoleCells over the daemon's store. */
export function storeConsoleCells(store: Pick<Store, "list">, cells: CellLookup): ConsoleCells {
  return {
    ...cells,
    all: () => store.list("Cell").map(({ key }) => ({ realm: key.realm ?? "", space: key.space ?? "", stack: key.stack ?? "", cell: key.name })),
  };
}

export interface ConsoleKeeperDeps {
  cells: ConsoleCells;
  containerd: ContainerdClient;
  runPath: string;
  log: Logger;
  ringBytes?: number;
}

/** Task states whose shim holds the console's write end. */
const LIVE_STATES = new Set(["RUNNING", "CREATED", "PAUSED", "PAUSING"]);
/** How long the exit status of a task whose output ended is waited for. */
const EXIT_WAIT_MS = 5_000;

/** One running terminal task's console: its FIFOs, log, ring and clients. */
export class Console {
  private readonly ring: OutputRing;
  private readonly clients = new Set<ConsoleClient>();
  private readonly stdin: ReturnType<ReturnType<typeof Bun.file>["writer"]>;
  private inputChain: Promise<void> = Promise.resolve();
  private open = true;
  /** The task's exit status, once it exited (undefined when containerd could not say). */
  private readonly exit: Promise<number | undefined>;

  constructor(
    private readonly client: ContainerdClient,
    readonly containerdId: string,
    private readonly fds: { stdout: number; stdin: number; log: number },
    /** The stdout FIFO's inode when it was opened. */
    readonly fifoInode: number,
    /** The container's log file (the runtime moves it aside to `.previous.log` when a new instance starts). */
    private readonly logPath: string,
    ringBytes: number | undefined,
    private readonly log: Logger,
  ) {
    this.ring = new OutputRing(ringBytes);
    this.stdin = Bun.file(fds.stdin).writer();
    // Asked now: once the process exits its task may be deleted (a stop) before the output's EOF is read.
    this.exit = client.tasks.wait(containerdId, "", { deadlineMs: Number.POSITIVE_INFINITY }).then(
      (answer) => answer.exit_status,
      (error: unknown) => {
        if (!isKeonError(error, "NOT_FOUND")) this.log.debug({ err: error }, "waiting for a console's task failed");
        return undefined;
      },
    );
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Adds a client: it first receives the recent output, then the live stream. Returns its detach. */
  attach(client: ConsoleClient): () => void {
    const recent = withoutTerminalQueries(this.ring.snapshot());
    if (recent.length > 0) client.output(recent);
    this.clients.add(client);
    return () => void this.clients.delete(client);
  }

  write(data: Uint8Array): void {
    if (!this.open || data.length === 0) return;
    const copy = data.slice();
    this.inputChain = this.inputChain
      .then(async () => {
        if (!this.open) return;
        this.stdin.write(copy);
        await this.stdin.flush();
      })
      .catch((error: unknown) => this.log.debug({ err: error }, "console input failed"));
  }

  resize(cols: number, rows: number): void {
    if (!this.open) return;
    this.client.tasks.resizePty(this.containerdId, { width: cols, height: rows }).catch((error: unknown) => this.log.debug({ err: error }, "console resize failed"));
  }

  /** Copies stdout until EOF (the shim closed its ends: the process and everything holding its terminal are gone). */
  async pump(): Promise<void> {
    const reader = Bun.file(this.fds.stdout).stream().getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        this.ring.push(value);
        this.appendLog(value);
        for (const client of this.clients) client.output(value);
      }
    } catch (error) {
      this.log.warn({ err: error }, "console output ended with an error");
    }
    this.open = false;
    const exitCode = await this.exitCode();
    for (const client of this.clients) client.ended(exitCode);
    this.clients.clear();
    await this.inputChain;
    await Promise.resolve(this.stdin.end()).catch(() => undefined);
    for (const fd of [this.fds.stdout, this.fds.stdin, this.fds.log]) {
      try {
        closeSync(fd);
      } catch (error) {
        this.log.warn({ err: error }, "closing a console descriptor failed");
      }
    }
  }

  /**
   * Writes on to the log at its path when the runtime moved the one this
   * console writes to aside (a new instance started while this console read
   * on: the FIFO is the same across a task's restart).
   */
  followLog(): void {
    if (!this.open) return;
    let current: number | undefined;
    try {
      current = statSync(this.logPath).ino;
    } catch {
      current = undefined;
    }
    if (current === fstatSync(this.fds.log).ino) return;
    const fd = openLog(this.logPath);
    closeSync(this.fds.log);
    this.fds.log = fd;
  }

  private appendLog(data: Uint8Array): void {
    try {
      let written = 0;
      while (written < data.length) written += writeSync(this.fds.log, data, written, data.length - written);
    } catch (error) {
      this.log.warn({ err: error }, "writing the console's log failed");
    }
  }

  private async exitCode(): Promise<number | undefined> {
    return await Promise.race([this.exit, Bun.sleep(EXIT_WAIT_MS).then(() => undefined)]);
  }
}

function openLog(path: string): number {
  return openSync(path, fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT, 0o600);
}

function consolePathsOf(runPath: string, target: ConsoleTarget): ReturnType<typeof containerConsoleOf> {
  return containerConsoleOf(runPath, { realm: target.ref.realm, space: target.ref.space, stack: target.ref.stack, cell: target.ref.cell }, target.container);
}

function fifoInodeOf(runPath: string, target: ConsoleTarget): number | undefined {
  try {
    return statSync(consolePathsOf(runPath, target).stdout).ino;
  } catch {
    return undefined;
  }
}

export class ConsoleKeeper {
  private readonly consoles = new Map<string, Console>();
  private readonly opening = new Map<string, Promise<Console | undefined>>();

  constructor(private readonly deps: ConsoleKeeperDeps) {}

  /** Opens the consoles of a cell whose status was written (a start, a restart). Lives as long as the daemon. */
  listen(bus: DaemonBus): void {
    bus.subscribe((message: FromWorker) => {
      if (message.type !== "status" || message.ref.kind !== "Cell" || message.gone) return;
      const { realm, space, stack, name } = message.ref.key;
      if (realm === undefined || space === undefined || stack === undefined) return;
      void this.openCell({ realm, space, stack, cell: name });
    });
  }

  /** Reopens the consoles of every stored cell (keond started while attachable tasks ran). */
  async recover(): Promise<void> {
    for (const ref of this.deps.cells.all()) await this.openCell(ref);
  }

  /** The console of a live terminal task, opened when needed; undefined when the task has none or does not live. */
  async ensure(target: ConsoleTarget): Promise<Console | undefined> {
    const key = `${target.namespace}/${containerdId(target.ref.space, target.ref.stack, target.ref.cell, target.container)}`;
    const current = this.consoles.get(key);
    // A console whose FIFO was made anew (the container was recreated) is stale: it ends on its own.
    if (current?.isOpen && current.fifoInode === fifoInodeOf(this.deps.runPath, target)) {
      current.followLog();
      return current;
    }
    const pending = this.opening.get(key);
    if (pending !== undefined) return await pending;
    const opened = this.openConsole(target).finally(() => this.opening.delete(key));
    this.opening.set(key, opened);
    const console = await opened;
    if (console !== undefined) {
      this.consoles.set(key, console);
      void console
        .pump()
        .catch((error: unknown) => this.deps.log.error({ err: error, console: key }, "a console's pump failed"))
        .finally(() => {
          if (this.consoles.get(key) === console) this.consoles.delete(key);
        });
    }
    return console;
  }

  private async openCell(ref: CellRef): Promise<void> {
    try {
      const namespace = this.deps.cells.realmNamespace(ref.realm);
      const cell: CellDocument | undefined = this.deps.cells.cell(ref);
      if (namespace === undefined || cell === undefined) return;
      for (const container of cell.spec.containers.filter((c) => c.attachable === true)) {
        await this.ensure({ namespace, ref, container: container.id });
      }
    } catch (error) {
      this.deps.log.warn({ err: error, cell: ref }, "opening a cell's consoles failed");
    }
  }

  private async openConsole(target: ConsoleTarget): Promise<Console | undefined> {
    const scope = { realm: target.ref.realm, space: target.ref.space, stack: target.ref.stack, cell: target.ref.cell };
    const fifos = consolePathsOf(this.deps.runPath, target);
    if (!existsSync(fifos.stdout) || !existsSync(fifos.stdin)) return undefined;
    const id = containerdId(target.ref.space, target.ref.stack, target.ref.cell, target.container);
    const client = this.deps.containerd.withNamespace(target.namespace);
    try {
      if (!LIVE_STATES.has((await client.tasks.get(id)).status)) return undefined;
    } catch (error) {
      if (isKeonError(error, "NOT_FOUND")) return undefined;
      throw error;
    }
    const logPath = containerLogPathOf(this.deps.runPath, scope, target.container);
    mkdirSync(dirname(logPath), { recursive: true, mode: 0o700 });
    const opened: number[] = [];
    try {
      // Never blocking (exec-session.ts says why); stdin O_RDWR, so a write never meets "no reader".
      opened.push(openSync(fifos.stdout, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK));
      opened.push(openSync(fifos.stdin, fsConstants.O_RDWR | fsConstants.O_NONBLOCK));
      opened.push(openLog(logPath));
    } catch (error) {
      for (const fd of opened) closeSync(fd);
      throw error;
    }
    const [stdout, stdin, log] = opened as [number, number, number];
    this.deps.log.info({ container: id, namespace: target.namespace }, "console opened");
    return new Console(client, id, { stdout, stdin, log }, fstatSync(stdout).ino, logPath, this.deps.ringBytes, this.deps.log.child({ container: id }));
  }
}
