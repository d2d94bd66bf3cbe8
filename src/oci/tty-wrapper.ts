/**
 * @module
 * The terminal wrapper of an attachable container, as a pure function of its
 * `tty` block: what kukeon's kuketty/sbsh pair does, written as a small POSIX
 * shell script that runs first on the container's terminal and then execs
 * the workload in its place (same PID, same terminal).
 *
 * - `onInit` stages with `runOn: create` run once, in declaration order, each
 *   to completion in a subshell before the workload starts; a stage that
 *   fails stops the container with its exit status (the restart policy then
 *   decides) and runs again next time. A stage that succeeded leaves a gate
 *   file, named by its position and a digest of its script, in the tty state
 *   directory (a host directory that outlives the container's recreation), so
 *   it does not run again unless its script changes.
 * - stages with `runOn: start` (or empty) run on every start, in declaration
 *   order, in the wrapper's own shell (`eval`), so what they export or the
 *   directory they change to carries into the workload; a failing one is
 *   logged and the start goes on, like a failing line of a shell's rc file.
 * - `prompt` becomes the exported PS1 of the workload (a shell takes it).
 * - the wrapper's own lines go to `logFile` (default /run/keon/tty/tty.log),
 *   filtered by `logLevel` (default info; unknown levels are refused at apply).
 * The image must have /bin/sh: the stages are shell scripts by definition.
 * A container whose tty block asks for none of this runs unwrapped.
 */
import { createHash } from "node:crypto";
import { posix } from "node:path";
import type { ContainerSpec } from "../model/schema/container.ts";

/** Where the tty state directory appears inside the container. */
export const TTY_STATE_DIR = "/run/keon/tty";
/**
 * Where the static init (catatonit) of an attachable container appears. The
 * workload's first process is the init of its PID namespace, and the kernel
 * drops every signal such an init has no handler for: an interactive shell
 * would ignore even the SIGHUP that ends it when its terminal is hung up
 * (runtime/task-control.ts). The init forwards signals to it and reaps.
 */
export const TERMINAL_INIT = "/run/keon/init";

const LEVELS = ["debug", "info", "warn", "error"] as const;
type Level = (typeof LEVELS)[number];

type Tty = NonNullable<ContainerSpec["tty"]>;

/** Whether the container runs under the wrapper: attachable, with a prompt, a stage or a log file to honour. */
export function needsTtyWrapper(container: Pick<ContainerSpec, "attachable" | "tty">): boolean {
  const tty = container.tty;
  if (container.attachable !== true || tty === undefined) return false;
  return Boolean(tty.prompt || tty.logFile || tty.onInit?.some((stage) => stage.script.trim() !== ""));
}

/** Single-quoted for the shell: the only character that needs care is the quote itself. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The gate file of a create stage: its position and its script's digest, so an edited stage runs again. */
export function createGateOf(index: number, script: string, stateDir = TTY_STATE_DIR): string {
  const digest = createHash("sha256").update(script).digest("hex").slice(0, 16);
  return `${stateDir}/oninit-${index}-${digest}.done`;
}

/** The wrapper script; `"$@"` is the workload's argv. `stateDir` is where the container sees its tty state directory. */
export function ttyWrapperScript(tty: Tty, stateDir = TTY_STATE_DIR): string {
  const threshold = LEVELS.indexOf((tty.logLevel || "info") as Level);
  const logFile = tty.logFile || `${stateDir}/tty.log`;
  const lines: string[] = [
    `keon_tty_log() { printf '%s keon-tty %s: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$2" >>${shellQuote(logFile)} 2>/dev/null || :; }`,
    `mkdir -p ${shellQuote(posix.dirname(logFile))} 2>/dev/null`,
  ];
  const log = (level: Level, message: string): void => {
    if (LEVELS.indexOf(level) >= threshold) lines.push(`keon_tty_log ${level} ${message}`);
  };
  const stages = (tty.onInit ?? []).map((stage, index) => ({ ...stage, index })).filter((stage) => stage.script.trim() !== "");
  log("debug", `"starting $*"`);
  for (const stage of stages.filter((s) => s.runOn === "create")) {
    const name = `onInit[${stage.index}] (create)`;
    const gate = createGateOf(stage.index, stage.script, stateDir);
    lines.push(`if [ ! -e ${shellQuote(gate)} ]; then`);
    log("info", shellQuote(`${name}: running`));
    lines.push(`( eval ${shellQuote(stage.script)} )`, "keon_tty_status=$?");
    lines.push(`if [ "$keon_tty_status" -ne 0 ]; then`);
    log("error", `"${name} failed with exit status $keon_tty_status"`);
    lines.push(`  printf 'keon: %s failed with exit status %s\\n' ${shellQuote(name)} "$keon_tty_status" >&2`, `  exit "$keon_tty_status"`, "fi");
    lines.push(`: >${shellQuote(gate)}`);
    log("info", shellQuote(`${name}: done`));
    lines.push("fi");
  }
  for (const stage of stages.filter((s) => s.runOn !== "create")) {
    const name = `onInit[${stage.index}] (start)`;
    log("info", shellQuote(`${name}: running`));
    lines.push(`command eval ${shellQuote(stage.script)}`, "keon_tty_status=$?");
    const failed: string[] = [];
    if (LEVELS.indexOf("warn") >= threshold) failed.push(`keon_tty_log warn "${name} exited with status $keon_tty_status"`);
    if (failed.length > 0) lines.push(`if [ "$keon_tty_status" -ne 0 ]; then ${failed.join("; ")}; fi`);
  }
  if (tty.prompt) lines.push(`PS1=${shellQuote(tty.prompt)}`, "export PS1");
  log("debug", `"exec $*"`);
  lines.push(`exec "$@"`);
  return `${lines.join("\n")}\n`;
}

/**
 * The process's argv: the init (when the host gives one) and the wrapper
 * (when one is needed) in front of the workload's.
 */
export function ttyProcessArgs(container: Pick<ContainerSpec, "attachable" | "tty">, args: readonly string[], withInit: boolean): string[] {
  const wrapped = needsTtyWrapper(container) && container.tty !== undefined ? ["/bin/sh", "-c", ttyWrapperScript(container.tty), "keon-tty", ...args] : [...args];
  return container.attachable === true && withInit ? [TERMINAL_INIT, "--", ...wrapped] : wrapped;
}
