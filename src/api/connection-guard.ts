/**
 * @module
 * What every listener does before the app sees a request, so no client can
 * hold keond's connections or its event loop:
 *
 * - Idle connections are closed: the listeners run with IDLE_TIMEOUT_SECONDS
 *   (Bun's idleTimeout counts from the last byte either way, so it is both
 *   the header and the body timeout). Requests that are long on purpose
 *   (SSE, log follow, `?wait`, exec, image upload and pull) are exempted one
 *   by one with `server.timeout(request, 0)`: SSE sends heartbeats, the rest
 *   are bounded by their own deadlines. Before issue 13 both listeners ran
 *   with idleTimeout 0, so an idle connection was held forever.
 * - At most `maxRequests` requests are in flight per listener; past that a
 *   request is answered 503 with `Connection: close` and `Retry-After`.
 */
import { KeonError } from "../model/errors.ts";
import { toErrorEnvelope } from "./error-envelope.ts";

/** No request of a well-behaved client goes 30 s without a byte unless it is one of the long kinds below. */
export const IDLE_TIMEOUT_SECONDS = 30;
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
