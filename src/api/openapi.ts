/**
 * @module
 * The OpenAPI 3.1 description served at /openapi.json. Document schemas come
 * from the model's valibot schemas through json-schema.ts; the paths come from
 * the same tables the routers are built from (resource-paths.ts), and a unit
 * test walks the Hono router and fails on any route not described here.
 *
 * To describe a new route: one `add(honoPath, method, {summary, responses…})`
 * call in buildOpenApi, with the path exactly as registered in Hono
 * (`:param` and `:param{regex}` become `{param}` with their parameters).
 * `add` fills in what every operation needs: an operationId derived from the
 * method and path unless one is given (operationIdOf), and the bearer
 * security of the document unless the operation sets its own. Reuse ERRORS,
 * WAIT, queryParam, ref and json; put a new response shape in `schemas`.
 */
import { NAME_MAX_LENGTH, NAME_PATTERN } from "../model/names.ts";
import { cellStatusSchema } from "../model/schema/cell.ts";
import { nameSchema } from "../model/schema/common.ts";
import { containerStatusSchema } from "../model/schema/container.ts";
import { DOCUMENT_SCHEMAS, type DocumentKind } from "../model/schema/document.ts";
import { realmStatusSchema } from "../model/schema/realm.ts";
import { spaceStatusSchema } from "../model/schema/space.ts";
import { stackStatusSchema } from "../model/schema/stack.ts";
import { CELL_ACTIONS } from "./cell-actions-routes.ts";
import { CELL_ROUTE } from "./cell-lookup.ts";
import { RESPONSE_SCHEMAS, TCP_SERVER, UNIX_SOCKET_SERVER } from "./openapi-responses.ts";
import { DEFAULT_SAMPLE_MS, MAX_SAMPLE_MS } from "./top-route.ts";
import { tokenCreateSchema } from "./token-routes.ts";
import { FREEZE_ACTIONS } from "./cell-freeze-routes.ts";
import { HIBERNATE_ACTIONS } from "./cell-hibernate-routes.ts";
import { stampRequestSchema } from "./stamp-route.ts";
import { FLEET_KINDS } from "./fleet-routes.ts";
import { toJsonSchema, type JsonSchema } from "./json-schema.ts";
import { NAME_PARAM, PLURALS, SCOPE_DEPTHS, SCOPE_LEVELS, SCOPE_PREFIXES } from "./resource-paths.ts";

const NAME_JSON_SCHEMA: JsonSchema = { type: "string", pattern: NAME_PATTERN.source, maxLength: NAME_MAX_LENGTH };
const KNOWN = new Map<unknown, JsonSchema>([[nameSchema, NAME_JSON_SCHEMA]]);

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonSchema) => ({ "application/json": { schema } });

const STATUS_SCHEMAS: Partial<Record<DocumentKind, unknown>> = {
  Realm: realmStatusSchema,
  Space: spaceStatusSchema,
  Stack: stackStatusSchema,
  Cell: cellStatusSchema,
  Container: containerStatusSchema,
};

function errorResponse(description: string): JsonSchema {
  return { description, content: json(ref("Error")) };
}

const ERRORS = {
  "400": errorResponse("Invalid document, name or query parameter (details.issues name the field paths)"),
  "401": errorResponse("Missing or wrong bearer token (TCP listener only)"),
  "403": errorResponse("The token may not do this: read-only, or limited to other realms (TCP listener only)"),
  "404": errorResponse("The resource, or one enclosing it, does not exist (code names the kind)"),
  "409": errorResponse("Conflict: being deleted, has dependents without cascade, or container id clash"),
  "413": errorResponse("Request body over 4 MiB"),
  "504": errorResponse("?wait ran out before the resource settled (DEADLINE_EXCEEDED)"),
};

/** The errors any route can answer besides its own: bad token, and a token limited to other realms. */
const AUTH_ERRORS = { "401": ERRORS["401"], "403": ERRORS["403"] };

interface Operation {
  summary: string;
  /** Default: derived from the method and path (operationIdOf). */
  operationId?: string;
  description?: string;
  parameters?: JsonSchema[];
  requestBody?: JsonSchema;
  responses: Record<string, JsonSchema>;
  /** Default: the document's (the bearer token); `[]` for a route that takes none. */
  security?: JsonSchema[];
  servers?: JsonSchema[];
}

function queryParam(name: string, description: string, schema: JsonSchema = { type: "string" }): JsonSchema {
  return { name, in: "query", required: false, description, schema };
}

const WAIT = queryParam("wait", "Seconds (at most 600) to wait until the change settled", { type: "number", minimum: 0, maximum: 600 });
const SELECTOR = queryParam("labelSelector", "Comma-separated a=b, a!=b, a, !a");

/** Hono path parameters: `:name`, or `:name{regex}` for one that may span segments. */
const HONO_PARAM = /:([A-Za-z0-9_]+)(\{[^}]*\})?/g;

function pathParams(path: string): JsonSchema[] {
  return [...path.matchAll(HONO_PARAM)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    // A regex-constrained parameter (an image reference) is not a resource name.
    schema: m[2] === undefined ? NAME_JSON_SCHEMA : { type: "string" },
  }));
}

/** Hono's `:param` (and `:param{regex}`) to OpenAPI's `{param}`. */
export function openApiPath(path: string): string {
  return path.replace(HONO_PARAM, "{$1}");
}

const pascal = (word: string): string => word.split(/[^A-Za-z0-9]+/).map((w) => `${w[0]?.toUpperCase() ?? ""}${w.slice(1)}`).join("");

/**
 * A stable operationId from the method and path, for routes that do not name
 * one: `POST /v1/realms/:realm/images/pull` → `postRealmsImagesPull`,
 * a parameter named (`ByRef`) only when the path ends in one. Two paths that
 * differ only in their parameters would share an id: the route test
 * (openapi-routes.test.ts) fails on any duplicate, so name one explicitly.
 */
export function operationIdOf(method: string, path: string): string {
  const segments = path.split("/").filter((s) => s !== "" && s !== "v1");
  const words = segments.map((s, i) => {
    if (!s.startsWith(":")) return pascal(s);
    return i === segments.length - 1 ? `By${pascal(s.slice(1).replace(/\{.*\}$/, ""))}` : "";
  });
  return `${method.toLowerCase()}${words.join("")}`;
}

const DOCUMENT_BODY = {
  required: true,
  description: "One document, YAML (default) or JSON (Content-Type: application/json)",
  content: { "application/yaml": { schema: ref("Document") }, ...json(ref("Document")) },
};

export function buildOpenApi(version: string): JsonSchema {
  const paths: Record<string, Record<string, Operation>> = {};
  const add = (path: string, method: string, operation: Operation) => {
    // A path parameter the operation describes itself (a kind, not a name) replaces the derived one.
    const own = operation.parameters ?? [];
    const isOwn = (p: JsonSchema) => own.some((o) => o["in"] === "path" && o["name"] === p["name"]);
    const params = pathParams(path).map((p) => own.find((o) => o["in"] === "path" && o["name"] === p["name"]) ?? p);
    const entry = (paths[openApiPath(path)] ??= {});
    entry[method] = {
      ...operation,
      operationId: operation.operationId ?? operationIdOf(method, path),
      parameters: [...params, ...own.filter((o) => !isOwn(o))],
      responses: operation.security === undefined ? { ...AUTH_ERRORS, ...operation.responses } : operation.responses,
    };
  };
  /** The kind's own words in operationIds: `Secret` at several depths says which (`SecretInCell`). */
  const scoped = (kind: DocumentKind, depth: number, plural = false): string => {
    const noun = plural ? pascal(PLURALS[kind]) : kind;
    return SCOPE_DEPTHS[kind].length === 1 ? noun : `${noun}In${pascal(SCOPE_LEVELS[depth - 1] ?? "")}`;
  };

  for (const kind of Object.keys(PLURALS) as DocumentKind[]) {
    // `?fleet=true` on the kinds a fleet holds (fleet-routes.ts fleetPut, fleetDelete).
    const inFleet = FLEET_KINDS.includes(kind);
    const fleetParam = (what: string) => (inFleet ? [queryParam("fleet", what, { type: "boolean" })] : []);
    const fleetDown: Record<string, JsonSchema> = inFleet ? { "503": errorResponse("?fleet: etcd did not answer or has no quorum (FLEET_UNAVAILABLE); nothing changed") } : {};
    for (const depth of SCOPE_DEPTHS[kind]) {
      const collection = `${SCOPE_PREFIXES[depth]}/${PLURALS[kind]}`;
      const item = `${collection}/:${NAME_PARAM[kind]}`;
      add(collection, "get", {
        operationId: `list${scoped(kind, depth, true)}`,
        summary: kind === "Container" ? "The cell's containers (spec items and Container documents) with status" : `List ${PLURALS[kind]} in this scope`,
        parameters: [SELECTOR],
        responses: { "200": { description: "A List document", content: json(ref("List")) }, "404": ERRORS["404"] },
      });
      add(item, "get", {
        operationId: `get${scoped(kind, depth)}`,
        summary: `Get a ${kind} (write-only values never included)`,
        responses: { "200": { description: `The ${kind}`, content: json(ref(`${kind}Stored`)) }, "404": ERRORS["404"] },
      });
      add(item, "put", {
        operationId: `put${scoped(kind, depth)}`,
        summary: `Create or update a ${kind}; the path must agree with the document's name and scope`,
        parameters: [WAIT, ...fleetParam("Store the document in the fleet (etcd) instead of this node, as POST /v1/apply?fleet=true does; with wait, until each cell is settled on its node")],
        requestBody: DOCUMENT_BODY,
        responses: {
          "201": { description: "Created", content: json(ref("PutResult")) },
          "200": { description: "Updated or unchanged", content: json(ref("PutResult")) },
          ...ERRORS,
          ...fleetDown,
        },
      });
      add(item, "delete", {
        operationId: `delete${scoped(kind, depth)}`,
        summary: `Delete a ${kind}${kind === "Secret" ? "" : " (its worker tears it down)"}`,
        parameters: [
          WAIT,
          queryParam("cascade", "Delete everything inside it too", { type: "boolean" }),
          ...fleetParam("Delete from the fleet (etcd) instead of this node: done once etcd holds it (200, the keys removed); not with wait"),
        ],
        responses: {
          "200": { description: "Deleted", content: json(ref("DeleteResult")) },
          "202": { description: "Deletion requested", content: json(ref("DeleteResult")) },
          "404": ERRORS["404"],
          "409": ERRORS["409"],
          "504": ERRORS["504"],
          ...(inFleet ? { "400": errorResponse("?fleet on a keond that is not in a fleet (UNSUPPORTED), or with wait") } as Record<string, JsonSchema> : {}),
          ...fleetDown,
        },
      });
    }
    add(`/v1/${PLURALS[kind]}`, "get", {
      operationId: `listAll${pascal(PLURALS[kind])}`,
      summary: `All ${PLURALS[kind]}, optionally filtered by scope and labels`,
      parameters: ["realm", "space", "stack", "cell"].map((l) => queryParam(l, `Only inside this ${l}`, NAME_JSON_SCHEMA)).concat(SELECTOR),
      responses: { "200": { description: "A List document", content: json(ref("List")) }, "400": ERRORS["400"] },
    });
  }

  for (const action of Object.keys(CELL_ACTIONS)) {
    add(`${SCOPE_PREFIXES[3]}/cells/:cell/${action}`, "post", {
      operationId: `${action}Cell`,
      summary: `${action[0]?.toUpperCase()}${action.slice(1)} the cell`,
      parameters: [WAIT],
      responses: { "202": { description: "Intent recorded", content: json(ref("ActionResult")) }, "200": { description: "Settled (?wait)", content: json(ref("ActionResult")) }, "404": ERRORS["404"], "409": ERRORS["409"], "504": ERRORS["504"] },
    });
  }
  for (const action of Object.keys(FREEZE_ACTIONS)) {
    add(`${SCOPE_PREFIXES[3]}/cells/:cell/${action}`, "post", {
      operationId: `${action}Cell`,
      summary: action === "freeze" ? "Freeze the cell: pause every task (memory kept, no CPU; no restart or heal until unfrozen)" : "Unfreeze the cell: resume every paused task",
      parameters: [WAIT],
      responses: { "202": { description: "Intent recorded", content: json(ref("FreezeResult")) }, "200": { description: "Settled (?wait)", content: json(ref("FreezeResult")) }, "404": ERRORS["404"], "409": ERRORS["409"], "504": ERRORS["504"] },
    });
  }
  for (const action of Object.keys(HIBERNATE_ACTIONS)) {
    add(`${SCOPE_PREFIXES[3]}/cells/:cell/${action}`, "post", {
      operationId: `${action}Cell`,
      summary: action === "hibernate"
        ? "Hibernate the cell (annotation keon.io/hibernate: \"true\"): tasks stopped, address and cgroups released, filesystem kept (memory only with CRIU: see /v1/status)"
        : "Wake the cell (keon.io/hibernate: \"false\"): started again on its kept filesystem",
      parameters: [WAIT],
      responses: {
        "202": { description: "Annotation stored (a new generation)", content: json({ type: "object", properties: { action: { type: "string" }, generation: { type: "integer" }, document: ref("CellStored") } }) },
        "200": { description: "status.lifecycle reached hibernated / ready at that generation (?wait)" },
        "404": ERRORS["404"], "409": ERRORS["409"], "422": { description: "The lifecycle failed (?wait)", content: json(ref("Error")) }, "504": ERRORS["504"],
      },
    });
  }
  const snapshots = `${SCOPE_PREFIXES[3]}/cells/:cell/snapshots`;
  const snapshotRef = json({ type: "object", properties: { snapshot: ref("Snapshot") } });
  add(snapshots, "post", {
    operationId: "snapshotCell",
    summary: "Snapshot the cell: the worker freezes it briefly and commits each container's writable layer into an image",
    parameters: [
      WAIT,
      queryParam("name", "The snapshot's name (default snap-DATE-TIME)", NAME_JSON_SCHEMA),
      queryParam("expiresSeconds", "Remove the snapshot this long after it is asked for", { type: "integer", minimum: 0 }),
    ],
    responses: { "202": { description: "Requested (Pending)", content: snapshotRef }, "200": { description: "Ready (?wait)", content: snapshotRef }, "404": ERRORS["404"], "409": ERRORS["409"], "422": { description: "The snapshot failed (?wait)", content: json(ref("Error")) }, "504": ERRORS["504"] },
  });
  add(snapshots, "get", {
    operationId: "listCellSnapshots",
    summary: "The cell's snapshots, and those retained from a deleted cell of this path (cellDeletedAt set) while other cells use their images",
    responses: { "200": { description: "Snapshots", content: json({ type: "object", properties: { items: { type: "array", items: ref("Snapshot") } } }) }, "404": ERRORS["404"] },
  });
  add(`${snapshots}/:snapshot`, "get", {
    operationId: "getCellSnapshot",
    summary: "One snapshot, with the cell document it recorded",
    responses: { "200": { description: "The snapshot", content: snapshotRef }, "404": ERRORS["404"] },
  });
  add(`${snapshots}/:snapshot/restore`, "post", {
    operationId: "restoreCellSnapshot",
    summary: "Restore the cell from the snapshot: its snapshotted containers are recreated on the snapshot's layers (the root, and so the address, stays unless the snapshot holds it)",
    parameters: [WAIT],
    responses: { "202": { description: "Requested", content: snapshotRef }, "200": { description: "Restored and settled (?wait)", content: snapshotRef }, "404": ERRORS["404"], "409": ERRORS["409"], "422": { description: "The restore was given up (?wait)", content: json(ref("Error")) }, "504": ERRORS["504"] },
  });
  add(`${snapshots}/:snapshot`, "delete", {
    operationId: "deleteCellSnapshot",
    summary: "Remove the snapshot (its images); refused while cells (fork slots, an imported cell) use its images unless forced",
    parameters: [WAIT, queryParam("force", "Remove even though cells use its images", { type: "boolean" })],
    responses: { "202": { description: "Removal requested", content: snapshotRef }, "200": { description: "Removed (?wait)", content: snapshotRef }, "404": ERRORS["404"], "409": ERRORS["409"], "504": ERRORS["504"] },
  });
  add(`${SCOPE_PREFIXES[3]}/cells/:cell/fork`, "post", {
    operationId: "forkCell",
    summary: "Fork the cell into count new cells NAME-1…NAME-N from a snapshot's layers (one is taken first without fromSnapshot); answers once all are Ready, or after deleting them all",
    parameters: [
      queryParam("count", "How many cells", { type: "integer", minimum: 1, maximum: 64 }),
      queryParam("fromSnapshot", "The snapshot to fork", NAME_JSON_SCHEMA),
      queryParam("wait", "Seconds the slots may take to settle before the fork is undone (default 120)", { type: "number", minimum: 0, maximum: 600 }),
    ],
    responses: {
      "201": { description: "Every slot Ready", content: json({ type: "object", properties: { fork: { type: "object", properties: { source: { type: "string" }, snapshot: { type: "string" }, cells: { type: "array", items: { type: "string" } } } } } }) },
      "400": ERRORS["400"], "404": ERRORS["404"], "409": ERRORS["409"],
      "422": { description: "A slot failed: every slot was deleted", content: json(ref("Error")) },
      "504": ERRORS["504"],
    },
  });
  add(`${SCOPE_PREFIXES[3]}/cells/:cell/logs`, "get", {
    operationId: "cellLogs",
    summary: "A container's stdout and stderr",
    parameters: [
      queryParam("container", "Container id (optional when the cell has one container or a tty default)", NAME_JSON_SCHEMA),
      queryParam("tail", "Only the last N lines", { type: "integer", minimum: 0 }),
      queryParam("follow", "Keep streaming appended output", { type: "boolean" }),
      queryParam("previous", "The output of the container's previous instance (404 when it has not restarted)", { type: "boolean" }),
      queryParam("timestamps", "Begin each line with when it was written (RFC 3339 UTC with nanoseconds) and a space", { type: "boolean" }),
      queryParam("sinceSeconds", "Only lines written in the last N seconds (keond's clock)", { type: "integer", minimum: 0 }),
      queryParam("sinceTime", "Only lines written at or after this time (not with sinceSeconds)", { type: "string", format: "date-time" }),
    ],
    responses: { "200": { description: "Log text", content: { "text/plain": { schema: { type: "string" } } } }, "400": ERRORS["400"], "404": ERRORS["404"] },
  });
  add(`${SCOPE_PREFIXES[3]}/cells/:cell/attach`, "get", {
    operationId: "attachToCell",
    summary:
      "WebSocket: the terminal of an attachable container's running process, shared by every attached client. " +
      "First the recent output (up to 64 KiB), then the live stream as binary frames (byte 1, then output); send input as binary frames " +
      'and {"type":"resize","cols":N,"rows":N} as text. Closing detaches; the process keeps running. The last text frame is ' +
      '{"type":"exit","exitCode":N} or {"type":"error","error":{code,message}}',
    parameters: [
      queryParam("container", "Container id (default: the cell's tty.default, else its only attachable container)", NAME_JSON_SCHEMA),
      queryParam("cols", "The client terminal's width", { type: "integer", minimum: 1, maximum: 65535 }),
      queryParam("rows", "The client terminal's height", { type: "integer", minimum: 1, maximum: 65535 }),
    ],
    // A refusal (no such cell or container, not attachable, not running) is the error frame, after the upgrade.
    responses: { "101": { description: "Switching Protocols (WebSocket)" } },
  });
  add("/v1/apply", "post", {
    operationId: "apply",
    summary: "Apply a multi-document manifest, all or nothing, in dependency order",
    parameters: [
      WAIT,
      queryParam("dryRun", "Validate and answer with the plan (ApplyPlan); store nothing", { type: "boolean" }),
      queryParam("fleet", "Store the documents in the fleet (etcd) instead of this node; with wait, until each cell is settled on its node; not with dryRun (fleet-routes.ts)", { type: "boolean" }),
    ],
    requestBody: { required: true, content: { "application/yaml": { schema: { type: "string" } }, ...json({ oneOf: [ref("Document"), { type: "array", items: ref("Document") }, ref("List")] }) } },
    responses: {
      "200": { description: "Per-resource results, or with dryRun the plan", content: json({ anyOf: [ref("ApplyResult"), ref("ApplyPlan")] }) },
      ...ERRORS,
      "503": errorResponse("?fleet: etcd did not answer or has no quorum (FLEET_UNAVAILABLE); nothing stored"),
    },
  });
  add(`${SCOPE_PREFIXES[3]}/stamp`, "post", {
    operationId: "stampCell",
    summary: "Stamp a fresh <prefix>-<6 hex> cell in this stack from a CellBlueprint or a CellConfig (found in the stack, space or realm scope, deepest first)",
    parameters: [WAIT],
    requestBody: { required: true, content: json(toJsonSchema(stampRequestSchema, { known: KNOWN })) },
    responses: { "201": { description: "Stamped", content: json(ref("PutResult")) }, ...ERRORS },
  });
  const FLEET_ERRORS = { "400": errorResponse("This keond is not in a fleet (UNSUPPORTED)"), "503": errorResponse("etcd did not answer or has no quorum (FLEET_UNAVAILABLE)") };
  add("/v1/fleet/nodes", "get", { operationId: "listFleetNodes", summary: "The fleet's nodes: registration, cordon, load, leader", responses: { "200": { description: "{items: nodes}" }, ...FLEET_ERRORS } });
  add("/v1/fleet/nodes/:node", "get", { operationId: "getFleetNode", summary: "One fleet node, with the cells assigned to it", responses: { "200": { description: "The node" }, "404": ERRORS["404"], ...FLEET_ERRORS } });
  add("/v1/fleet/nodes/:node/drain", "post", { operationId: "drainFleetNode", summary: "No new cells on the node, and the leader moves its cells away", responses: { "200": { description: "Draining" }, "404": ERRORS["404"], ...FLEET_ERRORS } });
  add("/v1/fleet/nodes/:node/uncordon", "post", { operationId: "uncordonFleetNode", summary: "Undo a drain: the node takes cells again", responses: { "200": { description: "Schedulable" }, "404": ERRORS["404"], ...FLEET_ERRORS } });
  add("/v1/fleet/documents/:kind/:name", "delete", {
    operationId: "deleteFleetDocument",
    summary: "Remove a fleet document (with cascade, what it contains) in one transaction; every node removes its copy",
    parameters: [
      { name: "kind", in: "path", required: true, schema: { enum: [...FLEET_KINDS] } },
      ...["realm", "space", "stack"].map((f) => queryParam(f, `The document's ${f}`, NAME_JSON_SCHEMA)),
      queryParam("cascade", "Also what it contains", { type: "boolean" }),
    ],
    responses: { "200": { description: "{deleted: keys}" }, "404": ERRORS["404"], "409": ERRORS["409"], ...FLEET_ERRORS },
  });
  add("/v1/fleet/cells", "get", { operationId: "listFleetCells", summary: "Every fleet cell with its node and the state that node reported", responses: { "200": { description: "{items: cells}" }, ...FLEET_ERRORS } });
  add("/v1/events", "get", {
    operationId: "listEvents",
    summary: "Lifecycle events; Server-Sent Events with Accept: text/event-stream or ?watch=true",
    parameters: [
      ...["realm", "space", "stack", "cell", "name"].map((f) => queryParam(f, `Only events of this ${f}`, NAME_JSON_SCHEMA)),
      queryParam("kind", "Only events of this kind", { enum: Object.keys(DOCUMENT_SCHEMAS) }),
      queryParam("type", "Normal or Warning", { enum: ["Normal", "Warning"] }),
      queryParam("since", "Only events after this id (Last-Event-ID works too)", { type: "integer", minimum: 0 }),
      queryParam("limit", "At most this many (JSON only)", { type: "integer", minimum: 0 }),
      queryParam("watch", "Stream as Server-Sent Events", { type: "boolean" }),
    ],
    responses: {
      "200": {
        description: "Events",
        content: { ...json({ type: "object", properties: { items: { type: "array", items: ref("Event") } } }), "text/event-stream": { schema: { type: "string" } } },
      },
      "400": ERRORS["400"],
    },
  });
  add(`${CELL_ROUTE}/exec`, "get", {
    operationId: "execInCell",
    summary: "Run a process in a running container, over a WebSocket",
    description:
      "A WebSocket upgrade. Client → server: binary frames are stdin; text frames `{\"type\":\"resize\",\"cols\":N,\"rows\":N}` or `{\"type\":\"eof\"}`. " +
      "Server → client: binary frames are one channel byte (1 stdout, 2 stderr) then data; the last text frame is " +
      "`{\"type\":\"exit\",\"exitCode\":N}` or `{\"type\":\"error\",\"error\":{code,message}}`.",
    parameters: [
      { name: "cmd", in: "query", required: true, description: "The argv, one parameter per argument", schema: { type: "array", items: { type: "string" }, minItems: 1 }, style: "form", explode: true },
      queryParam("container", "Container id (default: the cell's tty.default, else its first workload container)", NAME_JSON_SCHEMA),
      queryParam("tty", "Allocate a terminal", { enum: ["0", "1", "true", "false"] }),
      queryParam("stdin", "Keep stdin open", { enum: ["0", "1", "true", "false"] }),
      queryParam("cols", "The terminal's first width", { type: "integer", minimum: 1 }),
      queryParam("rows", "The terminal's first height", { type: "integer", minimum: 1 }),
    ],
    responses: {
      "101": { description: "Switching to the WebSocket protocol" },
      "400": ERRORS["400"],
      "404": ERRORS["404"],
      "409": errorResponse("The container is not running"),
    },
  });
  add(`${CELL_ROUTE}/top`, "get", {
    operationId: "cellTop",
    summary: "CPU (millicores), memory and pids of each container of the cell, from its cgroups",
    parameters: [queryParam("sampleMs", `Milliseconds between the two CPU readings (default ${DEFAULT_SAMPLE_MS})`, { type: "integer", minimum: 0, maximum: MAX_SAMPLE_MS })],
    responses: { "200": { description: "Usage by container", content: json(ref("CellTop")) }, "400": ERRORS["400"], "404": ERRORS["404"] },
  });

  const IMAGES = "/v1/realms/:realm/images";
  add(IMAGES, "get", {
    operationId: "listImages",
    summary: "The realm's images, each with its size and the cells that use it",
    responses: { "200": { description: "Images", content: json({ type: "object", required: ["items"], properties: { items: { type: "array", items: ref("ImageInfo") } } }) }, "404": ERRORS["404"] },
  });
  add(`${IMAGES}/:ref{.+}`, "get", {
    operationId: "getImage",
    summary: "One image of the realm (the reference URL-encoded)",
    responses: { "200": { description: "The image", content: json(ref("ImageInfo")) }, "404": ERRORS["404"] },
  });
  add(`${IMAGES}/:ref{.+}`, "delete", {
    operationId: "deleteImage",
    summary: "Remove an image record (containerd's GC reclaims its content); refused while cells use it unless forced",
    parameters: [queryParam("force", "Remove even though cells use it", { type: "boolean" })],
    responses: {
      "200": { description: "Deleted", content: json({ type: "object", properties: { result: { const: "deleted" }, name: { type: "string" } } }) },
      "404": ERRORS["404"],
      "409": errorResponse("Cells use the image (details.cells names them)"),
    },
  });
  add(`${IMAGES}/import`, "post", {
    operationId: "importImages",
    summary: "Import an OCI image layout or docker-save archive (optionally gzip/zstd compressed)",
    parameters: [queryParam("name", "Name the image (for an archive holding one image without a name)")],
    requestBody: { required: true, content: { "application/x-tar": { schema: { type: "string", contentMediaType: "application/x-tar" } } } },
    responses: {
      "201": { description: "Imported", content: json({ type: "object", required: ["images"], properties: { images: { type: "array", items: ref("ImportedImage") } } }) },
      "400": errorResponse("Empty, oversized or unreadable archive"),
      "404": ERRORS["404"],
    },
  });
  add(`${IMAGES}/pull`, "post", {
    operationId: "pullImage",
    summary: "Pull an image from its registry with the realm's registry credentials",
    requestBody: {
      required: true,
      content: json({
        type: "object",
        required: ["reference"],
        properties: { reference: { type: "string", minLength: 1 }, platform: { type: "string", description: "os/arch[/variant]; default this host's" } },
      }),
    },
    responses: {
      "200": {
        description: "Newline-delimited JSON progress: resolved, layer and unpack lines, then done (with the image) or error",
        content: { "application/x-ndjson": { schema: ref("PullLine") } },
      },
      "400": ERRORS["400"],
      "404": ERRORS["404"],
    },
  });

  // keon cp (cell-files-route.ts): a tar of one file, directory or symlink, resolved inside the container's root.
  const FILES_PATH = "/v1/realms/:realm/spaces/:space/stacks/:stack/cells/:cell/files";
  const FILES_PARAMS = [
    queryParam("container", "Container id (default: the cell's workload, as exec)", NAME_JSON_SCHEMA),
    { ...queryParam("path", "Absolute path inside the container; symlinks resolve inside its root, a '..' above / is refused"), required: true },
  ];
  const FILES_ERRORS = {
    "400": errorResponse("Missing, relative or escaping path, or a refused archive entry (absolute, '..', through a symlink)"),
    "404": errorResponse("Cell, container or path does not exist (code and message name which)"),
    "409": errorResponse("The container is not running, or a copy in would replace a non-empty directory"),
  };
  const TAR = { "application/x-tar": { schema: { type: "string", format: "binary" } } };
  add(FILES_PATH, "get", {
    summary: "Copy out of a running container: a tar whose one top entry is the path (a final symlink is copied as a symlink)",
    operationId: "copyFromContainer",
    parameters: FILES_PARAMS,
    responses: { "200": { description: "The tar", content: TAR }, ...FILES_ERRORS },
  });
  add(FILES_PATH, "put", {
    summary: "Copy into a running container: a tar with one top entry, unpacked under a temporary name and renamed into the path (into it, if a directory)",
    operationId: "copyIntoContainer",
    parameters: FILES_PARAMS,
    requestBody: { required: true, content: TAR },
    responses: { "200": { description: "{container, path, entries}" }, ...FILES_ERRORS },
  });
  // keon export / import (cell-export-routes.ts): an OCI layout of the cell's snapshot images, its document as an index annotation.
  add("/v1/realms/:realm/spaces/:space/stacks/:stack/cells/:cell/export", "get", {
    summary: "An OCI image layout tar of the cell's latest Ready snapshot (or ?snapshot): its images, and the cell document as the index annotation io.keon.cell.document",
    operationId: "exportCell",
    parameters: [queryParam("snapshot", "This snapshot instead of the latest Ready one", NAME_JSON_SCHEMA)],
    responses: { "200": { description: "The archive (header x-keon-snapshot names the snapshot)", content: TAR }, "404": ERRORS["404"], "409": errorResponse("The cell has no Ready, unexpired snapshot (take one first)") },
  });
  add("/v1/realms/:realm/spaces/:space/stacks/:stack/imports", "post", {
    summary: "Recreate a cell in this stack from an archive written by export: images imported, the cell stored with its containers on them",
    operationId: "importCell",
    parameters: [queryParam("name", "Store the cell under this name instead of its own", NAME_JSON_SCHEMA), WAIT],
    requestBody: { required: true, content: TAR },
    responses: {
      "201": { description: "{cell, images, document}" },
      "400": errorResponse("Not an image archive, or not a cell export (no io.keon.cell.document), or the document is refused"),
      "404": ERRORS["404"],
      "409": errorResponse("A cell of that name exists in the stack"),
      "504": ERRORS["504"],
    },
  });

  // Only the unix socket reaches these: every bearer token is refused (identity.ts), so they take none.
  const unixSocketOnly = { security: [], servers: [UNIX_SOCKET_SERVER] };
  add("/v1/tokens", "get", {
    operationId: "listTokens",
    summary: "API tokens: names, realms, access and creation times (never a secret)",
    ...unixSocketOnly,
    responses: { "200": { description: "Tokens", content: json({ type: "object", properties: { kind: { const: "List" }, items: { type: "array", items: ref("Token") } } }) } },
  });
  add("/v1/tokens", "post", {
    operationId: "createToken",
    summary: "Create a named API token for the TCP listener; its secret is in this answer only",
    ...unixSocketOnly,
    requestBody: { required: true, content: json(toJsonSchema(tokenCreateSchema, { known: KNOWN })) },
    responses: {
      "201": { description: "Created", content: json({ allOf: [ref("Token")], properties: { token: { type: "string", description: "The bearer secret, shown this once" } } }) },
      "400": ERRORS["400"],
      "409": errorResponse("A token of that name exists"),
    },
  });
  add("/v1/tokens/:name", "delete", {
    operationId: "revokeToken",
    summary: "Revoke a token (the next request with it is 401)",
    ...unixSocketOnly,
    responses: { "200": { description: "Revoked", content: json({ type: "object", properties: { name: { type: "string" }, revoked: { const: true } } }) }, "404": ERRORS["404"] },
  });

  add("/v1/status", "get", {
    operationId: "hostStatus",
    summary: "What keon status shows: keond, containerd, cgroups, CNI plugins and nftables, each ok, degraded or missing",
    responses: { "200": { description: "The report", content: json(ref("StatusReport")) } },
  });
  add("/healthz", "get", { operationId: "healthz", summary: "Liveness", responses: { "200": { description: "ok", content: json({ type: "object", properties: { status: { const: "ok" } } }) } } });
  add("/readyz", "get", {
    operationId: "readyz",
    summary: "Readiness: containerd reachable and no failed worker",
    responses: { "200": { description: "ready", content: json(ref("Readiness")) }, "503": { description: "not ready", content: json(ref("Readiness")) } },
  });
  add("/v1/version", "get", { operationId: "version", summary: "keond's version", responses: { "200": { description: "version", content: json({ type: "object", properties: { keon: { type: "string" } } }) } } });
  add("/metrics", "get", {
    operationId: "metrics",
    summary: "Prometheus metrics",
    responses: { "200": { description: "text exposition format 0.0.4", content: { "text/plain": { schema: { type: "string" } } } } },
  });
  add("/openapi.json", "get", { operationId: "openapi", summary: "This document", responses: { "200": { description: "OpenAPI 3.1", content: json({ type: "object" }) } } });

  const schemas: Record<string, JsonSchema> = {};
  for (const [kind, schema] of Object.entries(DOCUMENT_SCHEMAS) as Array<[DocumentKind, unknown]>) {
    schemas[kind] = toJsonSchema(schema, { known: KNOWN });
    const status = STATUS_SCHEMAS[kind];
    schemas[`${kind}Stored`] = status === undefined
      ? ref(kind)
      : { allOf: [ref(kind)], properties: { status: toJsonSchema(status, { known: KNOWN }) } };
  }
  schemas["Document"] = { oneOf: Object.keys(DOCUMENT_SCHEMAS).map(ref) };
  schemas["List"] = {
    type: "object",
    properties: { apiVersion: { const: "v1beta1" }, kind: { const: "List" }, items: { type: "array", items: ref("Document") } },
    required: ["kind", "items"],
  };
  schemas["Error"] = {
    type: "object",
    required: ["error"],
    properties: {
      error: {
        type: "object",
        required: ["code", "message"],
        properties: {
          code: { type: "string" },
          message: { type: "string" },
          details: {
            type: "object",
            properties: { issues: { type: "array", items: { type: "object", properties: { path: { type: "string" }, message: { type: "string" }, document: { type: "integer" } } } } },
          },
        },
      },
    },
  };
  const result = { enum: ["created", "updated", "unchanged"] };
  const warnings = {
    type: "array",
    description: "Legacy kukeon fields the documents carried, accepted and left out",
    items: { type: "object", properties: { document: { type: "integer" }, kind: { type: "string" }, name: { type: "string" }, path: { type: "string" }, message: { type: "string" } } },
  };
  schemas["PutResult"] = { type: "object", properties: { result, generation: { type: "integer" }, document: ref("Document"), warnings, fleet: { type: "boolean", description: "Stored in the fleet (?fleet=true)" } } };
  schemas["DeleteResult"] = {
    type: "object",
    properties: {
      status: { enum: ["deleting", "deleted"] },
      affected: { type: "array", items: { type: "object" } },
      fleet: { type: "boolean", description: "Deleted from the fleet (?fleet=true)" },
      deleted: { type: "array", items: { type: "string" }, description: "?fleet=true: the fleet keys removed" },
    },
  };
  schemas["ActionResult"] = {
    type: "object",
    properties: {
      action: { enum: Object.keys(CELL_ACTIONS) },
      intent: { type: "object", properties: { intent: { enum: ["running", "stopped", "killed"] }, restartNonce: { type: "integer" }, changedAt: { type: ["string", "null"] } } },
      document: ref("CellStored"),
    },
  };
  schemas["Snapshot"] = {
    type: "object",
    properties: {
      name: { type: "string" },
      phase: { enum: ["Pending", "Ready", "Failed", "Deleting"] },
      images: { type: "object", additionalProperties: { type: "string" }, description: "Container id → image holding its committed layer" },
      message: { type: "string" },
      expiresAt: { type: "string" },
      createdAt: { type: "string" },
      readyAt: { type: "string" },
      restoreRequestedAt: { type: "string", description: "A restore from this snapshot is owed" },
      restoredAt: { type: "string", description: "The cell was last restored from it then" },
      cellDocument: { type: "object", description: "The cell document when the snapshot was taken (describe only)" },
      cellDeletedAt: { type: "string", description: "Retained: its cell was deleted then while other cells used its images; it goes at the resync after the last of them" },
    },
  };
  schemas["FreezeResult"] = {
    type: "object",
    properties: {
      action: { enum: Object.keys(FREEZE_ACTIONS) },
      frozen: { type: "object", properties: { frozen: { type: "boolean" }, changedAt: { type: ["string", "null"] } } },
      document: ref("CellStored"),
    },
  };
  const scope = { type: "object", properties: Object.fromEntries(["realm", "space", "stack", "cell"].map((l) => [l, { type: "string" }])) };
  schemas["ApplyResult"] = {
    type: "object",
    properties: {
      results: {
        type: "array",
        items: { type: "object", properties: { kind: { type: "string" }, name: { type: "string" }, scope, result: { enum: ["created", "updated", "unchanged", "failed"] }, generation: { type: "integer" }, document: { type: "integer" } } },
      },
      summary: { type: "object", properties: Object.fromEntries(["created", "updated", "unchanged", "failed"].map((k) => [k, { type: "integer" }])) },
      warnings,
    },
  };
  const action = {
    type: "object",
    description: "What the change does to what runs (model/diff.ts)",
    properties: {
      kind: { enum: ["create", "unchanged", "in-place", "recreate-containers", "recreate-cell", "refused"] },
      containers: { type: "array", items: { type: "string" } }, reason: { type: "string" }, path: { type: "string" },
    },
  };
  schemas["ApplyPlan"] = {
    type: "object",
    properties: {
      dryRun: { const: true },
      results: {
        type: "array",
        items: {
          type: "object",
          properties: {
            kind: { type: "string" }, name: { type: "string" }, scope, result: { enum: ["created", "updated", "unchanged"] }, action,
            document: { type: "integer" }, current: ref("Document"), next: ref("Document"),
          },
        },
      },
      affected: {
        type: "array",
        description: "Cells and Container documents a Space's changed defaults reach, and what applying them again does",
        items: { type: "object", properties: { kind: { enum: ["Cell", "Container"] }, name: { type: "string" }, scope, action, cause: { type: "string" }, when: { const: "next-apply" } } },
      },
      summary: { type: "object", properties: Object.fromEntries(["created", "updated", "unchanged", "failed"].map((k) => [k, { type: "integer" }])) },
    },
  };
  schemas["ImageInfo"] = {
    type: "object",
    properties: {
      name: { type: "string" }, digest: { type: "string" }, mediaType: { type: "string" },
      size: { type: "integer", description: "Bytes of the manifest, config and layers for this host's platform" },
      createdAt: { type: ["string", "null"] }, labels: { type: "object" },
      cells: { type: "array", items: { type: "string" }, description: "Cells (space/stack/cell) whose containers name this image" },
    },
  };
  schemas["Event"] = {
    type: "object",
    properties: {
      id: { type: "integer" }, time: { type: "string", description: "First occurrence" },
      lastTimestamp: { type: "string", description: "Last occurrence of a repeated event (equals time when count is 1)" },
      count: { type: "integer", minimum: 1, description: "Occurrences merged into this event" }, realm: { type: "string" }, space: { type: "string" }, stack: { type: "string" },
      cell: { type: "string" }, kind: { type: "string" }, name: { type: "string" }, type: { enum: ["Normal", "Warning"] },
      reason: { type: "string" }, message: { type: "string" },
    },
  };

  Object.assign(schemas, RESPONSE_SCHEMAS);

  return {
    openapi: "3.1.0",
    info: {
      title: "Keon control API",
      version,
      description: "keond's API: desired state (documents), the cells' containers, images, events and operations.",
    },
    servers: [TCP_SERVER, UNIX_SOCKET_SERVER],
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "A named API token (keon token create) or the tokenFile token; the TCP listener needs one on every route, the unix socket none" },
      },
    },
  };
}
