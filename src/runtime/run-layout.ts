/**
 * @module
 * Where the runtime keeps a cell's files under the run path. One place, so
 * that purge finds exactly what start wrote even when the records are gone.
 *
 *   <runPath>/cells/<realm>/<space>/<stack>/<cell>/cell.json        the cell's network record (IP, aliases)
 *   <runPath>/cells/<realm>/<space>/<stack>/<cell>/<container>/     hosts, hostname, resolv.conf
 *   <runPath>/cells/<realm>/<space>/<stack>/<cell>/<container>.log  the container's stdout+stderr
 *   <runPath>/cells/<realm>/<space>/<stack>/<cell>/<container>.previous.log  the same of its previous instance
 *   <runPath>/cells/<realm>/<space>/<stack>/<cell>/<container>[.previous].log.times  when its lines were
 *       written (model/log-times.ts), kept by keond's main thread (api/log-timekeeper.ts)
 *   <runPath>/cells/<realm>/<space>/<stack>/<cell>/<container>.console/  an attachable container's
 *       console FIFOs (stdin, stdout), kept by keond's main thread (api/console-keeper.ts)
 *   <runPath>/cells/<realm>/<space>/<stack>/<cell>/<container>.tty/  its tty state, mounted at
 *       /run/keon/tty (the onInit run-once gates, the wrapper's default log)
 *   <runPath>/secrets/<realm>/<space>/<stack>/<cell>/<container>/   secret files (on a tmpfs)
 *   <runPath>/volumes/<realm>[/<space>[/<stack>]]/_<name>           managed volumes
 *   <runPath>/repos/<realm>/<space>/<stack>/<cell>/<container>/<repo> clones of repos[] (and <repo>.source.json)
 *
 * Container ids never hold `.` or `_`, so `cell.json`, `<id>.log`, `<id>.console`,
 * `<id>.tty` and `_<name>` never collide with a directory named after a resource.
 */
import { join } from "node:path";
import { validateName } from "../model/names.ts";

export interface CellScope {
  realm: string;
  space: string;
  stack: string;
  cell: string;
}

export function cellsRootOf(runPath: string): string {
  return join(runPath, "cells");
}

export function spaceCellsDirOf(runPath: string, realm: string, space: string): string {
  return join(cellsRootOf(runPath), validateName("realm", realm), validateName("space", space));
}

export function cellDirOf(runPath: string, scope: CellScope): string {
  return join(spaceCellsDirOf(runPath, scope.realm, scope.space), validateName("stack", scope.stack), validateName("cell", scope.cell));
}

export function containerEtcDirOf(runPath: string, scope: CellScope, containerId: string): string {
  return join(cellDirOf(runPath, scope), validateName("container", containerId));
}

export function containerLogPathOf(runPath: string, scope: CellScope, containerId: string): string {
  return join(cellDirOf(runPath, scope), `${validateName("container", containerId)}.log`);
}

/** The FIFOs of an attachable container's console: the task's stdin and (with a terminal, everything) stdout. */
export function containerConsoleOf(runPath: string, scope: CellScope, containerId: string): { dir: string; stdin: string; stdout: string } {
  const dir = join(cellDirOf(runPath, scope), `${validateName("container", containerId)}.console`);
  return { dir, stdin: join(dir, "stdin"), stdout: join(dir, "stdout") };
}

/** The host directory behind an attachable container's /run/keon/tty (oci/tty-wrapper.ts). */
export function containerTtyDirOf(runPath: string, scope: CellScope, containerId: string): string {
  return join(cellDirOf(runPath, scope), `${validateName("container", containerId)}.tty`);
}

/** Where a container's log goes when a new instance starts (`keon logs --previous` reads it). */
export function previousLogPathOf(logPath: string): string {
  return `${logPath.replace(/\.log$/, "")}.previous.log`;
}

/** The times file beside a log (current or previous): it moves with the log it describes. */
export function logTimesPathOf(logPath: string): string {
  return `${logPath}.times`;
}

export function cellRecordPathOf(runPath: string, scope: CellScope): string {
  return join(cellDirOf(runPath, scope), "cell.json");
}

export function secretsRootOf(runPath: string): string {
  return join(runPath, "secrets");
}

export function cellSecretsDirOf(runPath: string, scope: CellScope): string {
  return join(secretsRootOf(runPath), scope.realm, scope.space, scope.stack, validateName("cell", scope.cell));
}

export function containerSecretsDirOf(runPath: string, scope: CellScope, containerId: string): string {
  return join(cellSecretsDirOf(runPath, scope), validateName("container", containerId));
}

export interface VolumeScope {
  realm: string;
  space?: string | undefined;
  stack?: string | undefined;
}

export function volumeDirOf(runPath: string, scope: VolumeScope, name: string): string {
  const parts = [validateName("realm", scope.realm)];
  if (scope.space) parts.push(validateName("space", scope.space));
  if (scope.stack) parts.push(validateName("stack", scope.stack));
  return join(runPath, "volumes", ...parts, `_${validateName("volume", name)}`);
}

export function cellReposDirOf(runPath: string, scope: CellScope): string {
  return join(runPath, "repos", validateName("realm", scope.realm), validateName("space", scope.space), validateName("stack", scope.stack), validateName("cell", scope.cell));
}

export function containerReposDirOf(runPath: string, scope: CellScope, containerId: string): string {
  return join(cellReposDirOf(runPath, scope), validateName("container", containerId));
}

export function repoDirOf(runPath: string, scope: CellScope, containerId: string, repoName: string): string {
  return join(containerReposDirOf(runPath, scope, containerId), validateName("repo", repoName));
}
