/**
 * @module
 * The optional TCP listener: the same API as the unix socket, but every
 * request must carry the bearer token (auth.ts), checked before the app sees
 * it. Idle connections are closed and requests capped (connection-guard.ts);
 * long streams are exempted from the idle timeout request by request.
 */
import type { Server } from "bun";
import { websocket, type BunWebSocketData } from "hono/bun";
import { requireBearerToken } from "./auth.ts";
import { DEFAULT_MAX_REQUESTS, guardConnections, IDLE_TIMEOUT_SECONDS } from "./connection-guard.ts";

export interface TcpListenOptions {
  hostname: string;
  /** 0 picks a free port (tests); read it back from `server.port`. */
  port: number;
  token: string;
  fetch: (request: Request, server?: unknown) => Response | Promise<Response>;
  /** Requests in flight past which a request is answered 503. */
  maxRequests?: number;
  /** Seconds without a byte before a connection is closed (tests shorten it). */
  idleTimeoutSeconds?: number;
}

export function listenTcp(options: TcpListenOptions): Server<BunWebSocketData> {
  return Bun.serve({
    hostname: options.hostname,
    port: options.port,
    idleTimeout: options.idleTimeoutSeconds ?? IDLE_TIMEOUT_SECONDS,
    fetch: guardConnections(requireBearerToken(options.token, options.fetch), options.maxRequests ?? DEFAULT_MAX_REQUESTS),
    websocket,
    maxRequestBodySize: 16 * 1024 ** 3,
  });
}
