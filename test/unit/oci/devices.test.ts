import { describe, expect, test } from "bun:test";
import { defaultDeviceRules } from "../../../src/oci/defaults.ts";
import { buildOciSpec, type OciSpec } from "../../../src/oci/spec.ts";
import { container, ctx, host, image, refusal } from "./fixtures.ts";

const build = (extra: Parameters<typeof container>[0]): OciSpec => buildOciSpec(container(extra), ctx(), image(), host());

describe("devices", () => {
  test("by default: no extra nodes; deny all, then containerd's allow list", () => {
    const spec = build({});
    expect(spec.linux.devices).toEqual([]);
    expect(spec.linux.resources.devices).toEqual(defaultDeviceRules());
    const rules = spec.linux.resources.devices;
    expect(rules[0]).toEqual({ allow: false, access: "rwm" });
    const allowed = rules.slice(1).map((r) => `${r.type} ${r.major}:${r.minor ?? "*"}`);
    expect(allowed).toEqual(["c 1:3", "c 1:8", "c 1:7", "c 5:0", "c 1:5", "c 1:9", "c 5:1", "c 136:*", "c 5:2"]);
  });

  test("a requested host device yields its node and a matching allow rule", () => {
    const spec = build({ devices: ["/dev/fuse", "/dev/loop0"] });
    expect(spec.linux.devices).toEqual([
      { path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 },
      { path: "/dev/loop0", type: "b", major: 7, minor: 0, fileMode: 0o660, uid: 0, gid: 6 },
    ]);
    expect(spec.linux.resources.devices.slice(-2)).toEqual([
      { allow: true, type: "c", major: 10, minor: 229, access: "rwm" },
      { allow: true, type: "b", major: 7, minor: 0, access: "rwm" },
    ]);
  });

  test("a device listed twice is one device", () => {
    const spec = build({ devices: ["/dev/fuse", "/dev/fuse"] });
    expect(spec.linux.devices).toHaveLength(1);
    expect(spec.linux.resources.devices).toHaveLength(defaultDeviceRules().length + 1);
  });

  test("a device the host lacks is refused naming it", () => {
    expect(refusal(() => build({ devices: ["/dev/fuse", "/dev/kvm"] }), "devices[1]")).toContain("/dev/kvm");
  });

  test("privileged: every device allowed, nodes for the requested ones", () => {
    const spec = build({ privileged: true, devices: ["/dev/fuse"] });
    expect(spec.linux.resources.devices).toEqual([{ allow: true, access: "rwm" }]);
    expect(spec.linux.devices.map((d) => d.path)).toEqual(["/dev/fuse"]);
  });
});
