/**
 * @module
 * Rules that span several fields of a document, checked after the schema
 * accepted its shape (so each rule can trust the types). A document with shape
 * errors therefore reports those first and these on the next attempt; every
 * issue here still carries the path of the field to change.
 */
import { formatPath, type LocatedIssue, type PathSegment } from "./field-path.ts";
import { ROOT_CONTAINER_ID } from "./derived-ids.ts";
import type { CellDocument } from "./schema/cell.ts";
import type { ContainerSpec, VolumeMount } from "./schema/container.ts";
import type { ContainerDocument } from "./schema/container-document.ts";
import type { Document } from "./schema/document.ts";
import { blueprintRuleIssues, configRuleIssues, repoRuleIssues } from "./blueprint-rules.ts";

export function documentRuleIssues(doc: Document): LocatedIssue[] {
  switch (doc.kind) {
    case "Cell":
      return cellRules(doc);
    case "Container":
      return containerDocumentRules(doc);
    case "Stack":
      return idMatchesName(doc.spec.id, doc.metadata.name);
    case "CellBlueprint":
      return blueprintRuleIssues(doc);
    case "CellConfig":
      return configRuleIssues(doc);
    default:
      return [];
  }
}

function idMatchesName(id: string | undefined, name: string): LocatedIssue[] {
  if (!id || id === name) return [];
  return [{ segments: ["spec", "id"], message: `must equal metadata.name ('${name}') when set` }];
}

function cellRules(cell: CellDocument): LocatedIssue[] {
  const issues = idMatchesName(cell.spec.id, cell.metadata.name);
  const { spec } = cell;
  const owner: Record<"realmId" | "spaceId" | "stackId" | "cellId", string> = {
    realmId: spec.realmId,
    spaceId: spec.spaceId,
    stackId: spec.stackId,
    cellId: cell.metadata.name,
  };
  const namesRoot = spec.rootContainerId || spec.containers.some((c) => c.root === true);

  spec.containers.forEach((container, i) => {
    const base: PathSegment[] = ["spec", "containers", i];
    for (const field of ["realmId", "spaceId", "stackId", "cellId"] as const) {
      const value = container[field];
      if (value && value !== owner[field]) {
        issues.push({
          segments: [...base, field],
          message: `'${value}' disagrees with the cell's ${field === "cellId" ? "metadata.name" : `spec.${field}`} ('${owner[field]}'); leave it empty or make them equal`,
        });
      }
    }
    // Keon's own pause container takes this id when the cell names no root; a
    // workload of the same id would collide with it in containerd.
    if (!namesRoot && container.id === ROOT_CONTAINER_ID) {
      issues.push({
        segments: [...base, "id"],
        message: `'${ROOT_CONTAINER_ID}' is the id of the root container Keon supplies when the cell names none; mark this container root: true or rename it`,
      });
    }
    issues.push(...containerRules(container, base, spec.realmId));
  });

  const ttyDefault = spec.tty?.default;
  const target = ttyDefault ? spec.containers.find((c) => c.id === ttyDefault) : undefined;
  // Attach reaches a container only through its sbsh wrapper (kukeon's rule).
  if (target && target.attachable !== true) {
    issues.push({ segments: ["spec", "tty", "default"], message: `container '${ttyDefault}' is not attachable (set attachable: true on it)` });
  }
  return issues;
}

function containerDocumentRules(doc: ContainerDocument): LocatedIssue[] {
  const issues: LocatedIssue[] = [];
  if (doc.spec.id !== doc.metadata.name) {
    issues.push({ segments: ["spec", "id"], message: `must equal metadata.name ('${doc.metadata.name}'); it may be left out and is then filled from it` });
  }
  issues.push(...containerRules(doc.spec, ["spec"], doc.spec.realmId));
  return issues;
}

/** Rules of one container spec, wherever it sits (`base` is its path). */
export function containerRules(c: ContainerSpec, base: PathSegment[], realm: string): LocatedIssue[] {
  const issues: LocatedIssue[] = [];
  const at = (message: string, ...rest: PathSegment[]) => issues.push({ segments: [...base, ...rest], message });

  // kukeon writes 0 for "unset", so only a real retry budget is refused.
  if ((c.restartMaxRetries ?? 0) !== 0 && c.restartPolicy !== "on-failure") {
    at(`only applies with restartPolicy on-failure (restartPolicy is '${c.restartPolicy || "never"}')`, "restartMaxRetries");
  }

  c.volumes?.forEach((mount, i) => volumeRules(mount, realm, (message, ...rest) => at(message, "volumes", i, ...rest)));

  const mountTargets = new Map<string, PathSegment[]>();
  const claimTarget = (target: string | undefined, segments: PathSegment[]) => {
    if (!target) return;
    const normalized = target.replace(/\/+$/, "") || "/";
    const earlier = mountTargets.get(normalized);
    if (earlier) at(`duplicate mount target '${target}' (also used at ${formatPath(earlier)})`, ...segments);
    else mountTargets.set(normalized, segments);
  };
  c.volumes?.forEach((m, i) => claimTarget(m.target, ["volumes", i, "target"]));
  c.tmpfs?.forEach((m, i) => claimTarget(m.path, ["tmpfs", i, "path"]));
  c.secrets?.forEach((s, i) => claimTarget(s.mountPath, ["secrets", i, "mountPath"]));
  c.repos?.forEach((r, i) => claimTarget(r.target, ["repos", i, "target"]));
  issues.push(...repoRuleIssues(c.repos ?? [], base, { urlRequired: true }));

  const envSecrets = new Map<string, number>();
  c.secrets?.forEach((secret, i) => {
    const sources = (["fromFile", "fromEnv", "secretRef"] as const).filter((k) => secret[k] !== undefined);
    if (sources.length !== 1) {
      at(`exactly one of fromFile, fromEnv or secretRef must be set (found ${sources.length === 0 ? "none" : sources.join(", ")})`, "secrets", i);
    }
    const ref = secret.secretRef;
    // Which realms a secretRef may name (its own, the system realm) is keond's setting: judged at admission (secret-realms.ts).
    if (ref) {
      if (ref.stack && !ref.space) at("a stack scope needs secretRef.space", "secrets", i, "secretRef", "stack");
      if (ref.cell && !ref.stack) at("a cell scope needs secretRef.stack", "secrets", i, "secretRef", "cell");
    }
    if (secret.mountPath === undefined) {
      const earlier = envSecrets.get(secret.name);
      if (earlier !== undefined) at(`env var '${secret.name}' is already given by secrets[${earlier}]`, "secrets", i, "name");
      else envSecrets.set(secret.name, i);
    }
  });

  if ((c.git?.sign?.length ?? 0) > 0 && !c.git?.signingKey) at("signing needs git.signingKey (the key's path in the container)", "git", "sign");

  // The tty block configures the sbsh wrapper, which exists only for attachable containers (kukeon's rule).
  if (c.tty && c.attachable !== true && ttyHasContent(c.tty)) {
    at("only takes effect with attachable: true", "tty");
  }
  if (c.tty) ttyRules(c, at);
  return issues;
}

function volumeRules(m: VolumeMount, realm: string, at: (message: string, ...rest: PathSegment[]) => void): void {
  const kind = m.kind || "bind";
  // kukeon writes 0 for "kernel default", so only non-zero values count as set.
  if (kind !== "tmpfs") {
    if ((m.sizeBytes ?? 0) !== 0) at("only applies to kind tmpfs", "sizeBytes");
    if ((m.mode ?? 0) !== 0) at("only applies to kind tmpfs", "mode");
  }
  if (kind !== "volume" && m.volumeRef !== undefined) at("only applies to kind volume", "volumeRef");
  switch (kind) {
    case "bind":
      if (!m.source) at("required for a bind mount: the absolute host path to mount", "source");
      else if (!m.source.startsWith("/")) at("must be an absolute host path", "source");
      else if (m.source.split("/").includes("..")) at("must not contain '..'", "source");
      else if (m.source.includes("\0")) at("must not contain NUL", "source");
      break;
    case "tmpfs":
      if (m.source) at("a tmpfs mount takes no source", "source");
      break;
    case "volume":
      if (m.source) at("a volume mount takes its source from volumeRef; leave source empty", "source");
      if (!m.volumeRef) at("required for kind volume: {name, realm, space?, stack?}", "volumeRef");
      else {
        if (m.volumeRef.realm !== realm) at(`a container can mount only volumes of its own realm ('${realm}')`, "volumeRef", "realm");
        if (m.volumeRef.stack && !m.volumeRef.space) at("a stack scope needs volumeRef.space", "volumeRef", "stack");
      }
      break;
  }
}

const TTY_LOG_LEVELS = ["", "debug", "info", "warn", "error"];

/**
 * kukeon's tty rules: a known log level, an absolute log file, and a
 * `runOn: create` stage only beside a writable persistent mount: its run-once
 * gate outlives the container's recreation, and without a persistent mount
 * what the stage made would not.
 */
function ttyRules(c: ContainerSpec, at: (message: string, ...rest: PathSegment[]) => void): void {
  const tty = c.tty!;
  if (tty.logLevel !== undefined && !TTY_LOG_LEVELS.includes(tty.logLevel)) at("must be debug, info, warn or error", "tty", "logLevel");
  if (tty.logFile && !tty.logFile.startsWith("/")) at("must be an absolute path inside the container", "tty", "logFile");
  // kukeon asks for a bind; a managed volume persists as well.
  const persistent = (c.volumes ?? []).some((v) => v.kind !== "tmpfs" && v.readOnly !== true);
  tty.onInit?.forEach((stage, i) => {
    if (stage.runOn === "create" && !persistent) {
      at("a create stage needs a writable bind or volume mount among volumes (its effects must outlive the container)", "tty", "onInit", i, "runOn");
    }
  });
}

function ttyHasContent(tty: NonNullable<ContainerSpec["tty"]>): boolean {
  return Boolean(tty.prompt || tty.logFile || tty.logLevel || tty.onInit?.some((s) => s.script !== ""));
}
