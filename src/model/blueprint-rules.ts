/**
 * @module
 * Rules of CellBlueprint and CellConfig documents that span fields, and of
 * `repos[]` wherever it appears. Checked after the schema accepted the shape;
 * each issue names the field to change. Pure.
 */
import type { LocatedIssue, PathSegment } from "./field-path.ts";
import type { CellBlueprintDocument, CellConfigDocument } from "./schema/blueprint.ts";
import type { ContainerRepo } from "./schema/container-git.ts";
import { parameterReferences, RESERVED_PARAMETERS } from "./template-params.ts";
import { repoUrlProblem } from "./repo-url.ts";

export interface RepoRuleOptions {
  /** A cell or Container document must name the URL; a blueprint may leave it open (a slot). */
  urlRequired: boolean;
}

export function repoRuleIssues(repos: readonly ContainerRepo[], base: PathSegment[], options: RepoRuleOptions): LocatedIssue[] {
  const issues: LocatedIssue[] = [];
  const seen = new Set<string>();
  repos.forEach((repo, i) => {
    const at = (message: string, ...rest: PathSegment[]) => issues.push({ segments: [...base, "repos", i, ...rest], message });
    if (seen.has(repo.name)) at(`duplicate repo name '${repo.name}'`, "name");
    seen.add(repo.name);
    if (options.urlRequired && !repo.url) at("required: the URL to clone (only a CellBlueprint may leave it to a CellConfig)", "url");
    // A blueprint's URL may still hold ${KEY}s: it is judged on the stamped cell.
    const problem = options.urlRequired && repo.url ? repoUrlProblem(repo.url) : undefined;
    if (problem !== undefined) at(problem, "url");
    if (repo.branch && repo.ref) at("branch and ref are mutually exclusive: track a branch or pin a ref", "ref");
    if (repo.secretRef?.stack && !repo.secretRef.space) at("a stack scope needs secretRef.space", "secretRef", "stack");
    if (repo.secretRef?.cell && !repo.secretRef.stack) at("a cell scope needs secretRef.stack", "secretRef", "cell");
  });
  return issues;
}

export function blueprintRuleIssues(doc: CellBlueprintDocument): LocatedIssue[] {
  const issues: LocatedIssue[] = [];
  const declared = new Map<string, number>();
  (doc.spec.parameters ?? []).forEach((parameter, i) => {
    const at = (message: string) => issues.push({ segments: ["spec", "parameters", i, "name"], message });
    if (RESERVED_PARAMETERS.has(parameter.name)) at(`'${parameter.name}' is reserved: Keon fills it with the stamped cell's name`);
    else if (declared.has(parameter.name)) at(`parameter '${parameter.name}' is already declared at parameters[${declared.get(parameter.name)}]`);
    else declared.set(parameter.name, i);
  });
  // A typo in a ${KEY} surfaces when the blueprint is applied, not as an empty value in a running cell.
  for (const { name, segments } of parameterReferences(doc.spec.cell, ["spec", "cell"])) {
    if (!declared.has(name) && !RESERVED_PARAMETERS.has(name)) {
      issues.push({ segments, message: `\${${name}} is not a declared parameter (declare it in spec.parameters)` });
    }
  }
  const ids = new Set<string>();
  doc.spec.cell.containers.forEach((container, i) => {
    const base: PathSegment[] = ["spec", "cell", "containers", i];
    if (ids.has(container.id)) issues.push({ segments: [...base, "id"], message: `duplicate container id '${container.id}'` });
    ids.add(container.id);
    issues.push(...repoRuleIssues(container.repos ?? [], base, { urlRequired: false }));
    const slots = new Set<string>();
    (container.secrets ?? []).forEach((slot, j) => {
      const at = (message: string, field: string) => issues.push({ segments: [...base, "secrets", j, field], message });
      if (slots.has(slot.name)) at(`duplicate secret slot '${slot.name}' in this container`, "name");
      slots.add(slot.name);
      const mode = slot.mode || "env";
      if (mode === "env" && !slot.envName) at("required when mode is env: the variable the value is given as", "envName");
      if (mode === "file" && !slot.mountPath) at("required when mode is file: where the value is mounted", "mountPath");
      if (mode === "env" && slot.mountPath) at("only applies when mode is file", "mountPath");
    });
  });
  return issues;
}

export function configRuleIssues(doc: CellConfigDocument): LocatedIssue[] {
  const issues: LocatedIssue[] = [];
  for (const [slot, fill] of Object.entries(doc.spec.repos ?? {})) {
    if (fill.branch && fill.ref) issues.push({ segments: ["spec", "repos", slot, "ref"], message: "branch and ref are mutually exclusive: track a branch or pin a ref" });
  }
  if (doc.spec.blueprint.stack && !doc.spec.blueprint.space) {
    issues.push({ segments: ["spec", "blueprint", "stack"], message: "a stack scope needs blueprint.space" });
  }
  return issues;
}
