/**
 * @module
 * What the host shows of the networks one test run made, and nothing else.
 * The host may run another Keon (the demo, a second keond), podman or any
 * CNI user at the same time: their bridges, veths and rules come and go, so
 * a check that lists everything on the host breaks on them (issue 12). Each
 * item here is attributed to the run by a name it chose:
 * - links: the bridges of the run's (realm, space) pairs and the links
 *   enslaved to them; a veth once seen on one of them stays attributed to the
 *   run (so a veth left behind after its bridge went is still reported);
 * - iptables: rules whose comment names one of the run's networks
 *   (`name: "keon.<realm>.<space>"`), and every rule of the chains those rules
 *   jump to (the plugins' per-attachment `CNI-…` and `CNI-DN-…` chains, whose
 *   own rules carry no comment);
 * - nft: the same chains as iptables-nft shows them in `nft list ruleset`
 *   (where comments are not printed), with counters removed;
 * - netns: named namespaces whose name contains one of the run's prefixes.
 */
import { bridgeNameOf, networkNameOf } from "../../src/network/network-names.ts";
import { runCommand } from "../../src/network/run-command.ts";

export interface NetworkScope {
  /** The run's realms and their spaces (each space is one bridge and one network). */
  spaces: ReadonlyArray<readonly [realm: string, space: string]>;
  /** Realms whose every network counts (spaces made by a cascade the test does not list). */
  realms?: readonly string[];
  /** Named network namespaces containing one of these belong to the run. */
  netnsPrefixes?: readonly string[];
}

export interface OwnNetworkState {
  links: string[];
  netns: string[];
  iptables: string[];
  nft: string[];
}

/** Chains and veths attributed to a run once seen, by scope key: they stay the run's after their anchor is gone. */
const remembered = new Map<string, { chains: Set<string>; veths: Set<string> }>();

function memoryOf(scope: NetworkScope): { chains: Set<string>; veths: Set<string> } {
  const key = JSON.stringify([scope.spaces, scope.realms ?? [], scope.netnsPrefixes ?? []]);
  let memory = remembered.get(key);
  if (memory === undefined) {
    memory = { chains: new Set(), veths: new Set() };
    remembered.set(key, memory);
  }
  return memory;
}

async function lines(argv: string[]): Promise<string[]> {
  const run = await runCommand(argv, { timeoutMs: 10_000 });
  if (run.exitCode !== 0 || run.timedOut) throw new Error(`${argv.join(" ")} failed: ${run.stderr.trim() || `exit ${run.exitCode}`}`);
  return run.stdout.split("\n").filter((l) => l.trim() !== "");
}

/** `ip -o link show` lines as name and master. */
export function parseLinks(output: readonly string[]): Array<{ name: string; master?: string }> {
  return output.map((line) => {
    const name = (line.split(":")[1] ?? "").trim().split("@")[0]!;
    const master = / master (\S+) /.exec(line)?.[1];
    return master === undefined ? { name } : { name, master };
  });
}

/** True when an iptables-save line's comment names one of `networks` or a network of one of `realms`. */
function namesOurNetwork(line: string, networks: ReadonlySet<string>, realms: readonly string[]): boolean {
  const named = /name: \\?"([^"\\]+)\\?"/.exec(line)?.[1];
  if (named === undefined) return false;
  return networks.has(named) || realms.some((realm) => named.startsWith(`keon.${realm}.`));
}

/**
 * The run's iptables rules: those naming its networks, then (to a fixed
 * point) every rule in a chain one of them jumps to, plus chains remembered
 * from earlier snapshots. Returns the rules and the chains.
 */
export function ownIptablesRules(
  save: readonly string[],
  networks: ReadonlySet<string>,
  realms: readonly string[],
  knownChains: ReadonlySet<string> = new Set(),
): { rules: string[]; chains: Set<string> } {
  const rules = save.filter((l) => l.startsWith("-A "));
  const chains = new Set<string>(knownChains);
  const picked = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const rule of rules) {
      if (picked.has(rule)) continue;
      const chain = rule.split(" ")[1] ?? "";
      if (!namesOurNetwork(rule, networks, realms) && !chains.has(chain)) continue;
      picked.add(rule);
      grew = true;
      const target = / -[jg] (CNI-[A-Za-z0-9-]+)/.exec(rule)?.[1];
      // The shared portmap chains (CNI-HOSTPORT-*) hold every user's jumps: never the run's as a whole.
      if (target !== undefined && !target.startsWith("CNI-HOSTPORT-") && !chains.has(target)) chains.add(target);
    }
  }
  const declared = save.filter((l) => l.startsWith(":") && chains.has(l.slice(1).split(" ")[0]!)).map((l) => l.split(" ")[0]!);
  return { rules: [...declared, ...rules.filter((r) => picked.has(r))], chains };
}

/** `nft list ruleset` lines inside the given chains, or jumping to them, without packet counters. */
export function ownNftLines(ruleset: readonly string[], chains: ReadonlySet<string>): string[] {
  const out: string[] = [];
  let current: string | undefined;
  for (const raw of ruleset) {
    const line = raw.trim().replace(/counter packets \d+ bytes \d+/g, "counter");
    const opened = /^chain (\S+) \{$/.exec(line);
    if (opened !== null) {
      current = opened[1];
      if (chains.has(current!)) out.push(`chain ${current}`);
      continue;
    }
    if (line === "}") {
      current = undefined;
      continue;
    }
    const target = /(?:jump|goto) (\S+)/.exec(line)?.[1];
    if ((current !== undefined && chains.has(current)) || (target !== undefined && chains.has(target))) out.push(`${current ?? "?"}: ${line}`);
  }
  return out;
}

/** A snapshot of the run's own network items on the host; equal before and after a suite when it left nothing. */
export async function ownNetworkState(scope: NetworkScope): Promise<OwnNetworkState> {
  const memory = memoryOf(scope);
  const realms = scope.realms ?? [];
  const bridges = new Set(scope.spaces.map(([realm, space]) => bridgeNameOf(realm, space)));
  const networks = new Set(scope.spaces.map(([realm, space]) => networkNameOf(realm, space)));

  const links = parseLinks(await lines(["ip", "-o", "link", "show"]));
  for (const link of links) if (link.master !== undefined && bridges.has(link.master) && link.name.startsWith("veth")) memory.veths.add(link.name);
  const ownLinks = links
    .filter((l) => bridges.has(l.name) || (l.master !== undefined && bridges.has(l.master)) || memory.veths.has(l.name))
    .map((l) => (l.master === undefined ? l.name : `${l.name} master ${l.master}`))
    .sort();

  const { rules, chains } = ownIptablesRules(await lines(["iptables-save"]), networks, realms, memory.chains);
  for (const chain of chains) memory.chains.add(chain);
  const nft = ownNftLines(await lines(["nft", "list", "ruleset"]), chains);
  const prefixes = [...(scope.netnsPrefixes ?? []), ...realms];
  const netns = (await lines(["ip", "netns", "list"]))
    .map((l) => l.split(" ")[0]!)
    .filter((name) => prefixes.some((p) => name.includes(p)))
    .sort();
  return { links: ownLinks, netns, iptables: rules, nft };
}
