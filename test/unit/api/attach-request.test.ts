/** The attach route's pure decision: which container, and when to refuse. */
import { describe, expect, test } from "bun:test";
import { pickAttachContainer } from "../../../src/api/attach-route.ts";
import { attachQuery } from "../../../src/cli/verbs/attach.ts";
import { isKeonError } from "../../../src/model/errors.ts";
import type { CellDocument } from "../../../src/model/schema/cell.ts";

function spec(containers: { id: string; attachable?: boolean }[], ttyDefault?: string): CellDocument["spec"] {
  return {
    id: "web", realmId: "r", spaceId: "sp", stackId: "st",
    containers: containers.map((c) => ({ id: c.id, image: "busybox", ...(c.attachable ? { attachable: true } : {}) })),
    ...(ttyDefault ? { tty: { default: ttyDefault } } : {}),
  } as CellDocument["spec"];
}

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return isKeonError(error) ? error.code : "not a KeonError";
  }
  return undefined;
};

describe("attach: the container", () => {
  test("the one asked for, else tty.default, else the only attachable one", () => {
    expect(pickAttachContainer(spec([{ id: "a", attachable: true }, { id: "b", attachable: true }]), "b")).toBe("b");
    expect(pickAttachContainer(spec([{ id: "a", attachable: true }, { id: "b", attachable: true }], "a"), undefined)).toBe("a");
    expect(pickAttachContainer(spec([{ id: "side" }, { id: "sh", attachable: true }]), undefined)).toBe("sh");
    expect(pickAttachContainer(spec([{ id: "side" }, { id: "sh", attachable: true }]), "")).toBe("sh");
  });

  test("refusals: unknown container, not attachable, none or several to choose from", () => {
    expect(codeOf(() => pickAttachContainer(spec([{ id: "sh", attachable: true }]), "ghost"))).toBe("CONTAINER_NOT_FOUND");
    expect(codeOf(() => pickAttachContainer(spec([{ id: "sh", attachable: true }, { id: "side" }]), "side"))).toBe("CONFLICT");
    expect(codeOf(() => pickAttachContainer(spec([{ id: "side" }]), undefined))).toBe("INVALID_REQUEST");
    expect(() => pickAttachContainer(spec([{ id: "a", attachable: true }, { id: "b", attachable: true }]), undefined)).toThrow(/2 attachable containers \(a, b\)/);
  });

  test("the CLI's query: container and size only when given", () => {
    expect(attachQuery(undefined, undefined).toString()).toBe("");
    expect(attachQuery("sh", { cols: 100, rows: 30 }).toString()).toBe("container=sh&cols=100&rows=30");
    expect(attachQuery(undefined, { cols: 0, rows: 0 }).toString()).toBe("");
  });
});
