import { describe, expect, test } from "bun:test";
import { cellWithContainerDocuments } from "../../../src/model/cell-containers.ts";
import { parseDocument } from "../../../src/model/parse.ts";
import type { CellDocument } from "../../../src/model/schema/cell.ts";
import type { ContainerDocument } from "../../../src/model/schema/container-document.ts";
import { cellInput, containerDocInput } from "./fixtures.ts";

const cell = parseDocument(cellInput()) as CellDocument;
const sidecar = parseDocument(containerDocInput()) as ContainerDocument;

describe("cellWithContainerDocuments", () => {
  test("returns the cell itself when there are no Container documents", () => {
    expect(cellWithContainerDocuments(cell, [])).toBe(cell);
  });

  test("appends each document's spec after the cell's own items, with its name as id", () => {
    const joined = cellWithContainerDocuments(cell, [sidecar]);
    expect(joined.spec.containers.map((c) => c.id)).toEqual(["app", "sidecar"]);
    expect(joined.spec.containers[1]?.image).toBe("busybox");
    expect(cell.spec.containers.map((c) => c.id)).toEqual(["app"]);
  });

  test("leaves out a document whose id the cell already declares", () => {
    const clash = parseDocument(containerDocInput({ image: "other" })) as ContainerDocument;
    const renamed = { ...clash, metadata: { ...clash.metadata, name: "app" }, spec: { ...clash.spec, id: "app" } };
    const joined = cellWithContainerDocuments(cell, [renamed, sidecar]);
    expect(joined.spec.containers.map((c) => [c.id, c.image])).toEqual([["app", "docker.io/library/nginx:1.27"], ["sidecar", "busybox"]]);
  });
});
