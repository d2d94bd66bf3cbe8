/**
 * @module
 * Egress `host` rules are resolved by keond, never by the cell: a cell that
 * could pick its own answers could pick any address. Hosts files first (as
 * getaddrinfo does), then DNS A records with their TTL. An answer is kept
 * for its TTL, at most 60 s (the bound), so each space pass
 * re-resolves what expired and swaps the set in one transaction.
 *
 * The hosts files default to /etc/hosts; KEON_EGRESS_HOSTS_FILES (paths
 * joined with `:`) replaces the list, so an operator (or a test) can pin
 * names without touching the host's resolver.
 */
import { promises as dns } from "node:dns";
import { readFileSync } from "node:fs";
import { parseIpv4 } from "./cidr.ts";

export const MAX_HOST_TTL_MS = 60_000;
/** A failed lookup is tried again this soon (each pass), never cached for long. */
const RETRY_MS = 5_000;
const LOOKUP_TIMEOUT_MS = 3_000;

export interface Resolution {
  addresses: string[];
  /** Set when the name did not resolve (the reason, for status). */
  error?: string;
  expiresAtMs: number;
}

export function defaultHostsFiles(): string[] {
  const configured = process.env["KEON_EGRESS_HOSTS_FILES"];
  return configured ? configured.split(":").filter((p) => p !== "") : ["/etc/hosts"];
}

/** Pure: the IPv4 addresses a hosts file gives `name` (case-insensitive, aliases included). */
export function addressesInHosts(text: string, name: string): string[] {
  const wanted = name.toLowerCase();
  const found: string[] = [];
  for (const line of text.split("\n")) {
    const fields = line.replace(/#.*/, "").trim().split(/\s+/);
    if (fields.length < 2 || parseIpv4(fields[0]!) === undefined) continue;
    if (fields.slice(1).some((f) => f.toLowerCase() === wanted)) found.push(fields[0]!);
  }
  return [...new Set(found)];
}

export class HostResolver {
  private readonly cache = new Map<string, Resolution>();

  constructor(
    private readonly hostsFiles: () => string[] = defaultHostsFiles,
    private readonly now: () => number = Date.now,
  ) {}

  /** Each name's current answer, looking up only what expired. */
  async resolveAll(names: readonly string[]): Promise<Map<string, Resolution>> {
    const out = new Map<string, Resolution>();
    await Promise.all(names.map(async (name) => out.set(name, await this.resolve(name))));
    return out;
  }

  async resolve(name: string): Promise<Resolution> {
    const cached = this.cache.get(name);
    if (cached !== undefined && cached.expiresAtMs > this.now()) return cached;
    const fresh = await this.lookup(name);
    this.cache.set(name, fresh);
    return fresh;
  }

  private async lookup(name: string): Promise<Resolution> {
    const now = this.now();
    for (const file of this.hostsFiles()) {
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch {
        continue;
      }
      const addresses = addressesInHosts(text, name);
      if (addresses.length > 0) return { addresses: addresses.sort(), expiresAtMs: now + MAX_HOST_TTL_MS };
    }
    try {
      const records = await withTimeout(dns.resolve4(name, { ttl: true }), LOOKUP_TIMEOUT_MS);
      if (records.length === 0) return { addresses: [], error: "no A record", expiresAtMs: now + RETRY_MS };
      const ttlMs = Math.min(MAX_HOST_TTL_MS, Math.max(1_000, Math.min(...records.map((r) => r.ttl)) * 1000));
      return { addresses: [...new Set(records.map((r) => r.address))].sort(), expiresAtMs: now + ttlMs };
    } catch (error) {
      return { addresses: [], error: (error as NodeJS.ErrnoException).code ?? (error as Error).message, expiresAtMs: now + RETRY_MS };
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`lookup timed out after ${ms} ms`), { code: "ETIMEOUT" })), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
