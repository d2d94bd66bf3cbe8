/**
 * @module
 * Where containerd's .proto files live and how they are loaded. The protos
 * are read at run time from the Debian packages
 * (golang-github-containerd-containerd-dev and the gogo protobuf/googleapis
 * packages) so the wire format always matches the installed containerd and no
 * .proto is copied into the repository.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import * as protoLoader from "@grpc/proto-loader";

/** Root of the Go source tree the -dev packages install into. */
export const DEFAULT_PROTO_ROOT = "/usr/share/gocode/src";

const CONTAINERD_API = "github.com/containerd/containerd/api";

/**
 * Extra files outside api/services and api/events whose messages arrive
 * packed in `Any` values: cgroup metrics (Tasks.Metrics) and runc shim
 * options (Tasks.Create / Containers.Create runtime options).
 */
const EXTRA_FILES = [
  "github.com/containerd/cgroups/stats/v1/metrics.proto",
  "github.com/containerd/cgroups/v2/stats/metrics.proto",
  "github.com/containerd/containerd/runtime/v2/runc/options/oci.proto",
];

/**
 * Load options, chosen deliberately:
 * - keepCase: field names stay as in the .proto (`container_id`), the names
 *   containerd's docs, errors and filters use.
 * - longs: Number. Every int64/uint64 Keon reads (sizes, pids, timestamps,
 *   offsets) is far below 2^53. The only larger values are cgroup "unlimited"
 *   sentinels (~2^63) in metrics, which round but stay "larger than any real
 *   limit".
 * - enums: String, so statuses read as "RUNNING" rather than 2.
 * - bytes: Buffer (proto-loader's default), what Node/Bun I/O speaks.
 * - defaults/arrays/objects: true, because proto3 omits zero values on the
 *   wire: exit_status 0 would otherwise be missing rather than 0.
 * - json: false, so `Any` stays {type_url, value}; Keon decodes payloads itself.
 */
export const PROTO_LOADER_OPTIONS = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
  json: false,
} satisfies protoLoader.Options;

/** Include dirs so `gogoproto/gogo.proto`, `google/protobuf/*` and `google/rpc/*` resolve. */
export function protoIncludeDirs(root: string = DEFAULT_PROTO_ROOT): string[] {
  return [
    root,
    join(root, "github.com/gogo/protobuf"),
    join(root, "github.com/gogo/protobuf/protobuf"),
    join(root, "github.com/gogo/googleapis"),
  ];
}

function protoFilesUnder(root: string, dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(root, dir))) {
    const rel = `${dir}/${entry}`;
    if (statSync(join(root, rel)).isDirectory()) found.push(...protoFilesUnder(root, rel));
    else if (entry.endsWith(".proto")) found.push(rel);
  }
  return found;
}

/**
 * The containerd API files: every service under api/services (except the
 * ttrpc events service, which only shims speak) and every event message
 * under api/events, plus EXTRA_FILES. Relative to the proto root.
 */
export function containerdProtoFiles(root: string = DEFAULT_PROTO_ROOT): string[] {
  const services = protoFilesUnder(root, `${CONTAINERD_API}/services`).filter((f) => !f.includes("/ttrpc/"));
  const events = protoFilesUnder(root, `${CONTAINERD_API}/events`);
  return [...services, ...events, ...EXTRA_FILES].sort();
}

const loaded = new Map<string, protoLoader.PackageDefinition>();

/** Load (once per root) containerd's services and messages with PROTO_LOADER_OPTIONS. */
export function loadContainerdProtos(root: string = DEFAULT_PROTO_ROOT): protoLoader.PackageDefinition {
  let definition = loaded.get(root);
  if (definition === undefined) {
    definition = protoLoader.loadSync(containerdProtoFiles(root), {
      ...PROTO_LOADER_OPTIONS,
      includeDirs: protoIncludeDirs(root),
    });
    loaded.set(root, definition);
  }
  return definition;
}
