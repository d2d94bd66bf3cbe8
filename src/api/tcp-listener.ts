/**
 * @module
 * The optional TCP listener: the same API as the unix socket, but every
 * request must carry the bearer token (auth.ts), checked before the app sees
 * it. Idle timeout 0, because Bun's default (10 s) would cut SSE and
 * log-follow streams.
 */
import type { Server } from "bun";
import { websocket, type BunWebSocketData } from "hono/bun";
import { requireBearerToken } from "./auth.ts";

export interface TcpListenOptions {
  hostname: string;
  /** 0 picks a free port (tests); read it back from `server.port`. */
  port: number;
  token: string;
  fetch: (request: Request, server?: unknown) => Response | Promise<Response>;
}

export function listenTcp(options: TcpListenOptions): Server<BunWebSocketData> {
  return Bun.serve({
    hostname: options.hostname,
    port: options.port,
    idleTimeout: 0,
    fetch: requireBearerToken(options.token, options.fetch),
    websocket,
    maxRequestBodySize: 16 * 1024 ** 3,
  });
}
