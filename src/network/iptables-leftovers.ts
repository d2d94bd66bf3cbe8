/**
 * @module
 * What the CNI plugins leave in the nat table, found in `iptables-save`
 * output and turned into one `iptables-restore --noflush` batch (applied as
 * one transaction: all of it or none). Pure; gc.ts runs the commands.
 *
 * Two leaks seen with containernetworking-plugins 1.1.1:
 * - bridge's ipMasq chain `CNI-<hash>` and its POSTROUTING jump stay when DEL
 *   runs after the namespace is gone (DEL learns the addresses from the
 *   interface inside the namespace, and ignores prevResult);
 * - portmap's `CNI-DN-<hash>` chain and its CNI-HOSTPORT-DNAT jump stay when
 *   DEL never ran with the portMappings (a crash before the cache write).
 * Both plugins tag their rules with `[dnat ]name: "<network>" id: "<containerID>"`.
 */

/** portmap's shared chains, created on first use and never removed by the plugin. */
export const PORTMAP_SHARED_CHAINS = ["CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK"] as const;

export interface SavedRule {
  chain: string;
  /** The rule as iptables-save prints it after `-A <chain> `; iptables-restore reads it back verbatim. */
  spec: string;
  /** The `-j` target, if any. */
  target: string | undefined;
}

export interface SavedTable {
  chains: Set<string>;
  rules: SavedRule[];
}

/** Parses one table of `iptables-save -t <table>` output. */
export function parseIptablesSave(text: string): SavedTable {
  const chains = new Set<string>();
  const rules: SavedRule[] = [];
  for (const line of text.split("\n")) {
    const chain = /^:(\S+)\s/.exec(line);
    if (chain) {
      chains.add(chain[1]!);
      continue;
    }
    const rule = /^-A (\S+) (.*)$/.exec(line);
    if (rule) rules.push({ chain: rule[1]!, spec: rule[2]!, target: / -j (\S+)/.exec(` ${rule[2]!}`)?.[1] });
  }
  return { chains, rules };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The container ID a rule's CNI comment names for `networkName`, if it carries one. */
export function attachmentIdOfRule(rule: SavedRule, networkName: string): string | undefined {
  // iptables-save prints the comment in double quotes with inner quotes escaped.
  const pattern = new RegExp(`--comment "(?:dnat )?name: \\\\"${escapeRegExp(networkName)}\\\\" id: \\\\"([A-Za-z0-9_.-]+)\\\\""`);
  return pattern.exec(rule.spec)?.[1];
}

export interface LeftoverBatch {
  /** Input for `iptables-restore --noflush`; empty when nothing is left over. */
  restoreInput: string;
  chains: string[];
  /** Rules deleted one by one (rules inside the removed chains go with their chain). */
  rules: SavedRule[];
  containerIds: string[];
}

/** A per-attachment chain of the plugins: `CNI-<hex>` or `CNI-DN-<hex>`, never a shared or built-in one. */
function isAttachmentChain(chain: string | undefined): chain is string {
  return chain !== undefined && /^CNI-(?:DN-)?[0-9a-f]+$/.test(chain);
}

/**
 * The nat rules and chains of `networkName`'s attachments whose container
 * ID is not in `live`: their tagged rules, the per-attachment chains they
 * jump to or live in (flushed, then deleted).
 */
export function leftoverNatBatch(saved: SavedTable, networkName: string, live: ReadonlySet<string>): LeftoverBatch {
  const stale = saved.rules
    .map((rule) => ({ rule, id: attachmentIdOfRule(rule, networkName) }))
    .filter((r): r is { rule: SavedRule; id: string } => r.id !== undefined && !live.has(r.id));
  const chains = new Set<string>();
  for (const { rule } of stale) {
    if (isAttachmentChain(rule.target)) chains.add(rule.target);
    if (isAttachmentChain(rule.chain)) chains.add(rule.chain);
  }
  const rules = stale.map((s) => s.rule).filter((rule) => !chains.has(rule.chain));
  const ordered = [...chains].filter((c) => saved.chains.has(c)).sort();
  const lines = [
    ...rules.map((rule) => `-D ${rule.chain} ${rule.spec}`),
    ...ordered.map((chain) => `-F ${chain}`),
    ...ordered.map((chain) => `-X ${chain}`),
  ];
  return {
    restoreInput: lines.length === 0 ? "" : ["*nat", ...lines, "COMMIT", ""].join("\n"),
    chains: ordered,
    rules,
    containerIds: [...new Set(stale.map((s) => s.id))].sort(),
  };
}

/**
 * Removes portmap's shared chains when no port is published any more
 * (CNI-HOSTPORT-DNAT empty, nothing else jumping into them), so a host
 * returns to the rule count it had before Keon. When another CNI user adds
 * a mapping concurrently, `-X CNI-HOSTPORT-DNAT` fails and the whole batch
 * is rolled back by iptables-restore: nobody's rules are half removed.
 * Returns "" when they are absent or in use.
 */
export function idlePortmapBatch(saved: SavedTable): string {
  const shared = new Set<string>(PORTMAP_SHARED_CHAINS);
  if (!saved.chains.has("CNI-HOSTPORT-DNAT")) return "";
  if (saved.rules.some((r) => r.chain === "CNI-HOSTPORT-DNAT")) return "";
  const jumps = saved.rules.filter((r) => !shared.has(r.chain) && r.target !== undefined && shared.has(r.target));
  // Only the plugin's own entry points may jump in: PREROUTING/OUTPUT → DNAT, POSTROUTING → MASQ.
  const entry = (r: SavedRule) =>
    ((r.chain === "PREROUTING" || r.chain === "OUTPUT") && r.target === "CNI-HOSTPORT-DNAT") ||
    (r.chain === "POSTROUTING" && r.target === "CNI-HOSTPORT-MASQ");
  if (!jumps.every(entry)) return "";
  const present = PORTMAP_SHARED_CHAINS.filter((c) => saved.chains.has(c));
  return [
    "*nat",
    ...jumps.map((r) => `-D ${r.chain} ${r.spec}`),
    // CNI-HOSTPORT-DNAT is deliberately not flushed: a mapping added since we
    // read it must make its -X fail and so abort the batch.
    ...present.filter((c) => c !== "CNI-HOSTPORT-DNAT").map((c) => `-F ${c}`),
    ...present.map((c) => `-X ${c}`),
    "COMMIT",
    "",
  ].join("\n");
}
