import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { parseConflist } from "../../../src/network/conflist.ts";
import { networkPathsOf } from "../../../src/network/network-paths.ts";
import { ensureSpaceNetwork } from "../../../src/network/space-network.ts";
import { JsonFileSubnetStore, SubnetAllocator } from "../../../src/network/subnet-allocator.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("ensureSpaceNetwork", () => {
  test("allocates, writes the conflist once, and gives each space its own subnet and bridge", () => {
    const runPath = mkdtempSync("/tmp/keon-unit-space-");
    dirs.push(runPath);
    const paths = networkPathsOf(runPath);
    const allocator = new SubnetAllocator(new JsonFileSubnetStore(paths.subnetsFile));
    const web = ensureSpaceNetwork({ paths, allocator, realm: "acme", space: "web" });
    expect(web.conflistWritten).toBe(true);
    expect(web.subnet).toBe("10.77.0.0/24");
    expect(parseConflist(readFileSync(web.conflistPath, "utf8"), web.conflistPath)).toEqual(web.conflist);
    expect(statSync(web.conflistPath).mode & 0o777).toBe(0o644);
    const ino = statSync(web.conflistPath).ino;
    const again = ensureSpaceNetwork({ paths, allocator, realm: "acme", space: "web" });
    expect(again.conflistWritten).toBe(false);
    expect(statSync(web.conflistPath).ino).toBe(ino);
    const db = ensureSpaceNetwork({ paths, allocator, realm: "acme", space: "db" });
    expect(db.subnet).toBe("10.77.1.0/24");
    expect(db.bridgeName).not.toBe(web.bridgeName);
    expect(db.conflistPath).not.toBe(web.conflistPath);
  });
});
