/**
 * @module
 * Enforcing a space's network policy on the host: the space's nft objects
 * rewritten in one transaction (ensure), removed in one (delete), and a
 * cell's address admitted to or withdrawn from its space's set.
 *
 * Fail-closed: a space's chains are in place before any cell of it exists
 * (the space is Ready only once they are, and cells wait for a Ready space),
 * they match every packet entering from the space's bridge whatever its
 * source, and a source address that is not an admitted cell's is dropped.
 * So a cell sends nothing before its policy is in force, and a cell whose
 * admission failed sends nothing at all. The rules live in the kernel: a
 * keond crash or restart leaves them in force.
 *
 * Per-space serialisation: the space pass rebuilds @cells from the CNI
 * result cache while cell passes (same realm Worker, concurrently) admit
 * and withdraw addresses. Each of those holds the space's lock, and a cell
 * is admitted only after its ADD result is cached, so a rebuild either sees
 * the cell or runs before its admission; never loses it.
 */
import { readFileSync } from "node:fs";
import { MAX_EGRESS_RULES, type EgressPolicy } from "../model/schema/space.ts";
import { parseIpv4 } from "./cidr.ts";
import { effectiveEgress, hostsOfPolicy, type EffectiveEgress } from "./egress-rules.ts";
import { HostResolver } from "./host-resolver.ts";
import { applyNft, isNftMissing } from "./nft.ts";
import { nftInstanceNames, nftInstanceTagOf, nftSpaceNames, type NftInstanceNames } from "./nft-names.ts";
import { renderCellAdmission, renderCellWithdrawal, renderSpace, renderSpaceRemoval } from "./nft-ruleset.ts";

/** Default bound on a space's egress rules: the schema's, so what admission let in is enforced. */
export const DEFAULT_MAX_EGRESS_RULES = MAX_EGRESS_RULES;

export interface EgressHost {
  runPath: string;
  namespaceSuffix: string;
  /** The pool's ranges plus every subnet allocated: destinations isolated by default. */
  isolated: readonly string[];
  maxRules?: number;
}

export interface SpaceEgressInput {
  realm: string;
  space: string;
  subnet: string;
  policy: EgressPolicy | undefined;
  /** Addresses of the space's attached cells (from the CNI result cache). */
  cells: () => readonly string[];
}

/** What status shows of a space's effective policy. */
export interface EgressReport {
  default: "allow" | "deny";
  unconstrained: boolean;
  rules: number;
  allowedCidrs: number;
  allowedPorts: number;
  hosts: Record<string, string[]>;
  unresolved: Record<string, string>;
}

const resolver = new HostResolver();
const locks = new Map<string, Promise<unknown>>();

/** Runs `step` after every earlier step on the same key has settled. */
async function serialised<T>(key: string, step: () => Promise<T>): Promise<T> {
  const before = locks.get(key) ?? Promise.resolve();
  const run = before.then(step, step);
  const settled = run.then(() => undefined, () => undefined);
  locks.set(key, settled);
  try {
    return await run;
  } finally {
    if (locks.get(key) === settled) locks.delete(key);
  }
}

export function instanceOf(host: Pick<EgressHost, "runPath" | "namespaceSuffix">): NftInstanceNames {
  return nftInstanceNames(nftInstanceTagOf(host.runPath, host.namespaceSuffix));
}

/** The host's non-loopback IPv4 nameservers: the one destination on the host cells may reach (DNS). */
export function hostResolverAddresses(resolvConf = readResolvConf()): string[] {
  const found = [...resolvConf.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]!);
  return found.filter((a) => {
    const v = parseIpv4(a);
    return v !== undefined && v >>> 24 !== 127;
  });
}

function readResolvConf(): string {
  try {
    return readFileSync("/etc/resolv.conf", "utf8");
  } catch {
    return "";
  }
}

/**
 * Resolves the policy's hosts (what expired), then writes the space's whole
 * policy in one transaction. Throws INVALID_DOCUMENT for a policy beyond the
 * rule bound and NETWORK_ERROR when nft refused (nothing applied then).
 */
export async function ensureSpaceEgress(host: EgressHost, input: SpaceEgressInput): Promise<EgressReport> {
  const instance = instanceOf(host);
  const names = nftSpaceNames(instance, input.realm, input.space);
  const resolutions = await resolver.resolveAll(hostsOfPolicy(input.policy));
  const resolved = new Map([...resolutions].map(([name, r]) => [name, r.addresses]));
  const egress = effectiveEgress(input.policy, resolved, host.maxRules ?? DEFAULT_MAX_EGRESS_RULES);
  return await serialised(names.cellsSet, async () => {
    const cells = input.cells();
    await applyNft(renderSpace(
      { names: instance, isolated: host.isolated },
      { names, subnet: input.subnet, egress, cells, dns: hostResolverAddresses() },
    ));
    return reportOf(egress, input.policy, resolutions);
  });
}

function reportOf(egress: EffectiveEgress, policy: EgressPolicy | undefined, resolutions: Map<string, { error?: string }>): EgressReport {
  const unresolved: Record<string, string> = {};
  for (const name of egress.unresolved) unresolved[name] = resolutions.get(name)?.error ?? "no address";
  return {
    default: egress.default,
    unconstrained: policy === undefined,
    rules: egress.ruleCount,
    allowedCidrs: egress.allow.length,
    allowedPorts: egress.allowPorts.length,
    hosts: egress.hosts,
    unresolved,
  };
}

/** Removes exactly the space's chains, sets, counter and dispatch entries; idempotent. */
export async function removeSpaceEgress(host: Pick<EgressHost, "runPath" | "namespaceSuffix">, realm: string, space: string): Promise<void> {
  const instance = instanceOf(host);
  const names = nftSpaceNames(instance, realm, space);
  await serialised(names.cellsSet, () => applyNft(renderSpaceRemoval(names)));
}

/**
 * Admits a cell's address. Fails (NETWORK_ERROR) when the space has no set:
 * the caller then undoes the cell's start, so it never runs unadmitted.
 */
export async function admitCellAddress(host: Pick<EgressHost, "runPath" | "namespaceSuffix">, realm: string, space: string, ip: string): Promise<void> {
  const names = nftSpaceNames(instanceOf(host), realm, space);
  await serialised(names.cellsSet, () => applyNft(renderCellAdmission(names, ip)));
}

/**
 * Withdraws a cell's address around `release` (its CNI DEL), under the
 * space's lock: withdrawn first (the cell is going), and no rebuild can put
 * it back while the DEL runs. A space whose set is gone has nothing to
 * withdraw.
 */
export async function withdrawCellAddress<T>(
  host: Pick<EgressHost, "runPath" | "namespaceSuffix">, realm: string, space: string, ip: string | undefined, release: () => Promise<T>,
): Promise<T> {
  const names = nftSpaceNames(instanceOf(host), realm, space);
  return await serialised(names.cellsSet, async () => {
    if (ip !== undefined) {
      try {
        await applyNft(renderCellWithdrawal(names, ip));
      } catch (error) {
        if (!isNftMissing(error)) throw error;
      }
    }
    return await release();
  });
}
