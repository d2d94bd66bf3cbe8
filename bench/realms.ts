/**
 * @module
 * realms: keond's RSS, idle, with 1, 10 and 50 realms (one Worker each),
 * on a keond of its own. Realms are added up to each count; the figure is
 * read once every realm's Worker reports up and keond has settled. Target:
 * ≤ 150 MB + 4 MB per realm.
 */
import { waitUntil } from "../test/harness/index.ts";
import type { HostInfo } from "./host-info.ts";
import type { BenchKeond } from "./keon-env.ts";
import { mb, printReport, target } from "./report.ts";
import { round } from "./stats.ts";

export interface RealmsBenchInput {
  bk: BenchKeond;
  counts: number[];
  settleSeconds: number;
  host: HostInfo;
}

export async function benchRealms(input: RealmsBenchInput): Promise<void> {
  const { bk } = input;
  const made = [bk.realm];
  const results: Array<{ realms: number; rssBytes: number; targetBytes: number }> = [];
  for (const count of [...input.counts].sort((a, b) => a - b)) {
    const adding: string[] = [];
    while (made.length + adding.length < count) adding.push(`${bk.realm}x${made.length + adding.length}`);
    if (adding.length > 0) {
      const docs = adding.map((name) => `kind: Realm\nmetadata: {name: ${name}}\nspec: {}\n`).join("---\n");
      // No ?wait: the Workers coming up are awaited below through /metrics.
      const applied = await bk.keond.api("POST", "/v1/apply", docs);
      if (applied.status !== 200) throw new Error(`applying ${adding.length} realms: ${applied.status} ${JSON.stringify(applied.body)}`);
      for (const name of adding) {
        made.push(name);
        bk.realms.add(name);
      }
    }
    console.error(`bench realms: ${made.length} realms, waiting for their Workers`);
    await waitUntil(async () => {
      const text = String((await bk.keond.api<string>("GET", "/metrics")).body);
      return made.every((name) => text.includes(`keon_worker_up{realm="${name}"} 1`));
    }, `${made.length} realm Workers up`, 5 * 60_000, 200);
    await Bun.sleep(input.settleSeconds * 1000);
    results.push({ realms: made.length, rssBytes: bk.rssBytes(), targetBytes: (150 + 4 * made.length) * 1024 * 1024 });
  }
  printReport(
    {
      bench: "realms",
      figures: { rss: results },
      ratios: Object.fromEntries(results.map((r) => [`rssVsTargetAt${r.realms}`, round(r.rssBytes / r.targetBytes, 3)])),
      targets: results.map((r) => target(`keond RSS MB at ${r.realms} realms`, `≤ ${150 + 4 * r.realms}`, round(r.rssBytes / 1024 / 1024, 1), 150 + 4 * r.realms)),
      peers: {},
      host: input.host,
    },
    [["realms (one Worker each), idle", "keond RSS", "target"], ...results.map((r): [string, string, string] => [String(r.realms), mb(r.rssBytes), mb(r.targetBytes)])],
  );
}
