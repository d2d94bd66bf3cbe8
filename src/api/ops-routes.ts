/**
 * @module
 * Operations endpoints: `/healthz` (the process answers), `/readyz`
 * (containerd answers and no realm worker has failed for good; 503
 * otherwise, with the worker health either way), `/v1/version`, `/metrics`
 * and `/openapi.json`.
 */
import { Hono } from "hono";
import { KeonError } from "../model/errors.ts";
import type { ApiDeps } from "./deps.ts";
import { eventLoopLag, readProcessFacts, renderDaemonMetrics, type RequestDurations } from "./daemon-metrics.ts";
import { METRICS_CONTENT_TYPE, renderMetrics, type WorkerMetricsBook } from "./metrics.ts";
import { buildOpenApi } from "./openapi.ts";

export function opsRoutes(deps: ApiDeps, metrics: WorkerMetricsBook, requests: RequestDurations): Hono {
  const app = new Hono();
  let openApiText: string | undefined;

  app.get("/healthz", (c) => c.json({ status: "ok" }));

  app.get("/readyz", async (c) => {
    const workers = deps.dispatch.health();
    const failed = workers.filter((w) => w.state === "failed").map((w) => w.realm);
    let containerd: string;
    try {
      containerd = await deps.readiness.containerdVersion();
    } catch (error) {
      const cause = error instanceof KeonError ? error : new KeonError("CONTAINERD_UNAVAILABLE", "containerd did not answer", { cause: error });
      if (!(error instanceof KeonError)) deps.log.warn({ err: error }, "readiness probe failed");
      return c.json({ status: "not-ready", error: { code: cause.code, message: cause.message }, workers }, 503);
    }
    if (failed.length > 0) {
      const message = `realm workers failed: ${failed.join(", ")}`;
      return c.json({ status: "not-ready", containerd, error: { code: "INTERNAL", message }, workers }, 503);
    }
    return c.json({ status: "ready", containerd, workers });
  });

  app.get("/v1/version", (c) => c.json({ keon: deps.version }));

  app.get("/metrics", (c) => {
    const daemon = renderDaemonMetrics({ version: deps.version, process: readProcessFacts(), eventLoopLagSeconds: eventLoopLag.worstSeconds(), requests });
    return c.body(daemon + renderMetrics(metrics.entries(), deps.dispatch.health()), 200, { "content-type": METRICS_CONTENT_TYPE });
  });

  app.get("/openapi.json", (c) => {
    // Built once: it depends only on the schemas and the version.
    openApiText ??= JSON.stringify(buildOpenApi(deps.version));
    return c.body(openApiText, 200, { "content-type": "application/json" });
  });

  return app;
}
