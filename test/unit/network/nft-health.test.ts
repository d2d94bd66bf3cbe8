import { describe, expect, test } from "bun:test";
import { statusReport, type StatusFacts } from "../../../src/api/status-route.ts";
import { nftTableHealth, spaceDropsOf } from "../../../src/network/nft-health.ts";
import { renderMetrics } from "../../../src/api/metrics.ts";
import type { NftObjects } from "../../../src/network/nft.ts";

const space = "k0123abcd_s0123456789abc";
const whole = (tag: string): NftObjects => ({
  chains: [`${tag}_host`, `${tag}_out`],
  sets: Object.fromEntries(["cells", "allow", "allowp", "dns", "isolated"].map((s) => [`${tag}_${s}`, []])),
  counters: { [`${tag}_drop`]: { packets: 7, bytes: 420 } },
  maps: {},
  rules: {},
});

describe("nftTableHealth", () => {
  test("absent table: not present, nothing counted", () => {
    expect(nftTableHealth(undefined)).toEqual({ present: false, spaces: 0, chains: 0, sets: 0, incomplete: [], dropped: 0 });
  });

  test("whole spaces count, drops are summed, a space missing objects is named with what it lacks", () => {
    const other = "kffffffff_sfedcba9876543";
    const a = whole(space);
    const b = whole(other);
    const table: NftObjects = {
      chains: [...a.chains, ...b.chains.filter((c) => !c.endsWith("_host"))],
      sets: { ...a.sets, ...b.sets, unrelated: [] },
      counters: { ...a.counters, ...b.counters },
      maps: {},
      rules: {},
    };
    const health = nftTableHealth(table);
    expect(health).toMatchObject({ present: true, spaces: 1, chains: 3, dropped: 14 });
    expect(health.incomplete).toEqual([`${other}: missing host`]);
  });

  test("keon status: ok with the table summary, degraded when a space is incomplete or the table unreadable", () => {
    const base = (nftables: StatusFacts["nftables"]): StatusFacts => ({
      daemon: { version: "0", pid: 1, uptimeSeconds: 1, workers: [] },
      containerd: { version: "1.6" },
      cgroups: { error: "n/a" },
      cni: { dirs: [], found: {}, missing: [] },
      nftables,
    });
    const nft = (facts: StatusFacts) => statusReport(facts).components.find((c) => c.name === "nftables")!;
    const ok = nft(base({ version: "nftables v1.0.6", table: nftTableHealth(whole(space)) }));
    expect(ok.status).toBe("ok");
    expect(ok.detail).toContain("table inet keon: 1 space(s), 2 chains, 5 sets, 7 packets dropped");
    const broken = whole(space);
    delete broken.sets[`${space}_cells`];
    const degraded = nft(base({ version: "nftables v1.0.6", table: nftTableHealth(broken) }));
    expect(degraded.status).toBe("degraded");
    expect(degraded.hints[0]).toContain(`${space}: missing cells`);
    expect(nft(base({ version: "v", table: { error: "Operation not permitted" } })).status).toBe("degraded");
    expect(nft(base({ version: "v", table: nftTableHealth(undefined) })).detail).toContain("not created yet");
  });
});

describe("drop counters as metrics", () => {
  test("each space's counter, labelled by instance and bridge; other counters ignored", () => {
    const table = whole(space);
    table.counters["unrelated"] = { packets: 1, bytes: 1 };
    const drops = spaceDropsOf(table);
    expect(drops).toEqual([{ instance: "k0123abcd", bridge: "kn0123456789abc", packets: 7, bytes: 420 }]);
    expect(spaceDropsOf(undefined)).toEqual([]);
    const text = renderMetrics([], [], drops);
    expect(text).toContain('keon_space_dropped_packets_total{instance="k0123abcd",bridge="kn0123456789abc"} 7');
    expect(text).toContain('keon_space_dropped_bytes_total{instance="k0123abcd",bridge="kn0123456789abc"} 420');
    expect(text).toContain("# TYPE keon_space_dropped_packets_total counter");
  });
});
