/**
 * @module
 * `GET /v1/realms/{realm}/spaces/{space}/stacks/{stack}/cells/{cell}/attach`
 * as a WebSocket: connects a client to the terminal of an attachable
 * container's running process, the console keond keeps for it
 * (console-keeper.ts). Several clients may be attached at once; each first
 * receives the recent output, then the live stream. A client that goes away
 * only detaches: the process keeps running.
 *
 * Query: `container` (default: the cell's `tty.default`, else its only
 * attachable container), `cols`/`rows` (the client terminal's size).
 *
 * Frames are exec's (exec-frames.ts): binary client → server is input,
 * text `{"type":"resize","cols":N,"rows":N}` resizes the pty (the last
 * client to resize wins); binary server → client is channel 1 then output;
 * the last text frame is `{"type":"exit","exitCode":N}` when the process
 * ended, or `{"type":"error",...}` when the attach was refused.
 */
import type { Hono } from "hono";
import type { UpgradeWebSocket, WSEvents } from "hono/ws";
import type { Logger } from "pino";
import type { ContainerdClient } from "../containerd/client.ts";
import { containerdId } from "../model/derived-ids.ts";
import { KeonError } from "../model/errors.ts";
import type { CellDocument } from "../model/schema/cell.ts";
import { requireCell, type CellLookup, type CellRef } from "./cell-lookup.ts";
import { registerCellWebSocket } from "./cell-websocket.ts";
import type { Console, ConsoleKeeper } from "./console-keeper.ts";
import { exitFrame, outputFrame, parseControl, STDOUT_CHANNEL } from "./exec-frames.ts";
import { terminalSizeOf } from "./exec-request.ts";
import { requireRunningTask } from "./exec-route.ts";

export interface AttachRouteDeps {
  cells: CellLookup;
  containerd: ContainerdClient;
  consoles: Pick<ConsoleKeeper, "ensure">;
  log: Logger;
  upgradeWebSocket?: UpgradeWebSocket;
}

/**
 * The container an attach reaches: the one asked for, else the cell's
 * `tty.default`, else its only attachable container; it must be attachable.
 */
export function pickAttachContainer(spec: CellDocument["spec"], requested: string | undefined): string {
  const ids = spec.containers.map((c) => c.id);
  const attachable = spec.containers.filter((c) => c.attachable === true).map((c) => c.id);
  let chosen: string;
  if (requested !== undefined && requested !== "") {
    if (!ids.includes(requested)) {
      throw new KeonError("CONTAINER_NOT_FOUND", `cell has no container '${requested}'; it has: ${ids.join(", ") || "none"}`, {
        details: { container: requested, containers: ids },
      });
    }
    chosen = requested;
  } else if (spec.tty?.default) {
    chosen = spec.tty.default;
  } else if (attachable.length === 1) {
    chosen = attachable[0]!;
  } else {
    throw new KeonError(
      "INVALID_REQUEST",
      attachable.length === 0
        ? "the cell has no attachable container (set attachable: true on one)"
        : `the cell has ${attachable.length} attachable containers (${attachable.join(", ")}): name one with container`,
      { details: { containers: attachable } },
    );
  }
  if (!attachable.includes(chosen)) {
    throw new KeonError("CONFLICT", `container '${chosen}' is not attachable (set attachable: true on it)`, { details: { container: chosen } });
  }
  return chosen;
}

/** Output queued for one client beyond which it is disconnected. */
const MAX_CLIENT_BUFFER_BYTES = 4 * 1024 * 1024;

/** Bytes Bun's WebSocket still holds for the client (hono/bun's context gives the ServerWebSocket as `raw`). */
function bufferedOf(raw: unknown): number {
  const socket = raw as { getBufferedAmount?: () => number } | undefined;
  return socket?.getBufferedAmount?.() ?? 0;
}

interface PreparedAttach {
  console: Console;
  size: { width: number; height: number } | undefined;
}

export function registerAttachRoute(app: Hono, deps: AttachRouteDeps): void {
  registerCellWebSocket(app, {
    name: "attach",
    log: deps.log,
    upgradeWebSocket: deps.upgradeWebSocket,
    prepare: (ref, query) => prepareAttach(deps, ref, query),
    events: attachEvents,
  });
}

async function prepareAttach(deps: AttachRouteDeps, ref: CellRef, query: URLSearchParams): Promise<PreparedAttach> {
  const size = terminalSizeOf(query);
  const { cell, namespace } = requireCell(deps.cells, ref);
  const container = pickAttachContainer(cell.spec, query.get("container") ?? undefined);
  await requireRunningTask(deps.containerd.withNamespace(namespace), containerdId(ref.space, ref.stack, ref.cell, container), container, ref.cell);
  const console = await deps.consoles.ensure({ namespace, ref, container });
  if (console === undefined) {
    throw new KeonError("CONFLICT", `container '${container}' of cell '${ref.cell}' runs without a console (started before it was attachable): restart the cell`, {
      details: { container },
    });
  }
  return { console, size };
}

function attachEvents(prepared: PreparedAttach): WSEvents {
  let detach: (() => void) | undefined;
  return {
    onOpen(_event, ws) {
      detach = prepared.console.attach({
        output: (data) => {
          // A client that stopped reading is let go rather than buffered without bound; the others go on.
          if (bufferedOf(ws.raw) > MAX_CLIENT_BUFFER_BYTES) {
            detach?.();
            ws.close(1008, "client too slow");
            return;
          }
          ws.send(outputFrame(STDOUT_CHANNEL, data));
        },
        ended: (exitCode) => {
          ws.send(exitFrame(exitCode));
          ws.close(1000, "exited");
        },
      });
      if (!prepared.console.isOpen) {
        ws.send(exitFrame(undefined));
        ws.close(1000, "exited");
        return;
      }
      if (prepared.size !== undefined) prepared.console.resize(prepared.size.width, prepared.size.height);
    },
    onMessage(event) {
      if (detach === undefined) return;
      const data = event.data;
      if (typeof data === "string") {
        const control = parseControl(data);
        if (control?.type === "resize") prepared.console.resize(control.cols, control.rows);
        return;
      }
      if (data instanceof ArrayBuffer) prepared.console.write(new Uint8Array(data));
      else if (ArrayBuffer.isView(data)) prepared.console.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    },
    onClose() {
      detach?.();
    },
    onError() {
      detach?.();
    },
  };
}
