/**
 * @module
 * A WebSocket route under a cell (exec, attach): everything that can be
 * refused is checked before the upgrade completes, and a refusal is sent as
 * the error frame once the socket opens (exec-frames.ts), so the client
 * reads the same envelope whatever went wrong.
 */
import type { Hono } from "hono";
import { upgradeWebSocket as bunUpgradeWebSocket } from "hono/bun";
import type { UpgradeWebSocket, WSEvents } from "hono/ws";
import type { Logger } from "pino";
import { KeonError, isKeonError } from "../model/errors.ts";
import { CELL_ROUTE, cellRefOf, type CellRef } from "./cell-lookup.ts";
import { errorFrame } from "./exec-frames.ts";

export interface CellWebSocketRoute<Prepared> {
  /** The path's last segment: `exec`, `attach`. */
  name: string;
  log: Logger;
  /** hono/bun's helper by default; Bun.serve must then be given hono/bun's `websocket` handler. */
  upgradeWebSocket?: UpgradeWebSocket | undefined;
  /** Checks and prepares; a throw is the refusal. */
  prepare(ref: CellRef, query: URLSearchParams): Promise<Prepared>;
  /** The socket's handlers once prepared; onOpen is this route's to write. */
  events(prepared: Prepared): WSEvents;
}

export function registerCellWebSocket<Prepared>(app: Hono, route: CellWebSocketRoute<Prepared>): void {
  const upgrade = route.upgradeWebSocket ?? (bunUpgradeWebSocket as unknown as UpgradeWebSocket);
  app.get(
    `${CELL_ROUTE}/${route.name}`,
    upgrade(async (c) => {
      try {
        return route.events(await route.prepare(cellRefOf(c.req.param()), new URL(c.req.url).searchParams));
      } catch (error) {
        if (!isKeonError(error)) route.log.error({ err: error }, `${route.name} refused by an unexpected error`);
        return refusedEvents(isKeonError(error) ? error : new KeonError("INTERNAL", `${route.name} failed`, { cause: error }));
      }
    }) as never,
  );
}

function refusedEvents(refusal: KeonError): WSEvents {
  return {
    onOpen(_event, ws) {
      ws.send(errorFrame(refusal));
      ws.close(1000, "refused");
    },
  };
}
