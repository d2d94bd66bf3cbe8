/**
 * @module
 * `GET /v1/realms/{realm}/spaces/{space}/stacks/{stack}/cells/{cell}/exec`
 * as a WebSocket: runs a process in a running container through containerd
 * (Tasks.Exec), the way `ctr task exec` does.
 *
 * Query: `cmd` (repeated, the argv), `container` (default: the cell's
 * `tty.default`, else its first workload container), `tty=1`, `stdin=1`,
 * `cols`/`rows` (the terminal's first size).
 *
 * Frames:
 * - client → server, binary: bytes for the process's stdin.
 * - client → server, text: `{"type":"resize","cols":N,"rows":N}` or `{"type":"eof"}`.
 * - server → client, binary: one channel byte (1 stdout, 2 stderr) then data.
 * - server → client, text, last: `{"type":"exit","exitCode":N}` or
 *   `{"type":"error","error":{code,message}}`; then the server closes.
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
import type { Hono } from "hono";
import { upgradeWebSocket as bunUpgradeWebSocket } from "hono/bun";
import type { UpgradeWebSocket, WSContext, WSEvents } from "hono/ws";
import type { Logger } from "pino";
import type { ContainerdClient } from "../containerd/client.ts";
import { containerSpec } from "../containerd/services/containers.ts";
import { KeonError, isKeonError } from "../model/errors.ts";
import { containerdId, realmNamespace, rootContainerIdOf } from "../model/derived-ids.ts";
import type { CellDocument } from "../model/schema/cell.ts";
import type { RealmDocument } from "../model/schema/realm.ts";
import type { Store } from "../store/store.ts";

export const CELL_ROUTE = "/v1/realms/:realm/spaces/:space/stacks/:stack/cells/:cell";

export interface CellRef {
  realm: string;
  space: string;
  stack: string;
  cell: string;
}

/** What the exec and top routes need to know about cells; a read of the store. */
export interface CellLookup {
  /** The stored cell as clients see it; undefined when there is none. */
  cell(ref: CellRef): CellDocument | undefined;
  /** The containerd namespace of an existing realm; undefined when the realm does not exist. */
  realmNamespace(realm: string): string | undefined;
}

/**
 * The one real CellLookup: the daemon's store and its namespace suffix. A
 * cell's Container documents join its `spec.containers`, so exec and top
 * reach them like the cell's own items.
 */
export function storeCellLookup(store: Pick<Store, "get" | "list">, namespaceSuffix: string): CellLookup {
  return {
    cell(ref) {
      const cell = store.get("Cell", { realm: ref.realm, space: ref.space, stack: ref.stack, name: ref.cell })?.document;
      if (cell === undefined) return undefined;
      const documents = store.list("Container", { realm: ref.realm, space: ref.space, stack: ref.stack, cell: ref.cell });
      if (documents.length === 0) return cell;
      const own = new Set(cell.spec.containers.map((c) => c.id));
      const extra = documents.filter((d) => !own.has(d.key.name)).map((d) => ({ ...d.document.spec, id: d.key.name }));
      return { ...cell, spec: { ...cell.spec, containers: [...cell.spec.containers, ...extra] } } as CellDocument;
    },
    realmNamespace(realm) {
      const stored = store.get("Realm", { name: realm });
      if (stored === undefined) return undefined;
      return realmNamespace((stored.document as RealmDocument).spec, realm, namespaceSuffix);
    },
  };
}

export function cellRefOf(params: Record<string, string>): CellRef {
  return { realm: params["realm"] ?? "", space: params["space"] ?? "", stack: params["stack"] ?? "", cell: params["cell"] ?? "" };
}

/** The stored cell or CELL_NOT_FOUND naming where it was looked for. */
export function requireCell(cells: CellLookup, ref: CellRef): { cell: CellDocument; namespace: string } {
  const namespace = cells.realmNamespace(ref.realm);
  if (namespace === undefined) throw new KeonError("REALM_NOT_FOUND", `realm '${ref.realm}' not found`, { details: { realm: ref.realm } });
  const cell = cells.cell(ref);
  if (cell === undefined) {
    throw new KeonError("CELL_NOT_FOUND", `cell '${ref.cell}' not found in ${ref.realm}/${ref.space}/${ref.stack}`, { details: { ...ref } });
  }
  return { cell, namespace };
}

/**
 * Which container an exec (or attach) reaches: the one asked for, else the
 * cell's `tty.default`, else its first workload (non-root) container.
 */
export function pickContainer(spec: CellDocument["spec"], requested: string | undefined): string {
  const ids = spec.containers.map((c) => c.id);
  if (requested !== undefined && requested !== "") {
    if (!ids.includes(requested)) {
      throw new KeonError("CONTAINER_NOT_FOUND", `cell has no container '${requested}'; it has: ${ids.join(", ") || "none"}`, {
        details: { container: requested, containers: ids },
      });
    }
    return requested;
  }
  if (spec.tty?.default) return spec.tty.default;
  const root = rootContainerIdOf(spec);
  const workload = ids.find((id) => id !== root) ?? ids[0];
  if (workload === undefined) throw new KeonError("CONTAINER_NOT_FOUND", "cell has no containers");
  return workload;
}

export interface ExecRequest {
  args: string[];
  container: string | undefined;
  tty: boolean;
  stdin: boolean;
  size: { width: number; height: number } | undefined;
}

const truthy = (value: string | undefined): boolean => value === "1" || value === "true";

/** The exec request from the query string; INVALID_DOCUMENT-style errors name the parameter. */
export function parseExecQuery(query: URLSearchParams): ExecRequest {
  const args = query.getAll("cmd");
  if (args.length === 0 || args[0] === "") {
    throw new KeonError("INVALID_DOCUMENT", "exec needs a command: give it as repeated `cmd` query parameters", {
      details: { issues: [{ path: "cmd", message: "required" }] },
    });
  }
  const container = query.get("container") ?? undefined;
  const tty = truthy(query.get("tty") ?? undefined);
  const cols = query.get("cols");
  const rows = query.get("rows");
  let size: ExecRequest["size"];
  if (cols !== null || rows !== null) {
    const width = Number(cols);
    const height = Number(rows);
    if (!isTerminalDimension(width) || !isTerminalDimension(height)) {
      throw new KeonError("INVALID_DOCUMENT", "cols and rows must both be whole numbers between 1 and 65535", {
        details: { issues: [{ path: "cols", message: "must be 1..65535" }] },
      });
    }
    size = { width, height };
  }
  return { args, container, tty, stdin: truthy(query.get("stdin") ?? undefined), size };
}

const isTerminalDimension = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535;

interface OciProcess {
  args?: string[];
  terminal?: boolean;
  consoleSize?: unknown;
  [field: string]: unknown;
}

/**
 * The exec's OCI process: the container's own (user, env, cwd,
 * capabilities, rlimits, no_new_privileges, apparmor/selinux labels) with
 * the new argv and terminal flag, as `ctr task exec` derives it.
 */
export function execProcessSpec(containerOciSpec: unknown, args: string[], tty: boolean): OciProcess {
  const base = (containerOciSpec as { process?: OciProcess } | null)?.process;
  if (base === undefined || typeof base !== "object") {
    throw new KeonError("CONTAINERD_ERROR", "the container's OCI spec has no process to derive the exec from");
  }
  const process: OciProcess = { ...structuredClone(base), args: [...args], terminal: tty };
  delete process.consoleSize;
  return process;
}

export const STDOUT_CHANNEL = 1;
export const STDERR_CHANNEL = 2;

export function outputFrame(channel: number, data: Uint8Array): Uint8Array<ArrayBuffer> {
  const frame = new Uint8Array(data.length + 1);
  frame[0] = channel;
  frame.set(data, 1);
  return frame;
}

export type ExecControl = { type: "resize"; cols: number; rows: number } | { type: "eof" };

/** A text frame from the client; undefined when it is not one we know. */
export function parseControl(text: string): ExecControl | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const message = value as { type?: unknown; cols?: unknown; rows?: unknown };
  if (message?.type === "eof") return { type: "eof" };
  if (message?.type === "resize" && isTerminalDimension(Number(message.cols)) && isTerminalDimension(Number(message.rows))) {
    return { type: "resize", cols: Number(message.cols), rows: Number(message.rows) };
  }
  return undefined;
}

export interface ExecRouteDeps {
  cells: CellLookup;
  /** keond's containerd client (any namespace: calls name the realm's). */
  containerd: ContainerdClient;
  /** Where each exec gets its private FIFO directory (created 0700), e.g. `<runPath>/exec`. */
  execDir: string;
  log: Logger;
  /** hono/bun's helper by default; Bun.serve must then be given hono/bun's `websocket` handler. */
  upgradeWebSocket?: UpgradeWebSocket;
}

/** How long output may still drain after the process exited (a background child can hold the FIFO). */
const DRAIN_AFTER_EXIT_MS = 2_000;
const SIGKILL = 9;

export function registerExecRoute(app: Hono, deps: ExecRouteDeps): void {
  const upgrade = deps.upgradeWebSocket ?? (bunUpgradeWebSocket as unknown as UpgradeWebSocket);
  app.get(
    `${CELL_ROUTE}/exec`,
    upgrade(async (c) => {
      let prepared: PreparedExec | undefined;
      let refusal: KeonError | undefined;
      try {
        prepared = await prepareExec(deps, cellRefOf(c.req.param()), parseExecQuery(new URL(c.req.url).searchParams));
      } catch (error) {
        refusal = isKeonError(error) ? error : new KeonError("INTERNAL", "exec failed", { cause: error });
        if (!isKeonError(error)) deps.log.error({ err: error }, "exec refused by an unexpected error");
      }
      return execEvents(deps, prepared, refusal);
    }) as never,
  );
}

interface PreparedExec {
  client: ContainerdClient;
  containerdId: string;
  request: ExecRequest;
  process: OciProcess;
}

/** Everything that can be refused before the WebSocket opens: cell, container, running task, process spec. */
async function prepareExec(deps: ExecRouteDeps, ref: CellRef, request: ExecRequest): Promise<PreparedExec> {
  const { cell, namespace } = requireCell(deps.cells, ref);
  const container = pickContainer(cell.spec, request.container);
  const id = containerdId(ref.space, ref.stack, ref.cell, container);
  const client = deps.containerd.withNamespace(namespace);
  let state: string;
  try {
    state = (await client.tasks.get(id)).status;
  } catch (error) {
    if (!isKeonError(error, "NOT_FOUND")) throw error;
    state = "not created";
  }
  if (state !== "RUNNING") {
    throw new KeonError("CONFLICT", `container '${container}' of cell '${ref.cell}' is not running (${state.toLowerCase()})`, {
      details: { container, state },
    });
  }
  const process = execProcessSpec(containerSpec(await client.containers.get(id)), request.args, request.tty);
  return { client, containerdId: id, request: { ...request, container }, process };
}

function errorMessage(error: KeonError): string {
  return JSON.stringify({ type: "error", error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } });
}

function execEvents(deps: ExecRouteDeps, prepared: PreparedExec | undefined, refusal: KeonError | undefined): WSEvents {
  let session: ExecSession | undefined;
  return {
    onOpen(_event, ws) {
      if (prepared === undefined) {
        ws.send(errorMessage(refusal ?? new KeonError("INTERNAL", "exec failed")));
        ws.close(1000, "refused");
        return;
      }
      session = new ExecSession(deps, prepared, ws);
      void session.run();
    },
    onMessage(event, _ws) {
      if (session === undefined) return;
      const data = event.data;
      if (typeof data === "string") {
        const control = parseControl(data);
        if (control?.type === "resize") session.resize(control.cols, control.rows);
        else if (control?.type === "eof") session.endInput();
        return;
      }
      if (data instanceof ArrayBuffer) session.input(new Uint8Array(data));
      else if (ArrayBuffer.isView(data)) session.input(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    },
    onClose() {
      session?.clientGone();
    },
    onError(event) {
      deps.log.warn({ err: (event as ErrorEvent).error }, "exec WebSocket error");
      session?.clientGone();
    },
  };
}

/** One exec: its FIFOs, its containerd process, its pumps; `finish` undoes all of it once. */
class ExecSession {
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
    private readonly deps: ExecRouteDeps,
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
      this.ws.send(failure === undefined ? JSON.stringify({ type: "exit", exitCode }) : errorMessage(failure));
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

async function makeFifos(paths: string[]): Promise<void> {
  const child = Bun.spawn(["mkfifo", "-m", "0600", ...paths], { stdout: "ignore", stderr: "pipe", timeout: 10_000 });
  const code = await child.exited;
  if (code !== 0) {
    const stderr = (await new Response(child.stderr).text()).trim();
    throw new KeonError("COMMAND_FAILED", `mkfifo failed (${code}): ${stderr}`);
  }
}
