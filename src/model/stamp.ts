/**
 * @module
 * Stamping a cell from a CellBlueprint, alone or through a CellConfig: the
 * one decision of which values and which slot fills a stamped cell gets.
 * Pure: the caller looks the templates up, picks the name's random suffix,
 * and validates and stores the cell document this returns.
 *
 * - Parameters: resolved by template-params.ts (`--param`, the config's
 *   values, the default, the permitted environment) and substituted into the
 *   string values of the cell template; `${CELL_NAME}` becomes the cell's name.
 * - Repo slots (a repo without `url`) take the config's fill of that name;
 *   secret slots take the config's `secretRef` and become an env or file
 *   secret as the slot says. A required slot left unfilled refuses the stamp
 *   (naming it); an optional one is dropped from the container.
 * - The cell carries the templates' labels, the lineage labels
 *   `kukeon.io/blueprint` (and `kukeon.io/config`), and `spec.provenance`.
 */
import { KeonError, type FieldIssue } from "./errors.ts";
import type { BlueprintContainer, CellBlueprintDocument, CellConfigDocument } from "./schema/blueprint.ts";
import type { TemplateRef } from "./schema/provenance.ts";
import { CELL_NAME_PARAMETER, resolveParameters, substitute } from "./template-params.ts";

export const BLUEPRINT_LABEL = "kukeon.io/blueprint";
export const CONFIG_LABEL = "kukeon.io/config";

export interface TemplateSource<D> {
  ref: TemplateRef;
  document: D;
}

export interface StampInput {
  blueprint: TemplateSource<CellBlueprintDocument>;
  config?: TemplateSource<CellConfigDocument> | undefined;
  /** `--param K=V`. */
  params: Readonly<Record<string, string>>;
  /** The caller's environment, when the caller permits parameters to come from it. */
  env?: Readonly<Record<string, string>> | undefined;
  /** Where the cell goes. */
  scope: { realm: string; space: string; stack: string };
  /** The stamped cell's name (`<prefix>-<6 hex>`, see cellNameOf). */
  name: string;
  /** `--rm`: delete the cell once its workloads exited. */
  autoDelete?: boolean | undefined;
}

export interface BlueprintSlots {
  /** Repo slots (repos without a url) by name: required when any declaration of the name is. */
  repos: Map<string, boolean>;
  secrets: Map<string, boolean>;
}

/** `<prefix>-<suffix>`: the blueprint's prefix, or its name. */
export function cellNameOf(blueprint: CellBlueprintDocument, suffix: string): string {
  return `${blueprint.spec.prefix || blueprint.metadata.name}-${suffix}`;
}

/** The slots a blueprint declares, matched by name across its containers. */
export function slotsOf(blueprint: CellBlueprintDocument): BlueprintSlots {
  const slots: BlueprintSlots = { repos: new Map(), secrets: new Map() };
  for (const container of blueprint.spec.cell.containers) {
    for (const repo of container.repos ?? []) {
      if (!repo.url) slots.repos.set(repo.name, (slots.repos.get(repo.name) ?? false) || repo.required === true);
    }
    for (const slot of container.secrets ?? []) {
      slots.secrets.set(slot.name, (slots.secrets.get(slot.name) ?? false) || slot.required === true);
    }
  }
  return slots;
}

/**
 * What a config does wrong against its blueprint's current shape: a value
 * for an undeclared parameter, a fill of an undeclared slot, a required slot
 * left unfilled. Checked when the config is applied (and again at a stamp).
 */
export function configFillIssues(config: CellConfigDocument, blueprint: CellBlueprintDocument): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const declared = new Set((blueprint.spec.parameters ?? []).map((p) => p.name));
  const name = blueprint.metadata.name;
  for (const key of Object.keys(config.spec.values ?? {})) {
    if (!declared.has(key)) issues.push({ path: `spec.values.${key}`, message: `blueprint '${name}' declares no parameter '${key}'` });
  }
  const slots = slotsOf(blueprint);
  for (const channel of ["repos", "secrets"] as const) {
    const fills = config.spec[channel] ?? {};
    for (const slot of Object.keys(fills)) {
      if (!slots[channel].has(slot)) issues.push({ path: `spec.${channel}.${slot}`, message: `blueprint '${name}' declares no ${channel === "repos" ? "repo" : "secret"} slot '${slot}'` });
    }
    for (const [slot, required] of slots[channel]) {
      if (required && !Object.hasOwn(fills, slot)) {
        issues.push({ path: `spec.${channel}`, message: `required ${channel === "repos" ? "repo" : "secret"} slot '${slot}' of blueprint '${name}' is not filled` });
      }
    }
  }
  return issues;
}

/** The cell document to validate and store, or INVALID_DOCUMENT naming every problem. */
export function stampCell(input: StampInput): Record<string, unknown> {
  const { blueprint, config } = input;
  const resolved = resolveParameters(blueprint.document.spec.parameters ?? [], {
    params: input.params, values: config?.document.spec.values, env: input.env,
  });
  const issues: FieldIssue[] = resolved.problems.map((p) => ({ path: p.source === "value" ? `spec.values.${p.name}` : p.source === "param" ? `params.${p.name}` : `parameters.${p.name}`, message: p.message }));
  if (config !== undefined) {
    issues.push(...configFillIssues(config.document, blueprint.document).filter((i) => !i.path.startsWith("spec.values.")));
  } else {
    for (const channel of ["repos", "secrets"] as const) {
      for (const [slot, required] of slotsOf(blueprint.document)[channel]) {
        if (!required) continue;
        issues.push({
          path: `slots.${slot}`,
          message: `required ${channel === "repos" ? "repo" : "secret"} slot '${slot}' has no source: run it through a CellConfig that fills it (keon run --from-config NAME)`,
        });
      }
    }
  }
  if (issues.length > 0) {
    const from = config === undefined ? `blueprint '${blueprint.ref.name}'` : `config '${config.ref.name}'`;
    throw new KeonError("INVALID_DOCUMENT", `cannot stamp a cell from ${from}: ${issues.map((i) => i.message).join("; ")}`, { details: { issues } });
  }

  const values = new Map(resolved.values);
  values.set(CELL_NAME_PARAMETER, input.name);
  const template = substitute(blueprint.document.spec.cell, values);
  const containers = template.containers.map((c) => materialize(c, config?.document));
  const labels: Record<string, string> = {
    ...blueprint.document.metadata.labels,
    ...config?.document.metadata.labels,
    [BLUEPRINT_LABEL]: blueprint.ref.name,
    ...(config === undefined ? {} : { [CONFIG_LABEL]: config.ref.name }),
  };
  const source = config ?? blueprint;
  return {
    apiVersion: "v1beta1",
    kind: "Cell",
    metadata: { name: input.name, labels },
    spec: {
      ...template,
      realmId: input.scope.realm,
      spaceId: input.scope.space,
      stackId: input.scope.stack,
      ...(input.autoDelete === true ? { autoDelete: true } : {}),
      containers,
      provenance: {
        kind: config === undefined ? "CellBlueprint" : "CellConfig",
        ref: compactRef(source.ref),
        params: Object.fromEntries(resolved.values),
      },
    },
  };
}

/** A template container as a cell's: repo slots filled or dropped, secret slots turned into secretRef secrets or dropped. */
function materialize(container: BlueprintContainer, config: CellConfigDocument | undefined): Record<string, unknown> {
  const { repos, secrets, ...rest } = container;
  const repoFills = config?.spec.repos ?? {};
  const secretFills = config?.spec.secrets ?? {};
  const filledRepos = (repos ?? []).flatMap((repo) => {
    if (repo.url) return [repo];
    const fill = Object.hasOwn(repoFills, repo.name) ? repoFills[repo.name] : undefined;
    if (fill === undefined) return [];
    const { branch: _branch, ref: _ref, ...slot } = repo;
    return [{ ...slot, ...fill, ...(fill.branch || fill.ref ? {} : pin(repo)) }];
  });
  const filledSecrets = (secrets ?? []).flatMap((slot) => {
    const fill = Object.hasOwn(secretFills, slot.name) ? secretFills[slot.name] : undefined;
    if (fill === undefined) return [];
    return (slot.mode || "env") === "file"
      ? [{ name: slot.name, secretRef: fill.secretRef, mountPath: slot.mountPath }]
      : [{ name: slot.envName, secretRef: fill.secretRef }];
  });
  return {
    ...rest,
    ...(filledRepos.length > 0 ? { repos: filledRepos } : {}),
    ...(filledSecrets.length > 0 ? { secrets: filledSecrets } : {}),
  };
}

/** The template's own branch or ref, kept when the fill names neither. */
function pin(repo: { branch?: string | undefined; ref?: string | undefined }): Record<string, string> {
  if (repo.ref) return { ref: repo.ref };
  if (repo.branch) return { branch: repo.branch };
  return {};
}

function compactRef(ref: TemplateRef): TemplateRef {
  return { name: ref.name, realm: ref.realm, ...(ref.space ? { space: ref.space } : {}), ...(ref.stack ? { stack: ref.stack } : {}) };
}
