/**
 * @module
 * What every listener does before the app sees a request, so no client can
 * hold keond's connections or its event loop:
 *
 * - At most `maxRequests` requests are in flight per listener; past that a
 *   request is answered 503 with `Connection: close` and `Retry-After`.
 * - Idle TCP connections are closed by the TCP front (tcp-front-worker.ts),
 *   except those carrying a request that is quiet on purpose (LONG_LIVED:
 *   `?wait`, log follow, SSE, exec, image import and pull). Bun 1.4.5
 *   ignores `server.timeout(request, 0)` on unix sockets (the API socket
 *   and the TCP backend), so neither runs an idle timeout of its own; where
 *   one is set (a test's TCP Bun.serve), long requests are still exempted.
 *   Before issue 13 an idle TCP connection was held forever.
 */
import { KeonError } from "../model/errors.ts";
import { toErrorEnvelope } from "./error-envelope.ts";

/** No request of a well-behaved client goes 30 s without a byte unless it is one of the long kinds below. */
export const IDLE_TIMEOUT_SECONDS = 30;

/**
 * A request head (as bytes read by the TCP front) that may stay quiet
 * longer than the idle timeout: the same kinds as isLongLived.
 */
export const LONG_LIVED =
  /^[A-Z]+ [^ \r\n]*(?:[?&](?:wait=0*[1-9]|wait=0*\.\d*[1-9]|follow(?:=(?:true|1)?)?(?:[& ]|$))|\/images\/(?:import|pull)[? ])|^accept:[^\r\n]*text\/event-stream|^upgrade:[ \t]*websocket/im;
export const DEFAULT_MAX_REQUESTS = 512;

export type FetchHandler = (request: Request, server?: unknown) => Response | Promise<Response>;

/** The part of Bun's Server the guard uses. */
export interface GuardedServer {
  readonly pendingRequests: number;
  timeout(request: Request, seconds: number): void;
}

/** Requests that may stay quiet longer than the idle timeout, decided from the request alone. */
export function isLongLived(request: Request): boolean {
  const url = new URL(request.url);
  if ((request.headers.get("accept") ?? "").includes("text/event-stream")) return true;
  if ((request.headers.get("upgrade") ?? "").toLowerCase() === "websocket") return true;
  const follow = url.searchParams.get("follow");
  if (url.pathname.endsWith("/logs") && (follow === "" || follow === "true" || follow === "1")) return true;
  const wait = url.searchParams.get("wait");
  if (wait !== null && wait !== "" && wait !== "0") return true;
  return request.method === "POST" && /\/images\/(import|pull)$/.test(url.pathname);
}

/** A refusal that also closes the connection, so whoever is refused holds no file descriptor of keond's. */
export function closingErrorResponse(error: KeonError, headers: Record<string, string> = {}): Response {
  const { status, body } = toErrorEnvelope(error);
  return Response.json(body, { status, headers: { connection: "close", ...headers } });
}

function isGuardedServer(server: unknown): server is GuardedServer {
  return typeof server === "object" && server !== null && "pendingRequests" in server && "timeout" in server;
}

export function guardConnections(fetch: FetchHandler, maxRequests = DEFAULT_MAX_REQUESTS): FetchHandler {
  return (request, server) => {
    if (isGuardedServer(server)) {
      // pendingRequests counts this request too.
      if (server.pendingRequests > maxRequests) {
        const error = new KeonError("OVERLOADED", `keond is serving ${maxRequests} requests on this listener; try again shortly`, {
          details: { limit: maxRequests },
        });
        return closingErrorResponse(error, { "retry-after": "1" });
      }
      if (isLongLived(request)) server.timeout(request, 0);
    }
    return fetch(request, server);
  };
}
