/**
 * @module
 * One running exec: its FIFOs, its containerd process and the pumps between
 * them and the WebSocket, and the cleanup that undoes all of it once.
 *
 * The process's stdio are FIFOs in a private 0700 directory, opened before
 * the exec starts and always non-blocking: a blocking open(2) of a FIFO
 * waits for the other end on Bun's small thread pool, and two such waits
 * starve every other async file operation of keond (seen on a 2-CPU host).
 * stdin is opened O_RDWR (so the shim never reads a premature EOF). For
 * stdout/stderr keond holds a placeholder write end beside its read end
 * until the process has exited, so a read before the shim opened its end
 * is "no data yet" rather than EOF; after the exit, EOF comes when the shim
 * has copied everything and closed its end. Every path (exit, client gone,
 * failure) kills the exec if it still runs, deletes it from the shim,
 * closes every descriptor and removes the directory.
 */
import { randomBytes } from "node:crypto";
import { closeSync, constants as fsConstants, openSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { WSContext } from "hono/ws";
import type { Logger } from "pino";
import type { ContainerdClient } from "../containerd/client.ts";
import { KeonError, isKeonError } from "../model/errors.ts";
import { errorFrame, exitFrame, outputFrame, STDERR_CHANNEL, STDOUT_CHANNEL } from "./exec-frames.ts";
import type { ExecRequest, OciProcess } from "./exec-request.ts";
import { makeFifos } from "../runtime/fifo.ts";

/** An exec that passed every check before the WebSocket opened. */
export interface PreparedExec {
  /** The client in the realm's namespace. */
  client: ContainerdClient;
  containerdId: string;
  request: ExecRequest;
  process: OciProcess;
}

export interface ExecSessionDeps {
  /** Where each exec gets its private FIFO directory (created 0700), e.g. `<runPath>/exec`. */
  execDir: string;
  log: Logger;
}

/** How long output may still drain after the process exited (a background child can hold the FIFO). */
const DRAIN_AFTER_EXIT_MS = 2_000;
const SIGKILL = 9;

/** One exec: its FIFOs, its containerd process, its pumps; `finish` undoes all of it once. */
export class ExecSession {
  private readonly execId = `keon-exec-${randomBytes(8).toString("hex")}`;
  private readonly log: Logger;
  private dir: string | undefined;
  private stdin: { fd: number; sink: ReturnType<ReturnType<typeof Bun.file>["writer"]> } | undefined;
  /** Every descriptor this session opened, closed once in finish(). */
  private readonly fds: number[] = [];
  /** keond's placeholder write ends of stdout/stderr, closed once the process exited. */
  private placeholders: number[] = [];
  private readonly cancels = new Set<() => void>();
  private pumps: Promise<void>[] = [];
  /** Settles once the exec started (or failed to): input that arrives earlier waits for it. */
  private readonly startGate = Promise.withResolvers<void>();
  private inputChain: Promise<void> = this.startGate.promise;
  private started = false;
  private exited = false;
  private clientClosed = false;
  private finished = false;

  constructor(
    private readonly deps: ExecSessionDeps,
    private readonly exec: PreparedExec,
    private readonly ws: WSContext,
  ) {
    this.log = deps.log.child({ component: "exec", container: exec.containerdId, execId: this.execId });
  }

  async run(): Promise<void> {
    const { client, containerdId: id, request } = this.exec;
    let exitCode: number | undefined;
    let failure: KeonError | undefined;
    try {
      await mkdir(this.deps.execDir, { recursive: true, mode: 0o700 });
      this.dir = await mkdtemp(join(this.deps.execDir, `${this.execId}-`));
      const fifos = {
        stdin: request.stdin ? join(this.dir, "stdin") : undefined,
        stdout: join(this.dir, "stdout"),
        // With a terminal the shim sends everything through the console: stderr must be empty.
        stderr: request.tty ? undefined : join(this.dir, "stderr"),
      };
      await makeFifos([fifos.stdin, fifos.stdout, fifos.stderr].filter((p): p is string => p !== undefined));
      if (fifos.stdin !== undefined) {
        const fd = this.openFd(fifos.stdin, fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
        this.stdin = { fd, sink: Bun.file(fd).writer() };
      }
      const outputs: [string, number][] = [[fifos.stdout, STDOUT_CHANNEL]];
      if (fifos.stderr !== undefined) outputs.push([fifos.stderr, STDERR_CHANNEL]);
      const readers = outputs.map(([path, channel]) => {
        const fd = this.openFd(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
        this.placeholders.push(this.openFd(path, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
        return [fd, channel] as const;
      });
      this.pumps = readers.map(([fd, channel]) =>
        this.pump(fd, channel).catch((error: unknown) => this.log.debug({ err: error }, "exec output failed")),
      );

      await client.tasks.exec({
        containerId: id,
        execId: this.execId,
        process: this.exec.process,
        ...(fifos.stdin !== undefined ? { stdin: fifos.stdin } : {}),
        stdout: fifos.stdout,
        ...(fifos.stderr !== undefined ? { stderr: fifos.stderr } : {}),
        terminal: request.tty,
      });
      if (this.clientClosed) throw new KeonError("CONFLICT", "client went away before the exec started");
      await client.tasks.start(id, this.execId);
      this.started = true;
      this.startGate.resolve();
      this.log.info({ args: request.args.length, tty: request.tty }, "exec started");
      if (request.tty && request.size !== undefined) this.resize(request.size.width, request.size.height);

      const waited = await client.tasks.wait(id, this.execId, { deadlineMs: Number.POSITIVE_INFINITY });
      this.exited = true;
      exitCode = waited.exit_status;
      this.closePlaceholders();
      await Promise.race([Promise.all(this.pumps), Bun.sleep(DRAIN_AFTER_EXIT_MS)]);
    } catch (error) {
      this.startGate.resolve();
      failure = isKeonError(error) ? error : new KeonError("INTERNAL", `exec failed: ${(error as Error).message}`, { cause: error });
      if (!this.clientClosed) this.log.warn({ err: error }, "exec failed");
    }
    if (!this.clientClosed) {
      this.ws.send(failure === undefined ? exitFrame(exitCode) : errorFrame(failure));
      this.ws.close(1000, failure === undefined ? "exited" : "failed");
    }
    await this.finish().catch((error: unknown) => this.log.error({ err: error }, "exec cleanup failed"));
    this.log.info({ exitCode }, "exec finished");
  }

  private openFd(path: string, flags: number): number {
    const fd = openSync(path, flags);
    this.fds.push(fd);
    return fd;
  }

  private closePlaceholders(): void {
    for (const fd of this.placeholders) closeSync(fd);
    this.fds.splice(0, this.fds.length, ...this.fds.filter((fd) => !this.placeholders.includes(fd)));
    this.placeholders = [];
  }

  /** Copy a FIFO to the client until EOF (the shim closed its end) or until the session is finished. */
  private async pump(fd: number, channel: number): Promise<void> {
    const reader = Bun.file(fd).stream().getReader();
    const cancel = () => void reader.cancel().catch(() => undefined);
    this.cancels.add(cancel);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.finished) break;
        if (!this.clientClosed) this.ws.send(outputFrame(channel, value));
      }
    } catch (error) {
      if (!this.finished) this.log.debug({ err: error, channel }, "exec output stream ended with an error");
    } finally {
      this.cancels.delete(cancel);
    }
  }

  input(data: Uint8Array): void {
    if (!this.exec.request.stdin || data.length === 0) return;
    const copy = data.slice();
    this.inputChain = this.inputChain
      .then(async () => {
        // Read at write time: the FIFO opens only once the session runs.
        const stdin = this.stdin;
        if (stdin === undefined) return;
        stdin.sink.write(copy);
        await stdin.sink.flush();
      })
      .catch((error: unknown) => this.log.debug({ err: error }, "exec stdin write failed"));
  }

  /**
   * The client's stdin ended. The shim holds a write end of the stdin FIFO
   * itself (containerd 1.6 execProcess.openStdin), so closing ours is not
   * enough: CloseIO makes the shim close its end and the process reads EOF.
   */
  endInput(): void {
    this.inputChain = this.inputChain.then(async () => {
      await this.closeStdin();
      if (this.started && !this.exited) await this.exec.client.tasks.closeIO(this.exec.containerdId, this.execId);
    }).catch((error: unknown) => this.log.debug({ err: error }, "exec stdin close failed"));
  }

  resize(cols: number, rows: number): void {
    if (!this.exec.request.tty || !this.started || this.exited) return;
    this.exec.client.tasks
      .resizePty(this.exec.containerdId, { width: cols, height: rows }, this.execId)
      .catch((error: unknown) => this.log.debug({ err: error }, "exec resize failed"));
  }

  /** The client closed the WebSocket: a process still running is killed (run() then finishes). */
  clientGone(): void {
    if (this.clientClosed) return;
    this.clientClosed = true;
    if (this.started && !this.exited) {
      this.exec.client.tasks
        .kill(this.exec.containerdId, SIGKILL, { execId: this.execId })
        .catch((error: unknown) => {
          if (!isKeonError(error, "NOT_FOUND")) this.log.warn({ err: error }, "killing an abandoned exec failed");
        });
    }
  }

  private async closeStdin(): Promise<void> {
    const stdin = this.stdin;
    if (stdin === undefined) return;
    this.stdin = undefined;
    await Promise.resolve(stdin.sink.end()).catch(() => undefined);
    closeSync(stdin.fd);
    this.fds.splice(this.fds.indexOf(stdin.fd), 1);
  }

  private async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    const { client, containerdId: id } = this.exec;
    if (this.started && !this.exited) {
      await client.tasks.kill(id, SIGKILL, { execId: this.execId }).catch(() => undefined);
      await client.tasks.wait(id, this.execId, { deadlineMs: 10_000 }).catch(() => undefined);
    }
    // A task Exec that never started still has its process entry in the shim.
    await client.tasks.deleteProcess(id, this.execId).catch((error: unknown) => {
      if (this.started || !isKeonError(error)) this.log.warn({ err: error }, "deleting the exec process failed");
    });
    await this.inputChain;
    await this.closeStdin();
    this.closePlaceholders();
    // Readers still held open by a lingering writer (a background child of the exec) are cancelled.
    for (const cancel of [...this.cancels]) cancel();
    await Promise.race([Promise.all(this.pumps), Bun.sleep(DRAIN_AFTER_EXIT_MS)]);
    for (const fd of this.fds.splice(0)) closeSync(fd);
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
  }
}
