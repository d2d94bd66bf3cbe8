/**
 * @module
 * The per-container /etc files of a space's cells, and the small record each
 * running cell leaves in its directory (name, IP, aliases, containers with
 * files) from which its peers' hosts files are rendered. Re-rendering writes
 * in place (etc-writer.ts keeps the inode a bind mount pins), so running
 * containers see a peer appear without a restart.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../support/atomic-file.ts";
import { renderHostname, renderHosts, renderResolvConf, type HostsPeer } from "../network/etc-files.ts";
import { ETC_FILE_NAMES, writeEtcFiles } from "../network/etc-writer.ts";
import { cellRecordPathOf, containerEtcDirOf, spaceCellsDirOf, type CellScope } from "./run-layout.ts";

export interface CellRecord {
  cell: string;
  stack: string;
  /** Absent while the cell is stopped: it is then nobody's peer. */
  ip?: string | undefined;
  aliases: string[];
  /** Containers that have rendered files (hostNetwork ones keep the host's). */
  etcContainers: string[];
}

export interface EtcPaths {
  hostsPath: string;
  hostnamePath: string;
  resolvConfPath: string;
}

export function etcPathsOf(runPath: string, scope: CellScope, containerId: string): EtcPaths {
  const dir = containerEtcDirOf(runPath, scope, containerId);
  return { hostsPath: join(dir, ETC_FILE_NAMES.hosts), hostnamePath: join(dir, ETC_FILE_NAMES.hostname), resolvConfPath: join(dir, ETC_FILE_NAMES.resolvConf) };
}

export function writeCellRecord(runPath: string, scope: CellScope, record: CellRecord): void {
  writeFileAtomic(cellRecordPathOf(runPath, scope), `${JSON.stringify(record)}\n`);
}

export function readCellRecord(runPath: string, scope: CellScope): CellRecord | undefined {
  try {
    return JSON.parse(readFileSync(cellRecordPathOf(runPath, scope), "utf8")) as CellRecord;
  } catch {
    // Absent or torn: the cell is treated as having no address; the next start rewrites it.
    return undefined;
  }
}

export function removeCellRecord(runPath: string, scope: CellScope): void {
  rmSync(cellRecordPathOf(runPath, scope), { force: true });
}

function spaceRecords(runPath: string, realm: string, space: string): CellRecord[] {
  const dir = spaceCellsDirOf(runPath, realm, space);
  if (!existsSync(dir)) return [];
  const records: CellRecord[] = [];
  for (const stack of readdirSync(dir)) {
    for (const cell of readdirSync(join(dir, stack))) {
      const record = readCellRecord(runPath, { realm, space, stack, cell });
      if (record !== undefined) records.push(record);
    }
  }
  return records;
}

function hostResolvConf(): string {
  try {
    return readFileSync("/etc/resolv.conf", "utf8");
  } catch {
    return "";
  }
}

/** Renders and writes one cell's files, given its space's other cells. */
function writeCellFiles(runPath: string, realm: string, space: string, record: CellRecord, peers: HostsPeer[], resolv: string): void {
  const scope = { realm, space, stack: record.stack, cell: record.cell };
  const files = {
    hosts: renderHosts({ cellName: record.cell, cellIp: record.ip, aliases: record.aliases, peers }),
    hostname: renderHostname(record.cell),
    resolvConf: renderResolvConf(resolv),
  };
  for (const container of record.etcContainers) writeEtcFiles(containerEtcDirOf(runPath, scope, container), files);
}

function peersOf(records: readonly CellRecord[], self: CellRecord): HostsPeer[] {
  return records
    .filter((r) => !(r.cell === self.cell && r.stack === self.stack) && r.ip !== undefined)
    .map((r) => ({ name: r.cell, ip: r.ip!, aliases: r.aliases }));
}

/** Writes `record` and the files of its containers (before they start, so the bind sources exist). */
export function writeCellEtc(runPath: string, scope: CellScope, record: CellRecord): void {
  writeCellRecord(runPath, scope, record);
  const records = spaceRecords(runPath, scope.realm, scope.space);
  writeCellFiles(runPath, scope.realm, scope.space, record, peersOf(records, record), hostResolvConf());
}

/**
 * Re-renders the hosts files of every cell of the space, in place. Run it
 * whenever a cell of the space gets or loses an address, or joins or leaves.
 * Unchanged files are not written at all.
 */
export function refreshSpaceHosts(runPath: string, realm: string, space: string): void {
  const records = spaceRecords(runPath, realm, space);
  const resolv = hostResolvConf();
  for (const record of records) writeCellFiles(runPath, realm, space, record, peersOf(records, record), resolv);
}
