import { describe, expect, test } from "bun:test";
import { usersByImage } from "../../../src/store/image-users.ts";
import type { CellDocument } from "../../../src/model/schema/cell.ts";
import type { ContainerDocument } from "../../../src/model/schema/container-document.ts";

const spec = { realmId: "r", spaceId: "s", stackId: "t" };
const cell = (name: string, images: string[]): { path: string; cell: CellDocument } => ({
  path: `s/t/${name}`,
  cell: { apiVersion: "v1beta1", kind: "Cell", metadata: { name }, spec: { ...spec, containers: images.map((image, i) => ({ id: `c${i}`, image })) } } as unknown as CellDocument,
});

describe("which cells use an image", () => {
  test("a short name uses the record of that name if there is one, else its normalised form", () => {
    const cells = [cell("a", ["busybox"]), cell("b", ["docker.io/library/busybox:latest", "127.0.0.1:5000/app:1"]), cell("c", ["nowhere:1"])];
    const normalisedOnly = usersByImage(cells, [], new Set(["docker.io/library/busybox:latest", "127.0.0.1:5000/app:1"]));
    expect(Object.fromEntries(normalisedOnly)).toEqual({ "docker.io/library/busybox:latest": ["s/t/a", "s/t/b"], "127.0.0.1:5000/app:1": ["s/t/b"] });
    const both = usersByImage(cells, [], new Set(["busybox", "docker.io/library/busybox:latest"]));
    expect(Object.fromEntries(both)).toEqual({ busybox: ["s/t/a"], "docker.io/library/busybox:latest": ["s/t/b"] });
  });

  test("a Container document's image counts for its own cell only", () => {
    const side = { apiVersion: "v1beta1", kind: "Container", metadata: { name: "side" }, spec: { ...spec, cellId: "a", image: "r.io/side:1" } } as unknown as ContainerDocument;
    const users = usersByImage([cell("a", []), cell("b", [])], [side], new Set(["r.io/side:1"]));
    expect(Object.fromEntries(users)).toEqual({ "r.io/side:1": ["s/t/a"] });
  });
});
