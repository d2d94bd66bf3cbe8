/**
 * @module
 * `${KEY}` parameters of a cell template: finding the references, resolving
 * each parameter's value, substituting. Only string values are substituted
 * (never keys), so a parameter can change what a field says but not which
 * fields a document has. Pure.
 */
import type { PathSegment } from "./field-path.ts";
import type { BlueprintParameter } from "./schema/blueprint.ts";

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Filled by Keon, never by a caller: the stamped cell's own name (kukeon's reserved `${CELL_NAME}`). */
export const CELL_NAME_PARAMETER = "CELL_NAME";
export const RESERVED_PARAMETERS: ReadonlySet<string> = new Set([CELL_NAME_PARAMETER]);

export interface ParameterReference {
  name: string;
  segments: PathSegment[];
}

/** Every `${KEY}` in the string values under `value`, with the path of the string holding it. */
export function parameterReferences(value: unknown, base: PathSegment[] = []): ParameterReference[] {
  if (typeof value === "string") return [...value.matchAll(REFERENCE)].map((m) => ({ name: m[1]!, segments: base }));
  if (Array.isArray(value)) return value.flatMap((item, i) => parameterReferences(item, [...base, i]));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => parameterReferences(item, [...base, key]));
  }
  return [];
}

/** A copy of `value` with each `${KEY}` of `values` replaced; references not in `values` stay as written. */
export function substitute<T>(value: T, values: ReadonlyMap<string, string>): T {
  if (typeof value === "string") {
    return value.replace(REFERENCE, (whole, name: string) => values.get(name) ?? whole) as T;
  }
  if (Array.isArray(value)) return value.map((item) => substitute(item, values)) as T;
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substitute(item, values)])) as T;
  }
  return value;
}

/** Where a parameter's value may come from, strongest first (see resolveParameters). */
export interface ParameterSources {
  /** `--param K=V` of this run. */
  params: Readonly<Record<string, string>>;
  /** A CellConfig's `spec.values`. */
  values?: Readonly<Record<string, string>> | undefined;
  /** The caller's environment, only when the caller permitted it (`--params-from-env`). */
  env?: Readonly<Record<string, string>> | undefined;
}

export interface ParameterProblem {
  /** The `--param` or parameter it is about. */
  name: string;
  /** `param` for an undeclared --param, `value` for an undeclared config value, `parameter` for a required one left without a value. */
  source: "param" | "value" | "parameter";
  message: string;
}

export interface ResolvedParameters {
  values: Map<string, string>;
  problems: ParameterProblem[];
}

/**
 * Each declared parameter's value: `--param`, then the config's value, then
 * the declared default (an empty default counts: it stops the look at the
 * environment), then the caller's environment when permitted, else empty.
 * A `--param` or config value for an undeclared name is a problem (typos
 * surface at once), as is a required parameter that found no value.
 */
export function resolveParameters(parameters: readonly BlueprintParameter[], sources: ParameterSources): ResolvedParameters {
  const declared = new Set(parameters.map((p) => p.name));
  const problems: ParameterProblem[] = [];
  for (const name of Object.keys(sources.params)) {
    if (!declared.has(name)) problems.push({ name, source: "param", message: `--param ${name}: the blueprint declares no parameter '${name}'${hint(declared)}` });
  }
  for (const name of Object.keys(sources.values ?? {})) {
    if (!declared.has(name)) problems.push({ name, source: "value", message: `values.${name}: the blueprint declares no parameter '${name}'${hint(declared)}` });
  }
  const values = new Map<string, string>();
  for (const parameter of parameters) {
    const value = own(sources.params, parameter.name) ?? own(sources.values, parameter.name) ?? parameter.default ?? own(sources.env, parameter.name);
    if (value === undefined && parameter.required === true) {
      problems.push({ name: parameter.name, source: "parameter", message: `parameter '${parameter.name}' is required and has no value: give --param ${parameter.name}=VALUE` });
    }
    values.set(parameter.name, value ?? "");
  }
  return { values, problems };
}

function own(record: Readonly<Record<string, string>> | undefined, key: string): string | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

function hint(declared: ReadonlySet<string>): string {
  return declared.size === 0 ? " (it declares none)" : ` (declared: ${[...declared].join(", ")})`;
}
