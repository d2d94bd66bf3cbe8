/**
 * @module
 * What keond notes about each API request: its duration by matched route and
 * status code (keon_api_request_duration_seconds), and one log line per
 * request that changes something (method, path, status, duration, who),
 * reads at debug. The log names the caller by identity (`admin` on the unix
 * socket, `token:<name>` on TCP), never by a secret; bodies are not logged.
 *
 * A client that hangs up before its request is read is not keond's error:
 * `clientWentAway` lets the app's error handler note it at info, without a
 * stack, and answer 499 (nobody reads it; the code keeps it apart in metrics).
 */
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { Logger } from "pino";
import type { RequestDurations } from "./daemon-metrics.ts";
import { identityOf, isWrite, type Identity } from "./identity.ts";
import { openApiPath } from "./openapi.ts";

/** nginx's "client closed request": the status a hang-up is counted under. */
export const CLIENT_CLOSED_REQUEST = 499;

/** The route pattern that answered (or would have, had a middleware not refused first); `unmatched` for none. */
export function matchedRoute(c: Context): string {
  const routes = matchedRoutes(c);
  const answering = routes[c.req.routeIndex];
  // `ALL` entries are middleware (app.use), not routes.
  const route = answering !== undefined && answering.method !== "ALL" ? answering : routes.find((r) => r.method !== "ALL");
  return route === undefined ? "unmatched" : openApiPath(route.path);
}

export function identityLabel(identity: Identity): string {
  return identity.kind === "admin" ? "admin" : `token:${identity.name}`;
}

/** Middleware, first in the chain, so the app's refusals (403, 404) are counted too; a 401 is the TCP listener's, before the app. */
export function observeRequests(log: Logger, durations: RequestDurations): MiddlewareHandler {
  return async (c, next) => {
    const begun = performance.now();
    await next();
    const seconds = (performance.now() - begun) / 1000;
    const { method, path } = c.req;
    const route = matchedRoute(c);
    const status = c.res.status;
    durations.observe(method, route, status, seconds);
    const line = { method, path, route, status, ms: Math.round(seconds * 1000), identity: identityLabel(identityOf(c.req.raw)) };
    if (isWrite(method, path)) log.info(line, "api request");
    else log.debug(line, "api request");
  };
}

/** The client closed the connection while its request was being read: nothing went wrong in keond. */
export function clientWentAway(request: Request, error: unknown): boolean {
  return request.signal.aborted && error instanceof Error && error.name === "AbortError";
}
