import { describe, expect, test } from "bun:test";
import { cpPlanOf, remoteOperandOf } from "../../../../src/cli/verbs/cp.ts";

describe("keon cp operands", () => {
  test("CELL[:CONTAINER]:/PATH is in a cell; anything else is local", () => {
    expect(remoteOperandOf("web:/tmp/x")).toEqual({ cell: "web", container: undefined, path: "/tmp/x" });
    expect(remoteOperandOf("web:app:/")).toEqual({ cell: "web", container: "app", path: "/" });
    expect(remoteOperandOf("./web:/tmp")).toBeUndefined();
    expect(remoteOperandOf("web:tmp")).toBeUndefined();
    expect(remoteOperandOf("/abs/path")).toBeUndefined();
  });

  test("the direction follows the side the cell is on; one side exactly", () => {
    expect(cpPlanOf(["./site", "web:/srv"])).toEqual({ direction: "in", local: "./site", remote: { cell: "web", container: undefined, path: "/srv" } });
    expect(cpPlanOf(["web:app:/etc/hosts", "."])).toEqual({ direction: "out", local: ".", remote: { cell: "web", container: "app", path: "/etc/hosts" } });
    expect(() => cpPlanOf(["a:/x", "b:/y"])).toThrow("both operands are in cells");
    expect(() => cpPlanOf(["a", "b"])).toThrow("neither operand is in a cell");
    expect(() => cpPlanOf(["a:/x"])).toThrow("missing operands");
    expect(() => cpPlanOf(["a:/x", "b", "c"])).toThrow("unexpected argument 'c'");
  });
});
