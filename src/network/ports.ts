/**
 * @module
 * A container's `ports` entries (`[hostIp:]hostPort:containerPort[/tcp|udp]`)
 * as the `portMappings` the portmap plugin takes in runtimeConfig.
 */
import { KeonError } from "../model/errors.ts";
import { formatIpv4, parseIpv4 } from "./cidr.ts";

export type PortProtocol = "tcp" | "udp";

/** CNI's portMappings capability entry (field names are the convention's). */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: PortProtocol;
  /** Absent means every host address. */
  hostIP?: string;
}

const PORT_ENTRY = /^(?:([^:]+):)?([0-9]+):([0-9]+)(?:\/([a-z]+))?$/;

function portNumber(text: string, entry: string, which: string): number {
  const value = Number(text);
  if (!/^[0-9]{1,5}$/.test(text) || value < 1 || value > 65535) {
    throw invalid(entry, `${which} '${text}' must be a port from 1 to 65535`);
  }
  return value;
}

function invalid(entry: string, reason: string): KeonError {
  return new KeonError("INVALID_DOCUMENT", `port '${entry}': ${reason}`, { details: { value: entry, reason } });
}

/**
 * Parses one entry. The host IP must be plain IPv4 (cell networks are IPv4
 * only) without leading zeros, which some parsers read as octal; `0.0.0.0`
 * means every address and is dropped, as portmap expects.
 */
export function parsePortMapping(entry: string): PortMapping {
  const match = PORT_ENTRY.exec(entry);
  if (!match) throw invalid(entry, "must be [hostIp:]hostPort:containerPort[/tcp|udp]");
  const [, hostIpText, hostPortText, containerPortText, protocolText] = match;
  const protocol = protocolText ?? "tcp";
  if (protocol !== "tcp" && protocol !== "udp") throw invalid(entry, `protocol '${protocol}' must be tcp or udp`);
  const mapping: PortMapping = {
    hostPort: portNumber(hostPortText!, entry, "host port"),
    containerPort: portNumber(containerPortText!, entry, "container port"),
    protocol,
  };
  if (hostIpText !== undefined) {
    const address = parseIpv4(hostIpText);
    if (address === undefined) throw invalid(entry, `host IP '${hostIpText}' must be an IPv4 address like 127.0.0.1`);
    if (address !== 0) mapping.hostIP = formatIpv4(address);
  }
  return mapping;
}

/**
 * All entries of a cell (every container's `ports`), in order. Two entries
 * that bind the same host port are CONFLICT: iptables would silently send
 * every connection to the first.
 */
export function parsePortMappings(entries: readonly string[]): PortMapping[] {
  const mappings = entries.map(parsePortMapping);
  mappings.forEach((mapping, i) => {
    const j = mappings.findIndex((other, k) => k < i && portBindingsClash(other, mapping));
    if (j >= 0) {
      throw new KeonError("CONFLICT", `ports '${entries[j]}' and '${entries[i]}' publish the same host port`, {
        details: { ports: [entries[j], entries[i]] },
      });
    }
  });
  return mappings;
}

/**
 * Whether two mappings claim the same host socket: same port and protocol,
 * and host IPs equal or one of them "every address". Use it across cells
 * too, before portmap shadows one with the other.
 */
export function portBindingsClash(a: PortMapping, b: PortMapping): boolean {
  if (a.hostPort !== b.hostPort || a.protocol !== b.protocol) return false;
  return a.hostIP === undefined || b.hostIP === undefined || a.hostIP === b.hostIP;
}
