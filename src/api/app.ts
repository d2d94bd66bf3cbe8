/**
 * @module
 * The Hono control API. For now it serves the operations endpoints; the
 * resource routers join here with the daemon issue.
 */
import { Hono } from "hono";
import type { Logger } from "pino";
import { KeonError } from "../model/errors.ts";
import { toErrorEnvelope } from "./error-envelope.ts";

/** What the API needs from the daemon to answer readiness; kept small on purpose. */
export interface ReadinessProbe {
  /** Resolves with the containerd version, or throws a KeonError. */
  containerdVersion(): Promise<string>;
}

export interface ApiDeps {
  version: string;
  readiness: ReadinessProbe;
  log: Logger;
}

export function createApp(deps: ApiDeps): Hono {
  const app = new Hono();

  app.onError((err, c) => {
    if (!(err instanceof KeonError)) deps.log.error({ err }, "unhandled API error");
    const { status, body } = toErrorEnvelope(err);
    return c.json(body, status as 400);
  });

  app.notFound((c) =>
    c.json({ error: { code: "NOT_FOUND", message: `no route for ${c.req.method} ${c.req.path}` } }, 404),
  );

  app.get("/healthz", (c) => c.json({ status: "ok" }));

  app.get("/readyz", async (c) => {
    const containerd = await deps.readiness.containerdVersion();
    return c.json({ status: "ready", containerd });
  });

  app.get("/v1/version", (c) => c.json({ keon: deps.version }));

  return app;
}
