import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { cellStatusSchema } from "../../../src/model/schema/cell.ts";
import type { CellRuntimeStatus } from "../../../src/runtime/cell-status.ts";
import { cellStatusDocument, containerStateOf } from "../../../src/runtime/cell-status-document.ts";

const runtime: CellRuntimeStatus = {
  state: "Ready",
  readyObserved: true,
  ip: "10.88.0.2",
  bridgeName: "kn0123456789abc",
  subnet: "10.88.0.0/24",
  cgroupPath: "/keon/r/s/t/c",
  subtreeControllers: [],
  notDelegated: [{ controller: "cpu", reason: "cpu: only on cgroup v1 on this hybrid host; limits apply through runc's per-controller v1 placement (cgroupsPath)" }],
  cgroupReady: true,
  root: { id: "root", containerdId: "s_t_c_root", state: "running", pid: 10 },
  containers: [{ id: "a", containerdId: "s_t_c_a", state: "exited", exitCode: 3 }],
};

describe("cell status document", () => {
  test("a valid v1beta1 cell status, saying what is not delegated", () => {
    const status = cellStatusDocument(runtime, 4);
    expect(v.safeParse(cellStatusSchema, status).success).toBe(true);
    expect(status.network).toEqual({ bridgeName: "kn0123456789abc", ip: "10.88.0.2" });
    expect(status.containers?.map((c) => [c.name, c.state])).toEqual([["root", "Ready"], ["a", "Error"]]);
    expect(status.message).toContain("not delegated: cpu: only on cgroup v1");
    expect(status.observedGeneration).toBe(4);
  });

  test("container states", () => {
    expect(containerStateOf("exited", 0)).toBe("Exited");
    expect(containerStateOf("exited", undefined)).toBe("Error");
    expect(containerStateOf("created", undefined)).toBe("Stopped");
    expect(containerStateOf("missing", undefined)).toBe("NotCreated");
  });
});
