import { describe, expect, test } from "bun:test";
import { bridgeNameOf, cniContainerIdOf, isBridgeName, MAX_CNI_CONTAINER_ID_LENGTH, networkNameOf, spaceKeyOf } from "../../../src/network/network-names.ts";
import { KeonError } from "../../../src/model/errors.ts";

const long = (c: string) => c.repeat(63);

describe("bridge names", () => {
  test("kn + 13 hex, at most 15 characters, deterministic", () => {
    const name = bridgeNameOf("acme", "web");
    expect(name).toMatch(/^kn[0-9a-f]{13}$/);
    expect(name.length).toBe(15);
    expect(bridgeNameOf("acme", "web")).toBe(name);
    expect(bridgeNameOf(long("a"), long("b")).length).toBe(15);
  });

  test("distinct spaces get distinct bridges, also when a naive join would collide", () => {
    const names = new Set([
      bridgeNameOf("a-b", "c"), bridgeNameOf("a", "b-c"), bridgeNameOf("acme", "web"), bridgeNameOf("acme", "web2"), bridgeNameOf("web", "acme"),
    ]);
    expect(names.size).toBe(5);
    const many = new Set(Array.from({ length: 2000 }, (_, i) => bridgeNameOf(`r${i % 40}`, `s${i}`)));
    expect(many.size).toBe(2000);
  });

  test("refuses invalid realm or space names", () => {
    expect(() => bridgeNameOf("a_b", "c")).toThrow(KeonError);
    expect(() => spaceKeyOf("a", "b/c")).toThrow(KeonError);
  });
});

describe("network names", () => {
  test("readable when short", () => {
    expect(networkNameOf("acme", "web")).toBe("keon.acme.web");
    expect(networkNameOf("a-b", "c")).not.toBe(networkNameOf("a", "b-c"));
  });

  test("long names are shortened to exactly 64 characters with a hash", () => {
    const a = networkNameOf(long("a"), long("b"));
    const b = networkNameOf(long("a"), `${"b".repeat(62)}c`);
    expect(a.length).toBe(64);
    expect(b.length).toBe(64);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^keon\.a+\.[0-9a-f]{13}$/);
  });
});

describe("CNI container IDs", () => {
  test("short IDs pass through; long ones are cut to 128 with a hash; idempotent", () => {
    expect(cniContainerIdOf("web_api_cell_root")).toBe("web_api_cell_root");
    const id = `${long("s")}_${long("t")}_${long("c")}_root`;
    const cni = cniContainerIdOf(id);
    expect(cni.length).toBe(MAX_CNI_CONTAINER_ID_LENGTH);
    expect(cniContainerIdOf(cni)).toBe(cni);
    expect(cniContainerIdOf(`${id}x`)).not.toBe(cni);
  });

  test("refuses what libcni refuses", () => {
    for (const bad of ["", "-x", "a/b", "a b", "ä"]) expect(() => cniContainerIdOf(bad)).toThrow(KeonError);
  });
});

describe("isBridgeName", () => {
  test("true exactly for names bridgeNameOf gives", () => {
    expect(isBridgeName(bridgeNameOf("acme", "web"))).toBe(true);
    for (const other of ["kn123", "cni-podman1", "docker0", "knXXXXXXXXXXXXX", `${bridgeNameOf("a", "b")}0`]) expect(isBridgeName(other)).toBe(false);
  });
});
