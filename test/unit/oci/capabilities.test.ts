import { describe, expect, test } from "bun:test";
import type { ContainerCapabilities } from "../../../src/model/schema/container.ts";
import { LINUX_CAPABILITIES } from "../../../src/model/schema/container.ts";
import { buildOciSpec } from "../../../src/oci/spec.ts";
import { container, ctx, host, image, refusal } from "./fixtures.ts";

const DEFAULTS = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
  "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE",
  "CAP_SETFCAP",
];
const ALL = LINUX_CAPABILITIES.map((c) => `CAP_${c}`);

function caps(capabilities: ContainerCapabilities | undefined, extra: Parameters<typeof container>[0] = {}, h = host()) {
  return buildOciSpec(container({ capabilities, ...extra }), ctx(), image(), h).process.capabilities;
}

describe("process.capabilities", () => {
  test("containerd's default set in bounding, effective and permitted; never inheritable or ambient", () => {
    const c = caps(undefined);
    expect(c.bounding).toEqual(DEFAULTS);
    expect(c.effective).toEqual(DEFAULTS);
    expect(c.permitted).toEqual(DEFAULTS);
    expect(c.inheritable).toBeUndefined();
    expect(c.ambient).toBeUndefined();
  });

  test("drop ALL + add NET_BIND_SERVICE gives exactly that", () => {
    const c = caps({ drop: ["ALL"], add: ["NET_BIND_SERVICE"] });
    expect(c).toEqual({ bounding: ["CAP_NET_BIND_SERVICE"], effective: ["CAP_NET_BIND_SERVICE"], permitted: ["CAP_NET_BIND_SERVICE"] });
  });

  test("drop ALL alone gives none", () => {
    expect(caps({ drop: ["all"] }).bounding).toEqual([]);
  });

  test("names with CAP_ and in lowercase mean the same", () => {
    expect(caps({ drop: ["all"], add: ["cap_sys_admin", "Net_Admin"] }).bounding).toEqual(["CAP_NET_ADMIN", "CAP_SYS_ADMIN"]);
    expect(caps({ drop: ["CAP_NET_RAW", "mknod"] }).bounding).toEqual(
      DEFAULTS.filter((c) => c !== "CAP_NET_RAW" && c !== "CAP_MKNOD"),
    );
  });

  test("add to the defaults; an add beats a drop of the same cap", () => {
    expect(caps({ add: ["SYS_PTRACE"] }).bounding).toContain("CAP_SYS_PTRACE");
    expect(caps({ add: ["NET_RAW"], drop: ["NET_RAW"] }).bounding).toContain("CAP_NET_RAW");
  });

  test("add ALL gives every known cap, minus explicit drops", () => {
    expect(caps({ add: ["ALL"] }).bounding).toEqual(ALL);
    expect(caps({ add: ["ALL"], drop: ["SYS_ADMIN"] }).bounding).toEqual(ALL.filter((c) => c !== "CAP_SYS_ADMIN"));
    expect(caps({ add: ["ALL"], drop: ["ALL"] }).bounding).toEqual(ALL);
  });

  test("privileged gives every cap and ignores add/drop", () => {
    expect(caps({ drop: ["ALL"] }, { privileged: true }).bounding).toEqual(ALL);
  });

  test("the order of the input does not change the output", () => {
    expect(caps({ drop: ["ALL"], add: ["SYS_ADMIN", "CHOWN", "KILL"] })).toEqual(
      caps({ drop: ["ALL"], add: ["KILL", "SYS_ADMIN", "CHOWN"] }),
    );
  });

  test("ALL and privileged expand only to what the host's runtime holds", () => {
    const h = host({ capabilities: ["CAP_CHOWN", "KILL", "sys_admin"] });
    expect(caps(undefined, { privileged: true }, h).bounding).toEqual(["CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"]);
    expect(caps({ add: ["ALL"] }, {}, h).bounding).toEqual(["CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"]);
    expect(caps(undefined, {}, h).bounding).toEqual(["CAP_CHOWN", "CAP_KILL"]);
  });

  test("adding by name a cap the host lacks is refused naming it", () => {
    const h = host({ capabilities: ["CHOWN"] });
    refusal(() => caps({ add: ["CHOWN", "SYS_RESOURCE"] }, {}, h), "capabilities.add[1]");
  });

  test("an unknown cap name is refused naming it", () => {
    refusal(() => caps({ add: ["FLY"] }), "capabilities.add[0]");
    refusal(() => caps({ drop: ["KILL", "CAP_TELEPORT"] }), "capabilities.drop[1]");
  });
});
