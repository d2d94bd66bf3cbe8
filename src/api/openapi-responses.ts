/**
 * @module
 * JSON Schemas of the API's answers that no valibot schema validates (they
 * are built by keond, not sent to it): images, pull progress, tokens, top,
 * status and readiness, written after the TypeScript types named beside each,
 * plus the servers of /openapi.json. openapi.ts puts them in the document's
 * components.
 */
import type { JsonSchema } from "./json-schema.ts";

const string = { type: "string" };
const integer = { type: "integer", minimum: 0 };
const nullable = (schema: JsonSchema): JsonSchema => ({ anyOf: [schema, { type: "null" }] });
const object = (properties: Record<string, JsonSchema>, required: string[] = Object.keys(properties)): JsonSchema => ({
  type: "object",
  properties,
  required,
});
const descriptor = object({ mediaType: string, digest: string, size: integer }, ["mediaType", "digest"]);
const source = { type: "string", description: "Where it was read: v2, or v1:<controller>" };

/** The TCP listener (--tcp-listen): TLS unless on loopback, a bearer token on every route. */
export const TCP_SERVER: JsonSchema = {
  url: "{scheme}://{host}:{port}",
  description: "keond's TCP listener (--tcp-listen); every request carries a bearer token",
  variables: {
    scheme: { enum: ["https", "http"], default: "https", description: "http only on loopback (--tcp-tls)" },
    host: { default: "localhost" },
    port: { default: "7443", description: "The port given to --tcp-listen" },
  },
};

/** The unix socket: the host's administrator, no token (`curl --unix-socket /run/keon/keond.sock http://keond/…`; any host name). */
export const UNIX_SOCKET_SERVER: JsonSchema = {
  url: "http://keond",
  description: "keond's unix socket (--socket, default /run/keon/keond.sock): the host's administrator, no token",
};

export const RESPONSE_SCHEMAS: Record<string, JsonSchema> = {
  // src/containerd/image-import.ts ImportedImage
  ImportedImage: object({
    name: string, target: descriptor, manifestDigest: string, configDigest: string, chainId: string,
    blobsWritten: integer, blobsPresent: integer, snapshotsCreated: integer, snapshotsPresent: integer,
  }),
  // src/api/image-pull-route.ts PullStreamLine (src/registry/pull.ts PullProgress and PulledImage)
  PullLine: {
    oneOf: [
      object({ type: { const: "resolved" }, name: string, digest: string, mediaType: string, platform: string, layers: { type: "array", items: object({ digest: string, size: integer }) } }),
      object({ type: { const: "layer" }, digest: string, size: integer, done: integer, state: { enum: ["present", "downloading", "done"] } }),
      object({ type: { const: "unpack" }, layer: integer, digest: string }),
      object({ type: { const: "shared" }, name: string }),
      object({
        type: { const: "done" },
        image: object({
          name: string, digest: string, mediaType: string, manifestDigest: string, configDigest: string, chainId: string, platform: string,
          layers: integer, bytesFetched: integer, blobsPresent: integer, snapshotsCreated: integer,
        }),
      }),
      object({ type: { const: "error" }, error: { $ref: "#/components/schemas/Error/properties/error" } }),
    ],
  },
  // src/store/api-tokens.ts ApiToken
  Token: object({
    name: string,
    realms: { anyOf: [{ const: "*" }, { type: "array", items: string }] },
    access: { enum: ["read", "write"] },
    createdAt: string,
  }),
  // src/api/top-route.ts CellTop
  CellTop: object({
    cell: string,
    cgroupMode: { enum: ["v2", "hybrid", "v1"] },
    sampleMs: integer,
    containers: {
      type: "array",
      items: object({
        name: string,
        cgroupPath: string,
        running: { type: "boolean" },
        cpu: nullable(object({ usageNanos: integer, millicores: nullable(integer), source })),
        memory: nullable(object({ currentBytes: integer, limitBytes: nullable(integer), source })),
        pids: nullable(object({ current: integer, limit: nullable(integer), source })),
      }),
    },
    unavailable: { type: "array", items: string, description: "Metrics this host cannot give, with why" },
  }),
  // src/api/status-route.ts StatusReport
  StatusReport: {
    ...object({
      status: { enum: ["ok", "degraded", "missing"], description: "The worst of the components" },
      components: {
        type: "array",
        items: object(
          {
            name: { enum: ["daemon", "containerd", "cgroups", "cni", "nftables"] },
            status: { enum: ["ok", "degraded", "missing"] },
            detail: string,
            hints: { type: "array", items: string },
            data: { type: "object", description: "Structured facts (the cgroup report, plugin paths, …)" },
          },
          ["name", "status", "detail", "hints"],
        ),
      },
      tlsFingerprint: { type: "string", description: "SHA-256 of the TCP listener's certificate, when it serves TLS" },
    }, ["status", "components"]),
  },
  // src/api/ops-routes.ts /readyz
  Readiness: object(
    {
      status: { enum: ["ready", "not-ready"] },
      containerd: { type: "string", description: "containerd's version" },
      error: object({ code: string, message: string }),
      workers: {
        type: "array",
        items: object({ realm: string, state: { enum: ["starting", "ready", "restarting", "failed"] }, restarts: integer, lastError: string }, ["realm", "state", "restarts"]),
      },
    },
    ["status", "workers"],
  ),
};
