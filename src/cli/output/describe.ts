/**
 * @module
 * `keon describe`: a resource for humans. Its identity, labels, state and
 * why, generations, a summary of its spec (containers with their state,
 * exit code and restarts for a cell), and its last events. Pure.
 */
import type { CliKind } from "../kinds.ts";
import { scopeOfDocument, scopeText } from "../scope.ts";
import { createdAtOf, lastExitText, pick, type ImageSummaryLike } from "./rows.ts";
import { formatAge, formatBytes, renderTable } from "./table.ts";

export interface EventLike {
  id?: number;
  /** First occurrence. */
  time: string;
  /** Last occurrence of a repeated event (keond merges repeats); absent from an older keond. */
  lastTimestamp?: string;
  /** Occurrences merged into this event; absent means 1. */
  count?: number;
  kind?: string;
  name?: string;
  type: string;
  reason: string;
  message: string;
  realm?: string;
  space?: string;
  stack?: string;
  cell?: string;
}

type PlainObject = Record<string, unknown>;
const isObject = (v: unknown): v is PlainObject => typeof v === "object" && v !== null && !Array.isArray(v);
const text = (v: unknown, fallback = "<none>"): string => (v === undefined || v === null || v === "" ? fallback : String(v));

function mapText(value: unknown): string {
  if (!isObject(value) || Object.keys(value).length === 0) return "<none>";
  return Object.entries(value).map(([k, v]) => `${k}=${String(v)}`).join(",");
}

function fields(pairs: readonly (readonly [string, string] | undefined)[]): string {
  const present = pairs.filter((p): p is readonly [string, string] => p !== undefined);
  const width = Math.max(...present.map(([k]) => k.length)) + 2;
  return present.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join("\n");
}

const indent = (block: string, by = "  "): string => block.replace(/\n$/, "").split("\n").map((l) => by + l).join("\n");

function timeWithAge(time: string | undefined, now: Date): string {
  if (time === undefined) return "<unknown>";
  return `${time} (${formatAge(time, now)} ago)`;
}

function cellContainers(document: unknown, now: Date): string {
  const specs = (pick(document, "spec.containers") as PlainObject[] | undefined) ?? [];
  const statuses = ((pick(document, "status.containers") as PlainObject[] | undefined) ?? []).filter(isObject);
  const ids = new Set(specs.map((s) => String(s["id"])));
  const rows = specs.map((spec) => {
    const status = statuses.find((s) => s["name"] === spec["id"]) ?? {};
    const command = [spec["command"], ...((spec["args"] as unknown[] | undefined) ?? [])].filter((p) => p !== undefined && p !== "").join(" ");
    const ports = ((spec["ports"] as unknown[] | undefined) ?? []).join(",");
    return [
      `${String(spec["id"])}${spec["root"] === true ? " (root)" : ""}`,
      text(spec["image"], "-"),
      text(status["state"], "Unknown"),
      String(status["restartCount"] ?? 0),
      text(status["exitCode"], "-"),
      lastExitText({ status }, now),
      text(command, "-"),
      text(ports, "-"),
    ];
  });
  // Keon's own pause root: shown so a missing root explains a Degraded cell.
  for (const status of statuses) {
    if (ids.has(String(status["name"]))) continue;
    rows.unshift([`${String(status["name"])} (keon root)`, "-", text(status["state"], "Unknown"), String(status["restartCount"] ?? 0), text(status["exitCode"], "-"), lastExitText({ status }, now), "-", "-"]);
  }
  if (rows.length === 0) return "<none>";
  return `\n${indent(renderTable(["ID", "IMAGE", "STATE", "RESTARTS", "EXIT", "LAST", "COMMAND", "PORTS"], rows))}`;
}

/**
 * When an event was last seen, and for a repeated one how often over how
 * long, the way kubectl describes it: `10s (x5 over 2m)`.
 */
export function eventAge(event: Pick<EventLike, "time" | "lastTimestamp" | "count">, now: Date): string {
  const last = event.lastTimestamp ?? event.time;
  const age = formatAge(last, now);
  const count = event.count ?? 1;
  if (count <= 1) return age;
  return `${age} (x${count} over ${formatAge(event.time, new Date(last))})`;
}

export function eventRows(events: readonly EventLike[], now: Date, withObject: boolean): string[][] {
  return events.map((e) => [
    eventAge(e, now),
    e.type,
    e.reason,
    ...(withObject ? [`${(e.kind ?? "").toLowerCase()}/${e.name ?? ""}`] : []),
    e.message,
  ]);
}

export function formatEvents(events: readonly EventLike[], now: Date, withObject: boolean): string {
  const headers = ["AGE", "TYPE", "REASON", ...(withObject ? ["OBJECT"] : []), "MESSAGE"];
  return renderTable(headers, eventRows(events, now, withObject));
}

/**
 * The egress policy in force, as keond reports it (status.network.egress):
 * rule counts and each host rule's resolved addresses; before keond has
 * reported it, what the spec asks for.
 */
function spacePolicy(document: unknown): Array<readonly [string, string]> {
  const effective = pick(document, "status.network.egress");
  if (!isObject(effective)) {
    const asked = pick(document, "spec.network.egress");
    return [["Egress", isObject(asked) ? `default ${text(asked["default"], "allow")}, ${((asked["allow"] as unknown[] | undefined) ?? []).length} allow rule(s) (not yet in force)` : "unconstrained"]];
  }
  const rows: Array<readonly [string, string]> = [[
    "Egress",
    effective["unconstrained"] === true
      ? "unconstrained"
      : `default ${text(effective["default"])}, ${String(effective["rules"] ?? 0)} rule(s): ${String(effective["allowedCidrs"] ?? 0)} CIDR(s), ${String(effective["allowedPorts"] ?? 0)} port rule(s)`,
  ]];
  const hosts = isObject(effective["hosts"]) ? Object.entries(effective["hosts"]) : [];
  if (hosts.length > 0) rows.push(["Resolved hosts", hosts.map(([host, addresses]) => `${host} → ${(addresses as string[]).join(", ") || "-"}`).join("; ")]);
  const unresolved = isObject(effective["unresolved"]) ? Object.entries(effective["unresolved"]) : [];
  if (unresolved.length > 0) rows.push(["Unresolved hosts", unresolved.map(([host, why]) => `${host} (${String(why)})`).join("; ")]);
  return rows;
}

/** Where a stamped cell came from: its template and the parameter values it was given. */
function provenanceRows(provenance: unknown): Array<readonly [string, string]> {
  if (!isObject(provenance)) return [];
  const ref = provenance["ref"];
  const where = isObject(ref) ? [ref["realm"], ref["space"], ref["stack"], ref["name"]].filter((p) => typeof p === "string" && p !== "").join("/") : "-";
  return [["Stamped from", `${text(provenance["kind"])} ${where}`], ["Parameters", mapText(provenance["params"])]];
}

export function describeDocument(kind: Exclude<CliKind, "image">, document: unknown, events: readonly EventLike[], now = new Date()): string {
  const status = pick(document, "status");
  const generation = pick(document, "metadata.generation");
  const observed = pick(document, "status.observedGeneration");
  const common: (readonly [string, string] | undefined)[] = [
    ["Name", text(pick(document, "metadata.name"))],
    ["Kind", text(pick(document, "kind"))],
    kind === "realm" ? undefined : ["Scope", text(scopeText(scopeOfDocument(document as never)))],
    ["Labels", mapText(pick(document, "metadata.labels"))],
    kind === "cell" ? ["Annotations", mapText(pick(document, "metadata.annotations"))] : undefined,
  ];
  if (isObject(status)) {
    common.push(["State", text(status["state"], "Unknown")]);
    if (status["reason"] !== undefined) common.push(["Reason", text(status["reason"])]);
    if (status["message"] !== undefined) common.push(["Message", text(status["message"])]);
  }
  if (generation !== undefined) common.push(["Generation", `${String(generation)}${observed === undefined ? " (not yet observed)" : ` (observed ${String(observed)})`}`]);
  common.push(["Created", timeWithAge(createdAtOf(document), now)]);
  switch (kind) {
    case "realm":
      common.push(["Namespace", text(pick(document, "spec.namespace"))], ["Cgroup", text(pick(document, "status.cgroupPath"))]);
      break;
    case "space": {
      common.push(["Subnet", text(pick(document, "status.network.subnet"))], ["Bridge", text(pick(document, "status.network.bridgeName"))]);
      common.push(...spacePolicy(document));
      common.push(["Cgroup", text(pick(document, "status.cgroupPath"))]);
      break;
    }
    case "stack":
      common.push(["Cgroup", text(pick(document, "status.cgroupPath"))]);
      break;
    case "cell":
      common.push(
        ["IP", text(pick(document, "status.network.ip"))],
        ["Bridge", text(pick(document, "status.network.bridgeName"))],
        ["Cgroup", text(pick(document, "status.cgroupPath"))],
        ["Controllers", text(((pick(document, "status.subtreeControllers") as string[] | undefined) ?? []).join(",") || undefined)],
        ["Auto delete", String(pick(document, "spec.autoDelete") === true)],
        ...provenanceRows(pick(document, "spec.provenance")),
        ["Containers", cellContainers(document, now)],
        ...cellLifecycleRows(document),
      );
      break;
    case "container":
      common.push(
        ["Cell", text(pick(document, "spec.cellId"))],
        ["Image", text(pick(document, "spec.image"))],
        ["State", text(pick(document, "status.state"), "Unknown")],
        ["Restarts", String(pick(document, "status.restartCount") ?? 0)],
        ["Exit code", text(pick(document, "status.exitCode"))],
        ["Started", timeWithAge(pick(document, "status.startTime") as string | undefined, now)],
        ["Last state", lastExitText(document, now)],
        ["Restart policy", text(pick(document, "spec.restartPolicy"), "never")],
        ["containerd ID", text(pick(document, "status.id"))],
      );
      break;
    case "secret":
      common.push(["Data", "<write-only: never shown>"]);
      break;
    case "volume":
      common.push(["Reclaim policy", text(pick(document, "spec.reclaimPolicy"), "Delete")]);
      break;
  }
  const body = fields(common.filter((p, i, all) => p === undefined || all.findIndex((q) => q?.[0] === p[0]) === i));
  const eventBlock = events.length === 0 ? "Events:  <none>" : `Events:\n${indent(formatEvents(events, now, false))}`;
  return `${body}\n${eventBlock}\n`;
}

/** Frozen, snapshots and the last restore, shown only when the cell has them (keon freeze, keon snapshot). */
function cellLifecycleRows(document: unknown): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  if (pick(document, "status.frozen") === true) rows.push(["Frozen", "true (keon unfreeze cell NAME resumes it)"]);
  const snapshots = ((pick(document, "status.snapshots") as PlainObject[] | undefined) ?? []).filter(isObject);
  if (snapshots.length > 0) {
    rows.push(["Snapshots", snapshots.map((s) => `${String(s["name"])} (${String(s["phase"])}${s["expiresAt"] === undefined ? "" : `, expires ${String(s["expiresAt"])}`})`).join(", ")]);
  }
  const restore = pick(document, "status.lastRestore") as PlainObject | undefined;
  if (isObject(restore)) rows.push(["Last restore", `from ${String(restore["snapshot"])} at ${String(restore["at"])}`]);
  return rows;
}

export function describeImage(image: ImageSummaryLike & { labels?: Record<string, string> }, now = new Date()): string {
  return `${fields([
    ["Name", image.name],
    ["Digest", image.digest],
    ["Media type", text(image.mediaType)],
    ["Size", formatBytes(image.size)],
    ["Created", timeWithAge(image.createdAt ?? undefined, now)],
    ["Labels", mapText(image.labels)],
  ])}\n`;
}
