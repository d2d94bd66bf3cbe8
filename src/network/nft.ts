/**
 * @module
 * The nft command: whole transactions through `nft -f -` (never rule by
 * rule), and reads of Keon's table for health, counters and tests. Thin:
 * the text comes from nft-ruleset.ts.
 */
import { KeonError } from "../model/errors.ts";
import { NFT_FAMILY, NFT_TABLE } from "./nft-names.ts";
import { runCommand } from "./run-command.ts";

export const DEFAULT_NFT_TIMEOUT_MS = 10_000;

export interface NftOptions {
  timeoutMs?: number;
  /** A named network namespace to apply in (benchmarks and tests that build their own); the host's by default. */
  netns?: string;
}

/** Applies one transaction; NETWORK_ERROR naming nft's complaint when the kernel refused it (then nothing of it applied). */
export async function applyNft(transaction: string, options: NftOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_NFT_TIMEOUT_MS;
  const argv = options.netns === undefined ? ["nft", "-f", "-"] : ["ip", "netns", "exec", options.netns, "nft", "-f", "-"];
  const run = await runCommand(argv, { timeoutMs, stdin: transaction });
  if (run.exitCode === 0 && !run.timedOut) return;
  const reason = run.timedOut ? `timed out after ${timeoutMs} ms` : run.stderr.trim().split("\n").slice(0, 6).join(" | ") || `exit ${run.exitCode}`;
  throw new KeonError("NETWORK_ERROR", `nft transaction refused (nothing of it applied): ${reason}`, {
    details: { nft: true, missing: /No such file or directory/.test(run.stderr), timedOut: run.timedOut },
  });
}

/** True when the error is an nft refusal because an object it names does not exist. */
export function isNftMissing(error: unknown): boolean {
  return error instanceof KeonError && error.details?.["missing"] === true;
}

export interface NftObjects {
  chains: string[];
  sets: Record<string, string[]>;
  counters: Record<string, { packets: number; bytes: number }>;
  maps: Record<string, string[]>;
  /** Rules per chain. */
  rules: Record<string, number>;
}

/** Keon's table as `nft -j` shows it, or undefined when the table does not exist. */
export async function listKeonTable(timeoutMs = DEFAULT_NFT_TIMEOUT_MS): Promise<NftObjects | undefined> {
  const run = await runCommand(["nft", "-j", "list", "table", NFT_FAMILY, NFT_TABLE], { timeoutMs });
  if (run.exitCode !== 0 || run.timedOut) {
    if (/No such file or directory/.test(run.stderr)) return undefined;
    throw new KeonError("NETWORK_ERROR", `nft list table ${NFT_FAMILY} ${NFT_TABLE} failed: ${run.stderr.trim() || `exit ${run.exitCode}`}`, {
      details: { timedOut: run.timedOut },
    });
  }
  return parseNftJson(run.stdout);
}

type Json = Record<string, unknown>;

function elementText(e: unknown): string {
  if (typeof e === "string" || typeof e === "number") return String(e);
  const o = e as Json;
  if (o["prefix"]) {
    const p = o["prefix"] as Json;
    return `${String(p["addr"])}/${String(p["len"])}`;
  }
  if (o["range"]) {
    const [a, b] = o["range"] as unknown[];
    return `${elementText(a)}-${elementText(b)}`;
  }
  if (o["concat"]) return (o["concat"] as unknown[]).map(elementText).join(" . ");
  if (o["elem"]) return elementText((o["elem"] as Json)["val"]);
  return JSON.stringify(o);
}

/** Pure part of listKeonTable. */
export function parseNftJson(text: string): NftObjects {
  const objects = (JSON.parse(text) as { nftables?: Json[] }).nftables ?? [];
  const out: NftObjects = { chains: [], sets: {}, counters: {}, maps: {}, rules: {} };
  for (const o of objects) {
    if (o["chain"]) out.chains.push(String((o["chain"] as Json)["name"]));
    if (o["set"]) {
      const s = o["set"] as Json;
      out.sets[String(s["name"])] = ((s["elem"] as unknown[] | undefined) ?? []).map(elementText);
    }
    if (o["map"]) {
      const m = o["map"] as Json;
      out.maps[String(m["name"])] = ((m["elem"] as unknown[][] | undefined) ?? []).map((pair) => elementText(pair[0]));
    }
    if (o["counter"]) {
      const c = o["counter"] as Json;
      out.counters[String(c["name"])] = { packets: Number(c["packets"] ?? 0), bytes: Number(c["bytes"] ?? 0) };
    }
    if (o["rule"]) {
      const chain = String((o["rule"] as Json)["chain"]);
      out.rules[chain] = (out.rules[chain] ?? 0) + 1;
    }
  }
  out.chains.sort();
  return out;
}
