/**
 * @module
 * The per-container /etc files of a cell, rendered as pure functions of the
 * cell's names and addresses: the same input always gives the same bytes, so
 * the writer can skip a write when nothing changed.
 */
import { KeonError } from "../model/errors.ts";
import { parseIpv4 } from "./cidr.ts";

export interface HostsPeer {
  name: string;
  ip: string;
  aliases?: readonly string[];
}

export interface HostsInput {
  cellName: string;
  /** Absent before the cell has an address: its name then maps to 127.0.1.1 (Debian's convention for the own hostname). */
  cellIp?: string | undefined;
  /** The networksAliases of the cell's containers. */
  aliases?: readonly string[];
  /** The other cells of the same space. */
  peers?: readonly HostsPeer[];
}

const LOCALHOST_BLOCK = [
  "127.0.0.1\tlocalhost",
  "::1\tlocalhost ip6-localhost ip6-loopback",
  "fe00::0\tip6-localnet",
  "ff00::0\tip6-mcastprefix",
  "ff02::1\tip6-allnodes",
  "ff02::2\tip6-allrouters",
];

const UNADDRESSED_CELL_IP = "127.0.1.1";

/** A hosts-file name: letters, digits, '-', '.', '_' only, so no entry can add a line or a comment. */
const HOST_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?$/;
/** An IPv4 or IPv6 literal; IPv6 is checked loosely (hex, ':', optional zone-less dotted tail). */
const IPV6 = /^[0-9A-Fa-f:]+(?::\d+\.\d+\.\d+\.\d+)?$/;

function checkName(name: string, field: string): string {
  if (!HOST_NAME.test(name)) {
    throw new KeonError("INVALID_CONFIGURATION", `${field}: '${name.slice(0, 80)}' is not a valid host name for /etc/hosts`, {
      details: { field, value: name.slice(0, 256) },
    });
  }
  return name;
}

function checkIp(ip: string, field: string): string {
  if (parseIpv4(ip) === undefined && !(ip.includes(":") && IPV6.test(ip))) {
    throw new KeonError("INVALID_CONFIGURATION", `${field}: '${ip.slice(0, 80)}' is not an IP address`, { details: { field, value: ip.slice(0, 256) } });
  }
  return ip;
}

/** Names after the first, deduplicated and sorted, never repeating the first. */
function namesLine(ip: string, first: string, extra: readonly string[]): string {
  const rest = [...new Set(extra)].filter((n) => n !== first).sort();
  return `${ip}\t${[first, ...rest].join(" ")}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The localhost block, then the cell's own line (its IP, its name and the
 * aliases), then one line per peer sorted by name then IP. The own line
 * comes before the peers so that the cell's own names win in a resolver
 * that returns the first match.
 */
export function renderHosts(input: HostsInput): string {
  const cellName = checkName(input.cellName, "cellName");
  const aliases = (input.aliases ?? []).map((a, i) => checkName(a, `aliases[${i}]`));
  const own = input.cellIp === undefined ? UNADDRESSED_CELL_IP : checkIp(input.cellIp, "cellIp");
  const peers = (input.peers ?? [])
    .map((p, i) => ({
      name: checkName(p.name, `peers[${i}].name`),
      ip: checkIp(p.ip, `peers[${i}].ip`),
      aliases: (p.aliases ?? []).map((a, j) => checkName(a, `peers[${i}].aliases[${j}]`)),
    }))
    .sort((a, b) => compare(a.name, b.name) || compare(a.ip, b.ip) || compare(a.aliases.join(" "), b.aliases.join(" ")));
  const lines = [
    "# Managed by Keon: rewritten when this cell's address or its space's cells change.",
    ...LOCALHOST_BLOCK,
    namesLine(own, cellName, aliases),
    ...peers.map((p) => namesLine(p.ip, p.name, p.aliases)),
  ];
  return `${lines.join("\n")}\n`;
}

export function renderHostname(cellName: string): string {
  return `${checkName(cellName, "cellName")}\n`;
}

/** True for a nameserver a cell cannot reach: it is the host's own loopback, not the cell's. */
function isLoopbackNameserver(address: string): boolean {
  const bare = address.replace(/%.*$/, "").toLowerCase();
  const v4 = parseIpv4(bare);
  if (v4 !== undefined) return v4 >>> 24 === 127;
  // ::1 in any spelling (::1, 0:0:0:0:0:0:0:1, ::0001); IPv4-mapped loopback too.
  if (/^(?:0{0,4}:){2,7}0{0,3}1$/.test(bare) || bare === "::1") return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  return mapped !== null && (parseIpv4(mapped[1]!) ?? 0) >>> 24 === 127;
}

/**
 * The host's resolv.conf without nameservers on loopback (127.0.0.0/8, ::1:
 * e.g. systemd-resolved's 127.0.0.53, which inside a cell's network namespace
 * is the cell itself). Everything else (search, options, comments) is kept
 * in order. When no nameserver is left, a comment says so and no nameserver
 * line is written, so resolvers fail fast instead of querying a dead address.
 */
export function renderResolvConf(hostResolvConf: string): string {
  const kept: string[] = [];
  const dropped: string[] = [];
  let nameservers = 0;
  for (const raw of hostResolvConf.split(/\r?\n/)) {
    const line = raw.trimEnd();
    const match = /^\s*nameserver\s+(\S+)/.exec(line);
    if (match) {
      if (isLoopbackNameserver(match[1]!)) {
        dropped.push(match[1]!);
        continue;
      }
      nameservers++;
    }
    kept.push(line);
  }
  while (kept.length > 0 && kept[kept.length - 1] === "") kept.pop();
  const header = ["# Generated by Keon from the host's resolv.conf."];
  if (dropped.length > 0) header.push(`# Left out loopback-only nameservers a cell cannot reach: ${dropped.join(" ")}`);
  if (nameservers === 0) header.push("# No nameserver is configured: the host offers none but loopback ones.");
  return `${[...header, ...kept].join("\n")}\n`;
}
