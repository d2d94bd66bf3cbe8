import { describe, expect, test } from "bun:test";
import { buildOciSpec, type OciSpec } from "../../../src/oci/spec.ts";
import { container, ctx, host, image } from "./fixtures.ts";

type Extra = Parameters<typeof container>[0];
const build = (extra: Extra, c = ctx()): OciSpec => buildOciSpec(container(extra), c, image(), host());
const rootCtx = () => ctx({ rootTaskPid: undefined });

describe("namespaces and hostname", () => {
  test("a workload joins the root container's net, ipc and uts; owns pid, mount and cgroup", () => {
    const spec = build({});
    expect(spec.linux.namespaces).toEqual([
      { type: "pid" },
      { type: "ipc", path: "/proc/4242/ns/ipc" },
      { type: "uts", path: "/proc/4242/ns/uts" },
      { type: "mount" },
      { type: "network", path: "/proc/4242/ns/net" },
      { type: "cgroup" },
    ]);
    // runc refuses a hostname without a private UTS namespace; the root's applies.
    expect(spec.hostname).toBeUndefined();
    expect("hostname" in spec).toBe(false);
  });

  test("a user-declared root container (no rootTaskPid) creates them and is named after the cell", () => {
    const spec = build({ root: true }, rootCtx());
    expect(spec.linux.namespaces).toEqual([
      { type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "network" }, { type: "cgroup" },
    ]);
    expect(spec.hostname).toBe("web");
  });

  test("hostNetwork: no network namespace (and no join of the root's)", () => {
    expect(build({ hostNetwork: true }).linux.namespaces.map((n) => n.type)).toEqual(["pid", "ipc", "uts", "mount", "cgroup"]);
    expect(build({ hostNetwork: true }, rootCtx()).linux.namespaces.map((n) => n.type)).toEqual(["pid", "ipc", "uts", "mount", "cgroup"]);
  });

  test("hostPID: no pid namespace", () => {
    expect(build({ hostPID: true }).linux.namespaces.some((n) => n.type === "pid")).toBe(false);
  });

  test("hostCgroup: no cgroup namespace, in a nestedCgroupRuntime cell too", () => {
    expect(build({ hostCgroup: true }).linux.namespaces.some((n) => n.type === "cgroup")).toBe(false);
    expect(build({ hostCgroup: true }, ctx({ nestedCgroupRuntime: true })).linux.namespaces.some((n) => n.type === "cgroup")).toBe(false);
  });

  test("a nested cell's container owns a private cgroup namespace (never a joined one): its root is the container's own cgroup", () => {
    expect(build({}, ctx({ nestedCgroupRuntime: true })).linux.namespaces).toContainEqual({ type: "cgroup" });
    expect(build({}, ctx({ nestedCgroupRuntime: true })).linux.namespaces.find((n) => n.type === "cgroup")?.path).toBeUndefined();
  });

  test("all three together", () => {
    const spec = build({ hostNetwork: true, hostPID: true, hostCgroup: true }, rootCtx());
    expect(spec.linux.namespaces).toEqual([{ type: "ipc" }, { type: "uts" }, { type: "mount" }]);
  });
});
