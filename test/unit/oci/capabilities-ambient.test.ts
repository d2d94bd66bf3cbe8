import { describe, expect, test } from "bun:test";
import type { ContainerCapabilities } from "../../../src/model/schema/container.ts";
import { buildOciSpec } from "../../../src/oci/spec.ts";
import { container, ctx, host, image } from "./fixtures.ts";

function caps(capabilities: ContainerCapabilities | undefined, extra: Parameters<typeof container>[0] = {}) {
  return buildOciSpec(container({ capabilities, ...extra }), ctx(), image(), host()).process.capabilities;
}

describe("ambient capabilities for non-root users", () => {
  test("an explicitly added capability of a non-root user is ambient and inheritable", () => {
    const c = caps({ drop: ["ALL"], add: ["net_bind_service"] }, { user: "1000:1000" });
    expect(c.effective).toEqual(["CAP_NET_BIND_SERVICE"]);
    expect(c.ambient).toEqual(["CAP_NET_BIND_SERVICE"]);
    expect(c.inheritable).toEqual(["CAP_NET_BIND_SERVICE"]);
  });

  test("root gets no ambient set, and default capabilities never become ambient", () => {
    const root = caps({ add: ["NET_ADMIN"] });
    expect(root.ambient).toBeUndefined();
    expect(root.inheritable).toBeUndefined();
    const defaultsOnly = caps(undefined, { user: "1000" });
    expect(defaultsOnly.ambient).toBeUndefined();
  });

  test("ALL does not make everything ambient; only named adds do", () => {
    const c = caps({ add: ["ALL", "SYS_TIME"] }, { user: "1000" });
    expect(c.ambient).toEqual(["CAP_SYS_TIME"]);
  });

  test("a dropped capability is never ambient even if it is also added by name through ALL", () => {
    const c = caps({ add: ["ALL"], drop: ["SYS_TIME"] }, { user: "1000" });
    expect(c.ambient).toBeUndefined();
    expect(c.effective).not.toContain("CAP_SYS_TIME");
  });
});
