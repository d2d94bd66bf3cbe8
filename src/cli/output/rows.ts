/**
 * @module
 * Table rows for `keon get`, one layout per kind. Input is what the API
 * returns (documents with status, image summaries); output is strings. Pure.
 */
import type { CliKind } from "../kinds.ts";
import { scopeOfDocument, scopeText } from "../scope.ts";
import { formatAge, formatBytes, shortDigest } from "./table.ts";
import { paint, stateColor } from "./terminal.ts";

type PlainObject = Record<string, unknown>;

export interface TableOptions {
  wide: boolean;
  /** -A: realm/space/stack columns in front. */
  allScopes: boolean;
  color: boolean;
  now?: Date;
}

export interface Table {
  headers: string[];
  rows: string[][];
}

const isObject = (value: unknown): value is PlainObject => typeof value === "object" && value !== null && !Array.isArray(value);

/** `get(doc, "status.network.ip")`; undefined on any missing step. */
export function pick(value: unknown, path: string): unknown {
  let at: unknown = value;
  for (const key of path.split(".")) {
    if (!isObject(at)) return undefined;
    at = at[key];
  }
  return at;
}

const text = (value: unknown, fallback = "-"): string =>
  value === undefined || value === null || value === "" ? fallback : typeof value === "string" ? value : String(value);

/** When the resource came to be: status.createdAt, else whatever timestamp the API put beside it. */
export function createdAtOf(document: unknown): string | undefined {
  for (const path of ["status.createdAt", "metadata.createdAt", "metadata.creationTimestamp", "createdAt"]) {
    const value = pick(document, path);
    if (typeof value === "string" && value !== "") return value;
  }
  return undefined;
}

function state(document: unknown, color: boolean): string {
  const value = text(pick(document, "status.state"), "Unknown");
  const tint = stateColor(value);
  return tint === undefined ? value : paint(color, tint, value);
}

interface ContainerStatusLike {
  name?: string;
  id?: string;
  state?: string;
  restartCount?: number;
  exitCode?: number;
  createdAt?: string;
  startTime?: string;
}

function statusContainers(cell: unknown): ContainerStatusLike[] {
  const list = pick(cell, "status.containers");
  return Array.isArray(list) ? (list.filter(isObject) as ContainerStatusLike[]) : [];
}

function specContainers(cell: unknown): PlainObject[] {
  const list = pick(cell, "spec.containers");
  return Array.isArray(list) ? list.filter(isObject) : [];
}

function scopeColumns(document: unknown): string[] {
  const scope = scopeOfDocument(document as never);
  return [scope.realm, scope.space ?? "-", scope.stack ?? "-"];
}

export function documentTable(kind: Exclude<CliKind, "image" | "container">, documents: readonly unknown[], options: TableOptions): Table {
  const now = options.now ?? new Date();
  const age = (d: unknown) => formatAge(createdAtOf(d), now);
  const name = (d: unknown) => text(pick(d, "metadata.name"));
  switch (kind) {
    case "realm": {
      const headers = ["NAME", "NAMESPACE", "STATE", "AGE", ...(options.wide ? ["CGROUP", "MESSAGE"] : [])];
      const rows = documents.map((d) => [
        name(d),
        text(pick(d, "spec.namespace")),
        state(d, options.color),
        age(d),
        ...(options.wide ? [text(pick(d, "status.cgroupPath")), text(pick(d, "status.message"))] : []),
      ]);
      return { headers, rows };
    }
    case "space":
    case "stack": {
      const prefix = options.allScopes ? (kind === "space" ? ["REALM"] : ["REALM", "SPACE"]) : [];
      const headers = [...prefix, "NAME", "STATE", "AGE", ...(options.wide ? ["CGROUP", "MESSAGE"] : [])];
      const rows = documents.map((d) => [
        ...scopeColumns(d).slice(0, prefix.length),
        name(d),
        state(d, options.color),
        age(d),
        ...(options.wide ? [text(pick(d, "status.cgroupPath")), text(pick(d, "status.message"))] : []),
      ]);
      return { headers, rows };
    }
    case "cell": {
      const prefix = options.allScopes ? ["REALM", "SPACE", "STACK"] : [];
      const headers = [...prefix, "NAME", "STATE", "READY", "RESTARTS", "IP", "AGE", ...(options.wide ? ["CONTAINERS", "IMAGES", "MESSAGE"] : [])];
      const rows = documents.map((d) => {
        const specs = specContainers(d);
        const statuses = statusContainers(d);
        const ids = specs.map((c) => text(c["id"]));
        const workloads = statuses.filter((s) => ids.includes(text(s.name)));
        const ready = workloads.filter((s) => s.state === "Ready").length;
        const restarts = workloads.reduce((sum, s) => sum + (s.restartCount ?? 0), 0);
        return [
          ...scopeColumns(d).slice(0, prefix.length),
          name(d),
          state(d, options.color),
          `${ready}/${specs.length}`,
          String(restarts),
          text(pick(d, "status.network.ip")),
          age(d),
          ...(options.wide
            ? [ids.join(","), specs.map((c) => text(c["image"])).join(","), text(pick(d, "status.message"))]
            : []),
        ];
      });
      return { headers, rows };
    }
    case "secret":
    case "volume": {
      const headers = ["NAME", "SCOPE", ...(kind === "volume" ? ["RECLAIM"] : []), "AGE"];
      const rows = documents.map((d) => [
        name(d),
        scopeText(scopeOfDocument(d as never)),
        ...(kind === "volume" ? [text(pick(d, "spec.reclaimPolicy"), "Delete")] : []),
        age(d),
      ]);
      return { headers, rows };
    }
    case "blueprint": {
      const headers = ["NAME", "SCOPE", "PREFIX", "PARAMETERS", "CONTAINERS"];
      const rows = documents.map((d) => {
        const parameters = pick(d, "spec.parameters");
        const containers = pick(d, "spec.cell.containers");
        return [
          name(d),
          scopeText(scopeOfDocument(d as never)),
          text(pick(d, "spec.prefix") ?? pick(d, "metadata.name")),
          Array.isArray(parameters) ? parameters.map((p) => text(pick(p, "name"))).join(",") || "-" : "-",
          Array.isArray(containers) ? containers.map((c) => text(pick(c, "id"))).join(",") : "-",
        ];
      });
      return { headers, rows };
    }
    case "config": {
      const headers = ["NAME", "SCOPE", "BLUEPRINT"];
      const rows = documents.map((d) => [
        name(d),
        scopeText(scopeOfDocument(d as never)),
        scopeText({ realm: text(pick(d, "spec.blueprint.realm")), ...definedScope(pick(d, "spec.blueprint.space"), pick(d, "spec.blueprint.stack")) }) +
          `/${text(pick(d, "spec.blueprint.name"))}`,
      ]);
      return { headers, rows };
    }
  }
}

function definedScope(space: unknown, stack: unknown): { space?: string; stack?: string } {
  const out: { space?: string; stack?: string } = {};
  if (typeof space === "string" && space !== "") out.space = space;
  if (typeof stack === "string" && stack !== "") out.stack = stack;
  return out;
}

/** How the container's latest instance ended, for `-o wide`'s LAST: `137 SIGKILL 2m ago`, `OOMKilled 5s ago`, `0 1h ago`. */
export function lastExitText(container: unknown, now: Date): string {
  const last = pick(container, "status.lastState");
  if (!isObject(last) || typeof last["exitCode"] !== "number") return "-";
  const what = last["reason"] === "OOMKilled" ? "OOMKilled" : [String(last["exitCode"]), ...(typeof last["signal"] === "string" ? [last["signal"]] : [])].join(" ");
  return typeof last["finishedAt"] === "string" ? `${what} ${formatAge(last["finishedAt"], now)} ago` : what;
}

/** Containers as the API lists them: Container-shaped documents whose status is the cell's entry for them. */
export function containerTable(containers: readonly unknown[], options: TableOptions): Table {
  const now = options.now ?? new Date();
  const prefix = options.allScopes ? ["REALM", "SPACE", "STACK"] : [];
  const headers = [...prefix, "NAME", "CELL", "STATE", "RESTARTS", "EXIT", "AGE", ...(options.wide ? ["LAST", "IMAGE", "CONTAINERD ID"] : [])];
  const rows = containers.map((c) => {
    const stateText = text(pick(c, "status.state"), "Unknown");
    const tint = stateColor(stateText);
    const since = pick(c, "status.startTime") ?? pick(c, "status.createdAt");
    return [
      ...scopeColumns(c).slice(0, prefix.length),
      text(pick(c, "metadata.name")),
      text(pick(c, "spec.cellId")),
      tint === undefined ? stateText : paint(options.color, tint, stateText),
      String(pick(c, "status.restartCount") ?? 0),
      text(pick(c, "status.exitCode")),
      typeof since === "string" ? formatAge(since, now) : "-",
      ...(options.wide ? [lastExitText(c, now), text(pick(c, "spec.image")), text(pick(c, "status.id"))] : []),
    ];
  });
  return { headers, rows };
}

export interface ImageSummaryLike {
  realm?: string;
  name: string;
  digest: string;
  size?: number;
  createdAt?: string | null;
  mediaType?: string;
  /** Cells (`space/stack/cell`) that use the image. */
  cells?: string[];
}

export function imageTable(images: readonly ImageSummaryLike[], options: TableOptions): Table {
  const now = options.now ?? new Date();
  const prefix = options.allScopes ? ["REALM"] : [];
  const headers = [...prefix, "NAME", "DIGEST", "SIZE", "CELLS", "AGE", ...(options.wide ? ["MEDIA TYPE"] : [])];
  const rows = images.map((i) => [
    ...(options.allScopes ? [text(i.realm)] : []),
    i.name,
    options.wide ? i.digest : shortDigest(i.digest),
    formatBytes(i.size),
    i.cells === undefined || i.cells.length === 0 ? "-" : i.cells.join(","),
    formatAge(i.createdAt ?? undefined, now),
    ...(options.wide ? [text(i.mediaType)] : []),
  ]);
  return { headers, rows };
}
