/**
 * @module
 * Turns the JSON of a `seccomp=<path>` profile into linux.seccomp. Two shapes
 * are accepted, because users point at whichever they have: the OCI one
 * (`architectures`, `syscalls[].names`) and Docker's profile file (`archMap`,
 * `syscalls[].name`, `includes`/`excludes` on caps and arches). Docker's
 * conditions are resolved here for x86_64 and the container's bounding set;
 * runc's Go JSON decoder would otherwise ignore them silently and apply every
 * conditional rule. `minKernel` conditions are taken as met (Keon's hosts run
 * 5.x and later). Anything that is not one of these shapes is refused.
 */
import { refuse } from "./refuse.ts";
import type { OciSeccomp, OciSeccompArg, OciSyscall } from "./types.ts";

type Json = Record<string, unknown>;

const HOST_ARCH = "SCMP_ARCH_X86_64";
/** Docker's includes/excludes name Go architectures. */
const HOST_GO_ARCH = "amd64";

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((s) => typeof s === "string");
}

function isUint(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

/** Docker writes capability names with `CAP_`; compare without it. */
function shortCap(name: string): string {
  const upper = name.toUpperCase();
  return upper.startsWith("CAP_") ? upper.slice(4) : upper;
}

/** Docker's includes/excludes: every included cap and arch present, no excluded one. */
function conditionsHold(entry: Json, caps: ReadonlySet<string>): boolean {
  const includes = isObject(entry["includes"]) ? entry["includes"] : {};
  const excludes = isObject(entry["excludes"]) ? entry["excludes"] : {};
  const incCaps = isStringArray(includes["caps"]) ? includes["caps"] : [];
  const incArches = isStringArray(includes["arches"]) ? includes["arches"] : [];
  const excCaps = isStringArray(excludes["caps"]) ? excludes["caps"] : [];
  const excArches = isStringArray(excludes["arches"]) ? excludes["arches"] : [];
  if (!incCaps.every((c) => caps.has(shortCap(c)))) return false;
  if (incArches.length > 0 && !incArches.includes(HOST_GO_ARCH)) return false;
  if (excCaps.some((c) => caps.has(shortCap(c)))) return false;
  if (excArches.includes(HOST_GO_ARCH)) return false;
  return true;
}

function architectures(profile: Json, path: string): string[] | undefined {
  if (profile["architectures"] !== undefined) {
    if (!isStringArray(profile["architectures"])) throw refuse(path, "seccomp profile: architectures must be a list of strings");
    return [...profile["architectures"]];
  }
  const archMap = profile["archMap"];
  if (archMap === undefined) return undefined;
  if (!Array.isArray(archMap)) throw refuse(path, "seccomp profile: archMap must be a list");
  for (const entry of archMap) {
    if (isObject(entry) && entry["architecture"] === HOST_ARCH) {
      const subs = isStringArray(entry["subArchitectures"]) ? entry["subArchitectures"] : [];
      return [HOST_ARCH, ...subs];
    }
  }
  // A Docker profile without an x86_64 entry: native arch only, as runc does with none.
  return undefined;
}

function seccompArgs(value: unknown, path: string): OciSeccompArg[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw refuse(path, "seccomp profile: syscall args must be a list");
  return value.map((arg) => {
    if (!isObject(arg) || !isUint(arg["index"]) || !isUint(arg["value"]) || typeof arg["op"] !== "string") {
      throw refuse(path, "seccomp profile: each syscall arg needs index, value and op");
    }
    const valueTwo = arg["valueTwo"];
    if (valueTwo !== undefined && !isUint(valueTwo)) throw refuse(path, "seccomp profile: valueTwo must be a number");
    return valueTwo === undefined
      ? { index: arg["index"], value: arg["value"], op: arg["op"] }
      : { index: arg["index"], value: arg["value"], valueTwo, op: arg["op"] };
  });
}

function syscall(entry: unknown, path: string, caps: ReadonlySet<string>): OciSyscall | undefined {
  if (!isObject(entry)) throw refuse(path, "seccomp profile: each syscalls entry must be an object");
  if (!conditionsHold(entry, caps)) return undefined;
  const names = isStringArray(entry["names"]) ? [...entry["names"]] : [];
  if (typeof entry["name"] === "string") names.push(entry["name"]);
  if (names.length === 0) throw refuse(path, "seccomp profile: a syscalls entry names no syscall");
  if (typeof entry["action"] !== "string") throw refuse(path, "seccomp profile: a syscalls entry has no action");
  const out: OciSyscall = { names, action: entry["action"] };
  const errnoRet = entry["errnoRet"];
  if (errnoRet !== undefined) {
    if (!isUint(errnoRet)) throw refuse(path, "seccomp profile: errnoRet must be a number");
    out.errnoRet = errnoRet;
  }
  const args = seccompArgs(entry["args"], path);
  if (args !== undefined && args.length > 0) out.args = args;
  return out;
}

/**
 * `raw` is the parsed profile; `path` is the securityOpts entry that named it;
 * `boundingCaps` are short names (no `CAP_`).
 */
export function seccompFromProfile(raw: unknown, path: string, boundingCaps: readonly string[]): OciSeccomp {
  if (!isObject(raw)) throw refuse(path, "seccomp profile must be a JSON object");
  if (typeof raw["defaultAction"] !== "string") throw refuse(path, "seccomp profile has no defaultAction");
  const caps = new Set(boundingCaps);
  const out: OciSeccomp = { defaultAction: raw["defaultAction"] };
  const defaultErrnoRet = raw["defaultErrnoRet"];
  if (defaultErrnoRet !== undefined) {
    if (!isUint(defaultErrnoRet)) throw refuse(path, "seccomp profile: defaultErrnoRet must be a number");
    out.defaultErrnoRet = defaultErrnoRet;
  }
  const arches = architectures(raw, path);
  if (arches !== undefined) out.architectures = arches;
  if (raw["flags"] !== undefined) {
    if (!isStringArray(raw["flags"])) throw refuse(path, "seccomp profile: flags must be a list of strings");
    out.flags = [...raw["flags"]];
  }
  const list = raw["syscalls"];
  if (list !== undefined && list !== null) {
    if (!Array.isArray(list)) throw refuse(path, "seccomp profile: syscalls must be a list");
    const syscalls: OciSyscall[] = [];
    for (const entry of list) {
      const s = syscall(entry, path, caps);
      if (s !== undefined) syscalls.push(s);
    }
    out.syscalls = syscalls;
  }
  return out;
}
