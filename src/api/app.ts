/**
 * @module
 * The Hono control API: one router per concern, composed here with the one
 * error envelope. The API changes desired state only (the store) and tells
 * the realm workers through `dispatch`; it learns what they did through the
 * `bus` (status for `?wait`, events for SSE, metrics for /metrics).
 *
 * Routes:
 *   /healthz /readyz /v1/version /metrics /openapi.json           ops-routes.ts
 *   /v1/realms[/{realm}] ... /cells[/{cell}], secrets, volumes     resource-routes.ts
 *   .../cells/{cell}/containers[/{container}]                      containers-routes.ts
 *   .../cells/{cell}/{start|stop|kill|restart}                     cell-actions-routes.ts
 *   .../cells/{cell}/logs                                          logs-routes.ts
 *   /v1/{realms|spaces|stacks|cells|containers|secrets|volumes}    lists-routes.ts
 *   /v1/apply                                                      apply-routes.ts
 *   .../stacks/{stack}/stamp (a cell from a blueprint or config)   stamp-route.ts
 *   /v1/fleet/nodes[/{node}[/drain|/uncordon]], /v1/fleet/cells    fleet-routes.ts
 *   /v1/events                                                     events-routes.ts
 *   .../cells/{cell}/exec (WebSocket)                              exec-route.ts
 *   .../cells/{cell}/attach (WebSocket)                            attach-route.ts, console-keeper.ts
 *   .../cells/{cell}/top                                           top-route.ts
 *   .../cells/{cell}/files                                         cell-files-route.ts
 *   .../cells/{cell}/export, .../stacks/{stack}/imports            cell-export-routes.ts
 *   /v1/realms/{realm}/images[...]                                 images-route.ts
 *   /v1/status                                                     status-route.ts
 *   /v1/tokens[/{name}] (unix socket only)                         token-routes.ts
 */
import { join } from "node:path";
import { Hono } from "hono";
import { KeonError } from "../model/errors.ts";
import { applyRoutes } from "./apply-routes.ts";
import { fleetComponent, fleetRoutes } from "./fleet-routes.ts";
import { cellActionsRoutes } from "./cell-actions-routes.ts";
import { cellFreezeRoutes } from "./cell-freeze-routes.ts";
import { cellSnapshotRoutes } from "./cell-snapshot-routes.ts";
import { cellForkRoute } from "./cell-fork-route.ts";
import { cellHibernateRoutes } from "./cell-hibernate-routes.ts";
import { storeCellLookup } from "./cell-lookup.ts";
import { containersRoutes } from "./containers-routes.ts";
import type { ApiDeps } from "./deps.ts";
import { toErrorEnvelope } from "./error-envelope.ts";
import { authorize, identityOf } from "./identity.ts";
import { tokenRoutes } from "./token-routes.ts";
import { eventsRoutes } from "./events-routes.ts";
import { registerExecRoute } from "./exec-route.ts";
import { registerAttachRoute } from "./attach-route.ts";
import { ConsoleKeeper, storeConsoleCells } from "./console-keeper.ts";
import { LogTimekeeper } from "./log-timekeeper.ts";
import { registerImagesRoute } from "./images-route.ts";
import { registerImagePullRoute } from "./image-pull-route.ts";
import { listsRoutes } from "./lists-routes.ts";
import { logsRoutes } from "./logs-routes.ts";
import { WorkerMetricsBook } from "./metrics.ts";
import { eventLoopLag, RequestDurations } from "./daemon-metrics.ts";
import { CLIENT_CLOSED_REQUEST, clientWentAway, observeRequests } from "./request-observer.ts";
import { opsRoutes } from "./ops-routes.ts";
import { resourceRoutes } from "./resource-routes.ts";
import { stampRoutes } from "./stamp-route.ts";
import { registerStatusRoute } from "./status-route.ts";
import { registerTopRoute } from "./top-route.ts";
import { registerFilesRoute } from "./cell-files-route.ts";
import { cellExportRoutes } from "./cell-export-routes.ts";

export type { ApiDeps, ApiTiming, DaemonBus, ReadinessProbe, RealmDispatch } from "./deps.ts";
export type { WorkerHealth, WorkerState } from "../protocol/messages.ts";

export function createApp(deps: ApiDeps): Hono {
  const startedAt = deps.startedAt ?? new Date();
  const app = new Hono();
  const metrics = new WorkerMetricsBook();
  // Lives as long as the app (the daemon's lifetime), so it is never unsubscribed.
  metrics.listen(deps.bus);
  const requests = new RequestDurations();
  eventLoopLag.start();

  app.onError((err, c) => {
    if (clientWentAway(c.req.raw, err)) {
      deps.log.info({ method: c.req.method, path: c.req.path }, "client closed the connection before its request was read");
      return c.body(null, CLIENT_CLOSED_REQUEST as 400);
    }
    if (!(err instanceof KeonError)) deps.log.error({ err }, "unhandled API error");
    else if (err.code === "STORE_ERROR" || err.code === "INTERNAL") deps.log.error({ err }, "API request failed");
    const { status, body } = toErrorEnvelope(err);
    return c.json(body, status as 400);
  });

  app.notFound((c) =>
    c.json({ error: { code: "NOT_FOUND", message: `no route for ${c.req.method} ${c.req.path}` } }, 404),
  );

  app.use("*", observeRequests(deps.log.child({ component: "api" }), requests));
  // Before any route: what the caller's identity may do (the unix socket is the administrator).
  app.use("*", async (c, next) => {
    const refusal = authorize(identityOf(c.req.raw), c.req.method, new URL(c.req.url));
    if (refusal !== undefined) throw refusal;
    await next();
  });
  app.route("/", tokenRoutes(deps));
  app.route("/", opsRoutes(deps, metrics, requests));
  app.route("/", listsRoutes(deps));
  app.route("/", resourceRoutes(deps));
  app.route("/", containersRoutes(deps));
  app.route("/", cellActionsRoutes(deps));
  app.route("/", cellFreezeRoutes(deps));
  app.route("/", cellSnapshotRoutes(deps));
  app.route("/", cellForkRoute(deps));
  app.route("/", cellHibernateRoutes(deps));
  app.route("/", cellExportRoutes(deps));
  app.route("/", logsRoutes(deps));
  app.route("/", applyRoutes(deps));
  app.route("/", stampRoutes(deps));
  app.route("/", fleetRoutes(deps));
  app.route("/", eventsRoutes(deps));

  const cells = storeCellLookup(deps.store, deps.containerdNamespaceSuffix);
  registerExecRoute(app, { cells, containerd: deps.containerd, execDir: join(deps.runPath, "exec"), log: deps.log.child({ component: "exec" }) });
  const consoleCells = storeConsoleCells(deps.store, cells);
  const consoles = new ConsoleKeeper({ cells: consoleCells, containerd: deps.containerd, runPath: deps.runPath, log: deps.log.child({ component: "console" }) });
  consoles.listen(deps.bus);
  void consoles.recover();
  const logTimes = new LogTimekeeper({ runPath: deps.runPath, cells: () => consoleCells.all(), log: deps.log.child({ component: "log-times" }) });
  logTimes.listen(deps.bus);
  logTimes.recover();
  registerAttachRoute(app, { cells, containerd: deps.containerd, consoles, log: deps.log.child({ component: "attach" }) });
  registerTopRoute(app, { cells, cgroupRoot: deps.cgroupRoot });
  registerFilesRoute(app, { cells, containerd: deps.containerd });
  registerImagesRoute(app, { cells, store: deps.store, containerd: deps.containerd, uploadDir: join(deps.runPath, "uploads"), log: deps.log.child({ component: "images" }) });
  registerImagePullRoute(app, { cells, store: deps.store, containerd: deps.containerd, pullOptions: deps.pullOptions, log: deps.log.child({ component: "image-pull" }) });
  registerStatusRoute(app, {
    version: deps.version,
    startedAt,
    containerdVersion: () => deps.readiness.containerdVersion(),
    workers: () => deps.dispatch.health(),
    cgroupRoot: deps.cgroupRoot,
    tlsFingerprint: deps.tlsFingerprint,
    ...(deps.fleet === undefined ? {} : { fleet: () => fleetComponent(deps.fleet!.state()) }),
  });

  return app;
}
