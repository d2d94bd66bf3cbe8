/**
 * @module
 * What an exec asks for and what it runs, decided without touching
 * containerd: the query string read into an ExecRequest, the container it
 * reaches, and the OCI process derived from that container's own spec.
 */
import { rootContainerIdOf } from "../model/derived-ids.ts";
import { KeonError } from "../model/errors.ts";
import type { CellDocument } from "../model/schema/cell.ts";

/**
 * Which container an exec (or attach) reaches: the one asked for, else the
 * cell's `tty.default`, else its first workload (non-root) container.
 */
export function pickContainer(spec: CellDocument["spec"], requested: string | undefined): string {
  const ids = spec.containers.map((c) => c.id);
  if (requested !== undefined && requested !== "") {
    if (!ids.includes(requested)) {
      throw new KeonError("CONTAINER_NOT_FOUND", `cell has no container '${requested}'; it has: ${ids.join(", ") || "none"}`, {
        details: { container: requested, containers: ids },
      });
    }
    return requested;
  }
  if (spec.tty?.default) return spec.tty.default;
  const root = rootContainerIdOf(spec);
  const workload = ids.find((id) => id !== root) ?? ids[0];
  if (workload === undefined) throw new KeonError("CONTAINER_NOT_FOUND", "cell has no containers");
  return workload;
}

export interface ExecRequest {
  args: string[];
  container: string | undefined;
  tty: boolean;
  stdin: boolean;
  size: { width: number; height: number } | undefined;
}

const truthy = (value: string | undefined): boolean => value === "1" || value === "true";

/** The exec request from the query string; INVALID_DOCUMENT-style errors name the parameter. */
export function parseExecQuery(query: URLSearchParams): ExecRequest {
  const args = query.getAll("cmd");
  if (args.length === 0 || args[0] === "") {
    throw new KeonError("INVALID_DOCUMENT", "exec needs a command: give it as repeated `cmd` query parameters", {
      details: { issues: [{ path: "cmd", message: "required" }] },
    });
  }
  const container = query.get("container") ?? undefined;
  const tty = truthy(query.get("tty") ?? undefined);
  return { args, container, tty, stdin: truthy(query.get("stdin") ?? undefined), size: terminalSizeOf(query) };
}

/** The terminal's first size from `cols` and `rows` (both or neither). */
export function terminalSizeOf(query: URLSearchParams): { width: number; height: number } | undefined {
  const cols = query.get("cols");
  const rows = query.get("rows");
  if (cols === null && rows === null) return undefined;
  const width = Number(cols);
  const height = Number(rows);
  if (!isTerminalDimension(width) || !isTerminalDimension(height)) {
    throw new KeonError("INVALID_DOCUMENT", "cols and rows must both be whole numbers between 1 and 65535", {
      details: { issues: [{ path: "cols", message: "must be 1..65535" }] },
    });
  }
  return { width, height };
}

/** A terminal width or height the kernel accepts (a u16, not zero). */
export const isTerminalDimension = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535;

export interface OciProcess {
  args?: string[];
  terminal?: boolean;
  consoleSize?: unknown;
  [field: string]: unknown;
}

/**
 * The exec's OCI process: the container's own (user, env, cwd,
 * capabilities, rlimits, no_new_privileges, apparmor/selinux labels) with
 * the new argv and terminal flag, as `ctr task exec` derives it.
 */
export function execProcessSpec(containerOciSpec: unknown, args: string[], tty: boolean): OciProcess {
  const base = (containerOciSpec as { process?: OciProcess } | null)?.process;
  if (base === undefined || typeof base !== "object") {
    throw new KeonError("CONTAINERD_ERROR", "the container's OCI spec has no process to derive the exec from");
  }
  const process: OciProcess = { ...structuredClone(base), args: [...args], terminal: tty };
  delete process.consoleSize;
  return process;
}
