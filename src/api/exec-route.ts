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
 * Frames (exec-frames.ts):
 * - client → server, binary: bytes for the process's stdin.
 * - client → server, text: `{"type":"resize","cols":N,"rows":N}` or `{"type":"eof"}`.
 * - server → client, binary: one channel byte (1 stdout, 2 stderr) then data.
 * - server → client, text, last: `{"type":"exit","exitCode":N}` or
 *   `{"type":"error","error":{code,message}}`; then the server closes.
 *
 * This file checks everything that can be refused before the WebSocket
 * opens (cell, container, running task, process spec) and hands the rest to
 * an ExecSession (exec-session.ts).
 */
import type { Hono } from "hono";
import type { UpgradeWebSocket, WSEvents } from "hono/ws";
import type { Logger } from "pino";
import type { ContainerdClient } from "../containerd/client.ts";
import { containerSpec } from "../containerd/services/containers.ts";
import { containerdId } from "../model/derived-ids.ts";
import { KeonError, isKeonError } from "../model/errors.ts";
import { requireCell, type CellLookup, type CellRef } from "./cell-lookup.ts";
import { registerCellWebSocket } from "./cell-websocket.ts";
import { parseControl } from "./exec-frames.ts";
import { execProcessSpec, parseExecQuery, pickContainer, type ExecRequest } from "./exec-request.ts";
import { ExecSession, type PreparedExec } from "./exec-session.ts";

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

export function registerExecRoute(app: Hono, deps: ExecRouteDeps): void {
  registerCellWebSocket(app, {
    name: "exec",
    log: deps.log,
    upgradeWebSocket: deps.upgradeWebSocket,
    prepare: (ref, query) => prepareExec(deps, ref, parseExecQuery(query)),
    events: (prepared) => execEvents(deps, prepared),
  });
}

/** Everything that can be refused before the WebSocket opens: cell, container, running task, process spec. */
async function prepareExec(deps: ExecRouteDeps, ref: CellRef, request: ExecRequest): Promise<PreparedExec> {
  const { cell, namespace } = requireCell(deps.cells, ref);
  const container = pickContainer(cell.spec, request.container);
  const id = containerdId(ref.space, ref.stack, ref.cell, container);
  const client = deps.containerd.withNamespace(namespace);
  await requireRunningTask(client, id, container, ref.cell);
  const process = execProcessSpec(containerSpec(await client.containers.get(id)), request.args, request.tty);
  return { client, containerdId: id, request: { ...request, container }, process };
}

/** CONFLICT naming the container's state unless its task runs (exec and attach reach only a running process). */
export async function requireRunningTask(client: ContainerdClient, id: string, container: string, cell: string): Promise<void> {
  let state: string;
  try {
    state = (await client.tasks.get(id)).status;
  } catch (error) {
    if (!isKeonError(error, "NOT_FOUND")) throw error;
    state = "not created";
  }
  if (state !== "RUNNING") {
    throw new KeonError("CONFLICT", `container '${container}' of cell '${cell}' is not running (${state.toLowerCase()})`, {
      details: { container, state },
    });
  }
}

function execEvents(deps: ExecRouteDeps, prepared: PreparedExec): WSEvents {
  let session: ExecSession | undefined;
  return {
    onOpen(_event, ws) {
      session = new ExecSession({ execDir: deps.execDir, log: deps.log }, prepared, ws);
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
