import { describe, expect, test } from "bun:test";
import { buildOciSpec, type OciSpec } from "../../../src/oci/spec.ts";
import { container, ctx, host, image } from "./fixtures.ts";

type Extra = Parameters<typeof container>[0];
const build = (extra: Extra, h = host()): OciSpec => buildOciSpec(container(extra), ctx(), image(), h);

describe("cgroupsPath and resources", () => {
  test("cgroupsPath is the one given", () => {
    expect(build({}).linux.cgroupsPath).toBe("/keon/acme/prod/shop/web/app");
  });

  test("memory, cpu shares and pids when set", () => {
    const r = build({ resources: { memoryLimitBytes: 268435456, cpuShares: 512, pidsLimit: 100 } }).linux.resources;
    expect(r.memory).toEqual({ limit: 268435456 });
    expect(r.cpu).toEqual({ shares: 512 });
    expect(r.pids).toEqual({ limit: 100 });
  });

  test("0 and absent mean unset: the keys are left out", () => {
    for (const resources of [undefined, {}, { memoryLimitBytes: 0, cpuShares: 0, pidsLimit: 0 }]) {
      const r = build({ resources }).linux.resources;
      expect(Object.keys(r)).toEqual(["devices"]);
    }
  });

  test("only what is set", () => {
    expect(Object.keys(build({ resources: { pidsLimit: 5 } }).linux.resources)).toEqual(["devices", "pids"]);
  });
});

describe("RLIMIT_NOFILE", () => {
  const nofile = (hard: number, soft = 1024) => build({}, host({ nofile: { soft, hard } })).process.rlimits;

  test("hard up to the host's hard limit, soft 1024", () => {
    expect(nofile(524288)).toEqual([{ type: "RLIMIT_NOFILE", hard: 524288, soft: 1024 }]);
  });

  test("never above the host's hard limit", () => {
    expect(nofile(20000)).toEqual([{ type: "RLIMIT_NOFILE", hard: 20000, soft: 1024 }]);
    expect(nofile(512, 512)).toEqual([{ type: "RLIMIT_NOFILE", hard: 512, soft: 512 }]);
  });

  test("capped at 1048576 when the host allows more or unlimited", () => {
    expect(nofile(4194304)).toEqual([{ type: "RLIMIT_NOFILE", hard: 1048576, soft: 1024 }]);
    expect(nofile(Number.POSITIVE_INFINITY)).toEqual([{ type: "RLIMIT_NOFILE", hard: 1048576, soft: 1024 }]);
  });
});
