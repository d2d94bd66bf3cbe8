import { describe, expect, test } from "bun:test";
import { admissionIssues } from "../../../src/model/admission-rules.ts";
import { CONTAINERD_ID_MAX_LENGTH } from "../../../src/model/derived-ids.ts";
import { parseDocument } from "../../../src/model/parse.ts";
import { cellInput, containerDocInput } from "./fixtures.ts";

const paths = (input: unknown) => admissionIssues(parseDocument(input)).map((i) => i.path);
const stack = (space: string, name: string) => ({ kind: "Stack", metadata: { name }, spec: { realmId: "main", spaceId: space } });
const named = (name: string, containers: Record<string, unknown>[]) => ({ ...cellInput(containers), metadata: { name } });

describe("admission rules", () => {
  test("containerd's limit is 76 characters", () => {
    expect(CONTAINERD_ID_MAX_LENGTH).toBe(76);
  });

  test("a cell exactly at the limit passes; one character more names metadata.name", () => {
    // default_shop_<n>_root with n = 76 - 18 = 58.
    expect(paths(named("c".repeat(58), [{ id: "app", image: "x" }]))).toEqual([]);
    expect(paths(named("c".repeat(59), [{ id: "app", image: "x" }]))).toEqual(["metadata.name"]);
  });

  test("with a declared root, a long container id names that container, not the cell", () => {
    const containers = [{ id: "r", root: true, image: "x" }, { id: "a".repeat(60), image: "x" }];
    expect(paths(named("web", containers))).toEqual(["spec.containers[1].id"]);
  });

  test("a stack that leaves no room for a cell names its metadata.name", () => {
    expect(paths(stack("s".repeat(63), "t".repeat(9)))).toEqual(["metadata.name"]);
    expect(paths(stack("s".repeat(63), "t".repeat(8)))).toEqual([]);
  });

  test("a Container document names metadata.name, or spec.cellId when its cell leaves no room", () => {
    expect(paths(containerDocInput())).toEqual([]);
    expect(paths({ ...containerDocInput(), metadata: { name: "n".repeat(63) } })).toEqual(["metadata.name"]);
    expect(paths(containerDocInput({ spaceId: "s".repeat(63), stackId: "t".repeat(5), cellId: "c".repeat(5) }))).toEqual(["spec.cellId"]);
  });

  test("every container needs an image", () => {
    expect(paths(cellInput([{ id: "app", image: "x" }, { id: "b", image: "" }, { id: "c" }]))).toEqual(["spec.containers[1].image", "spec.containers[2].image"]);
    expect(paths(containerDocInput({ image: " " }))).toEqual(["spec.image"]);
  });
});
