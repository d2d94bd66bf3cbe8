/**
 * @module
 * The health of Keon's shared table as `keon status` reports it: every
 * space's objects come as a whole (two hooked chains, five sets, one
 * counter), since they are only ever written in one transaction; a space
 * missing some of them was changed by hand (or by a bug) and its policy
 * may be incomplete. Pure; the listing is nft.ts's.
 */
import type { NftObjects } from "./nft.ts";

const SPACE_OBJECT = /^(k[0-9a-f]{8}_s[0-9a-f]{13})_([a-z]+)$/;
const CHAINS = ["out", "host"];
const SETS = ["cells", "allow", "allowp", "dns", "isolated"];

export interface NftTableHealth {
  present: boolean;
  /** Spaces (of every keond on the host) with a complete set of objects. */
  spaces: number;
  chains: number;
  sets: number;
  /** `<space tag>: missing …` for each incomplete space. */
  incomplete: string[];
  /** Packets dropped by every space's rules. */
  dropped: number;
}

export function nftTableHealth(table: NftObjects | undefined): NftTableHealth {
  if (table === undefined) return { present: false, spaces: 0, chains: 0, sets: 0, incomplete: [], dropped: 0 };
  const bySpace = new Map<string, Set<string>>();
  const note = (name: string) => {
    const match = SPACE_OBJECT.exec(name);
    if (match === null) return;
    const parts = bySpace.get(match[1]!) ?? new Set<string>();
    parts.add(match[2]!);
    bySpace.set(match[1]!, parts);
  };
  table.chains.forEach(note);
  Object.keys(table.sets).forEach(note);
  Object.keys(table.counters).forEach(note);
  const incomplete: string[] = [];
  for (const [space, parts] of [...bySpace.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const missing = [...CHAINS, ...SETS, "drop"].filter((p) => !parts.has(p));
    if (missing.length > 0) incomplete.push(`${space}: missing ${missing.join(", ")}`);
  }
  return {
    present: true,
    spaces: bySpace.size - incomplete.length,
    chains: table.chains.length,
    sets: Object.keys(table.sets).length,
    incomplete,
    dropped: Object.entries(table.counters).filter(([n]) => n.endsWith("_drop")).reduce((sum, [, c]) => sum + c.packets, 0),
  };
}

/** One space's drop counter: the keond instance and the space's bridge (its Space's `status.network.bridgeName`). */
export interface SpaceDrops {
  instance: string;
  bridge: string;
  packets: number;
  bytes: number;
}

/** Every space's drop counter in the table, sorted; pure. */
export function spaceDropsOf(table: NftObjects | undefined): SpaceDrops[] {
  if (table === undefined) return [];
  return Object.entries(table.counters)
    .flatMap(([name, c]) => {
      const match = /^(k[0-9a-f]{8})_s([0-9a-f]{13})_drop$/.exec(name);
      return match === null ? [] : [{ instance: match[1]!, bridge: `kn${match[2]!}`, packets: c.packets, bytes: c.bytes }];
    })
    .sort((a, b) => a.instance.localeCompare(b.instance) || a.bridge.localeCompare(b.bridge));
}
