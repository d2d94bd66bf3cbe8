/**
 * @module
 * Keon's nftables rules as text for `nft -f`, a pure function of a space,
 * its policy and its cells. Each function returns one whole transaction: the
 * kernel applies all of it or none, so no packet ever meets half a policy.
 *
 * Per space, in the shared table `inet keon` (names in nft-names.ts):
 *
 *   chain <space>_out   hooked on forward: egress of the space's cells
 *     a packet not from the space's bridge: accept (not this chain's to judge);
 *     replies of flows opened towards a cell (published ports, allowed peers) pass;
 *     a source address not in @cells is dropped (a cell is admitted by its element);
 *     the space's own subnet passes; @allow and @allowp (dest . port) pass;
 *     @isolated (the pool: other spaces, other realms) is dropped;
 *     then the default: accept, or drop.
 *   chain <space>_host  hooked on input: the cells to the host: DNS to @dns and replies only.
 *
 * A cell coming or going is one element of @cells; a policy change rewrites
 * only its space's chains and sets. An accept in one hooked chain only hands
 * the packet to the next (a drop anywhere is final), so one space's or one
 * keond's chains never let through what another's drops.
 */
import { formatCidr } from "./cidr.ts";
import { minimalBlocks, normalizeCidr, type EffectiveEgress } from "./egress-rules.ts";
import { NFT_FAMILY, NFT_TABLE, type NftInstanceNames, type NftSpaceNames } from "./nft-names.ts";

const T = `${NFT_FAMILY} ${NFT_TABLE}`;

export interface NftInstanceInput {
  names: NftInstanceNames;
  /** The instance's pool ranges and every subnet it allocated (a subnet outside a reconfigured pool stays isolated). */
  isolated: readonly string[];
}

export interface NftSpaceInput {
  names: NftSpaceNames;
  subnet: string;
  egress: EffectiveEgress;
  /** Addresses of the space's attached cells. */
  cells: readonly string[];
  /** Host resolver addresses the cells may send DNS to. */
  dns: readonly string[];
}

const CELLS_SET = "type ipv4_addr;";
const INTERVAL_SET = "type ipv4_addr; flags interval;";
const PORTS_SET = "type ipv4_addr . inet_service; flags interval;";
const FORWARD = "type filter hook forward priority filter; policy accept;";
const INPUT = "type filter hook input priority filter; policy accept;";

function elements(values: readonly string[]): string {
  return `{ ${values.join(", ")} }`;
}

/** `flush set` then its elements: a set's content replaced in the transaction. */
function fillSet(name: string, spec: string, values: readonly string[]): string[] {
  return [
    `add set ${T} ${name} { ${spec} }`,
    `flush set ${T} ${name}`,
    ...(values.length === 0 ? [] : [`add element ${T} ${name} ${elements(values)}`]),
  ];
}

/** Overlapping entries would be refused by an interval set. */
function mergeCidrs(cidrs: readonly string[]): string[] {
  return minimalBlocks(cidrs.map((c) => normalizeCidr(c, "isolated"))).map(formatCidr);
}

/** The space's sets, each with its definition (ensure and removal name the same ones). */
function setsOf(n: NftSpaceNames): Array<[string, string]> {
  return [[n.cellsSet, CELLS_SET], [n.allowSet, INTERVAL_SET], [n.allowPortsSet, PORTS_SET], [n.dnsSet, CELLS_SET], [n.isolatedSet, INTERVAL_SET]];
}

/** The space's whole policy: its sets, counter and two hooked chains. */
export function renderSpace(instance: NftInstanceInput, space: NftSpaceInput): string {
  const n = space.names;
  const drop = `counter name "${n.dropCounter}" drop`;
  const lines = [
    `add table ${T}`,
    ...fillSet(n.cellsSet, CELLS_SET, [...new Set(space.cells)].sort()),
    ...fillSet(n.allowSet, INTERVAL_SET, space.egress.allow),
    ...fillSet(n.allowPortsSet, PORTS_SET, space.egress.allowPorts.map((p) => `${p.cidr} . ${p.port}`)),
    ...fillSet(n.dnsSet, CELLS_SET, [...new Set(space.dns)].sort()),
    ...fillSet(n.isolatedSet, INTERVAL_SET, mergeCidrs(instance.isolated)),
    `add counter ${T} ${n.dropCounter}`,
    `add chain ${T} ${n.outChain} { ${FORWARD} }`,
    `flush chain ${T} ${n.outChain}`,
    `add rule ${T} ${n.outChain} iifname != "${n.bridge}" accept`,
    `add rule ${T} ${n.outChain} ct direction reply accept`,
    // Cells are IPv4 only: anything else from the bridge is not a cell's.
    `add rule ${T} ${n.outChain} meta nfproto != ipv4 ${drop}`,
    `add rule ${T} ${n.outChain} ip saddr != @${n.cellsSet} ${drop}`,
    `add rule ${T} ${n.outChain} ip daddr ${space.subnet} accept`,
    `add rule ${T} ${n.outChain} ip daddr @${n.allowSet} accept`,
    `add rule ${T} ${n.outChain} meta l4proto { tcp, udp } ip daddr . th dport @${n.allowPortsSet} accept`,
    `add rule ${T} ${n.outChain} ip daddr @${n.isolatedSet} ${drop}`,
    `add rule ${T} ${n.outChain} ${space.egress.default === "deny" ? drop : "accept"}`,
    `add chain ${T} ${n.hostChain} { ${INPUT} }`,
    `flush chain ${T} ${n.hostChain}`,
    `add rule ${T} ${n.hostChain} iifname != "${n.bridge}" accept`,
    `add rule ${T} ${n.hostChain} ct direction reply accept`,
    `add rule ${T} ${n.hostChain} meta l4proto { tcp, udp } ip daddr @${n.dnsSet} th dport 53 accept`,
    `add rule ${T} ${n.hostChain} ${drop}`,
  ];
  return `${lines.join("\n")}\n`;
}

/**
 * Everything of one space, gone, whether or not it existed: each object is
 * first added (a no-op when present) so that its delete cannot fail on
 * absence, and nothing of another space or instance is named.
 */
export function renderSpaceRemoval(n: NftSpaceNames): string {
  const lines = [
    `add table ${T}`,
    ...[[n.outChain, FORWARD], [n.hostChain, INPUT]].flatMap(([chain, spec]) => [
      `add chain ${T} ${chain} { ${spec} }`,
      `flush chain ${T} ${chain}`,
      `delete chain ${T} ${chain}`,
    ]),
    ...setsOf(n).flatMap(([name, spec]) => [`add set ${T} ${name} { ${spec} }`, `delete set ${T} ${name}`]),
    `add counter ${T} ${n.dropCounter}`,
    `delete counter ${T} ${n.dropCounter}`,
  ];
  return `${lines.join("\n")}\n`;
}

/** Admits a cell: its address joins the space's set (fails when the space has no set: then the cell must not start). */
export function renderCellAdmission(n: NftSpaceNames, ip: string): string {
  return `add element ${T} ${n.cellsSet} { ${ip} }\n`;
}

/** Withdraws a cell's address; idempotent (added first, so the delete never fails on absence). */
export function renderCellWithdrawal(n: NftSpaceNames, ip: string): string {
  return `add element ${T} ${n.cellsSet} { ${ip} }\ndelete element ${T} ${n.cellsSet} { ${ip} }\n`;
}
