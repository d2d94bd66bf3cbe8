import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { collectIpamReservations } from "../../../src/network/gc.ts";
import { cniContainerIdOf } from "../../../src/network/network-names.ts";
import { ipamNetworkDirOf, networkPathsOf } from "../../../src/network/network-paths.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("collectIpamReservations", () => {
  test("frees reservations of dead containers only, leaving host-local's own files", () => {
    const runPath = mkdtempSync("/tmp/keon-unit-gc-");
    dirs.push(runPath);
    const paths = networkPathsOf(runPath);
    const dir = ipamNetworkDirOf(paths, "keon.r.s");
    mkdirSync(dir, { recursive: true });
    const longId = `${"x".repeat(140)}_root`;
    // host-local 1.1.1 layout: "<containerID>\r\n<ifname>"; older versions wrote the ID alone.
    writeFileSync(join(dir, "10.88.0.2"), "live\r\neth0");
    writeFileSync(join(dir, "10.88.0.3"), "dead\r\neth0");
    writeFileSync(join(dir, "10.88.0.4"), "old-style-dead");
    writeFileSync(join(dir, "10.88.0.5"), `${cniContainerIdOf(longId)}\r\neth0`);
    writeFileSync(join(dir, "fd00::5"), "dead6\r\neth0");
    writeFileSync(join(dir, "last_reserved_ip.0"), "10.88.0.5");
    writeFileSync(join(dir, "lock"), "");
    writeFileSync(join(dir, "cafe"), "dead");
    // The long live ID is given in its containerd form; GC maps it like attach does.
    const freed = collectIpamReservations(paths, "keon.r.s", ["live", longId]);
    expect(freed).toEqual([
      { ip: "10.88.0.3", containerId: "dead" },
      { ip: "10.88.0.4", containerId: "old-style-dead" },
      { ip: "fd00::5", containerId: "dead6" },
    ]);
    expect(readdirSync(dir).sort()).toEqual(["10.88.0.2", "10.88.0.5", "cafe", "last_reserved_ip.0", "lock"]);
    expect(collectIpamReservations(paths, "keon.r.s", ["live", longId])).toEqual([]);
    expect(collectIpamReservations(paths, "absent", [])).toEqual([]);
  });
});
