import { describe, expect, test } from "bun:test";
import { canonicalEqual, canonicalJson, firstDifference } from "../../../src/model/canonical.ts";
import { diffCell, diffContainer, specGenerationChanged } from "../../../src/model/diff.ts";
import { parseDocument } from "../../../src/model/parse.ts";
import type { CellDocument } from "../../../src/model/schema/cell.ts";
import type { ContainerDocument } from "../../../src/model/schema/container-document.ts";
import { cellInput, containerDocInput } from "./fixtures.ts";

type Json = Record<string, unknown>;

const CONTAINERS: Json[] = [
  { id: "nginx", image: "nginx:1.27", args: ["-g", "daemon off;"], restartPolicy: "always" },
  { id: "db", image: "postgres:16", env: ["A=1"] },
];

function cell(containers: Json[] = CONTAINERS, spec: Json = {}, metadata: Json = {}): CellDocument {
  const input = cellInput(containers, spec);
  input["metadata"] = { ...(input["metadata"] as Json), ...metadata };
  const doc = parseDocument(input);
  if (doc.kind !== "Cell") throw new Error("not a cell");
  return doc;
}

function edit(index: number, fields: Json, containers: Json[] = CONTAINERS): Json[] {
  return containers.map((c, i) => (i === index ? { ...c, ...fields } : c));
}

describe("diffCell", () => {
  const old = cell();

  test("unchanged", () => {
    expect(diffCell(old, cell())).toEqual({ kind: "unchanged" });
  });
  test("container order does not matter", () => {
    expect(diffCell(old, cell([...CONTAINERS].reverse()))).toEqual({ kind: "unchanged" });
  });
  test("zero values equal absent fields (kukeon writes them)", () => {
    expect(diffCell(old, cell(edit(1, { args: [], command: "", privileged: false, volumes: [] }), { autoDelete: false, rootContainerId: "" }))).toEqual({ kind: "unchanged" });
  });

  describe("in place", () => {
    const attachable = cell(edit(0, { attachable: true }));
    test.each([
      ["labels", old, cell(CONTAINERS, {}, { labels: { tier: "back" } })],
      ["annotations", old, cell(CONTAINERS, {}, { annotations: { note: "x" } })],
      ["restartPolicy", old, cell(edit(1, { restartPolicy: "on-failure" }))],
      ["restartBackoffSeconds", old, cell(edit(0, { restartBackoffSeconds: 10 }))],
      ["restartMaxRetries", old, cell(edit(1, { restartPolicy: "on-failure", restartMaxRetries: 3 }))],
      ["autoDelete", old, cell(CONTAINERS, { autoDelete: true })],
      ["tty.default", attachable, cell(edit(0, { attachable: true }), { tty: { default: "nginx" } })],
    ])("%s", (_label, before, next) => {
      expect(diffCell(before, next)).toEqual({ kind: "in-place" });
    });
    test("restart settings of the root container", () => {
      const rooted = [{ id: "init", image: "pause", root: true }, ...CONTAINERS];
      expect(diffCell(cell(rooted), cell(edit(0, { restartPolicy: "always" }, rooted)))).toEqual({ kind: "in-place" });
    });
  });

  describe("recreate containers", () => {
    const envAB = edit(1, { env: ["A=1", "B=1"] });
    test.each([
      ["image", old, edit(1, { image: "postgres:17" }), "db"],
      ["command", old, edit(1, { command: "/bin/sh" }), "db"],
      ["args", old, edit(0, { args: ["-g", "daemon on;"] }), "nginx"],
      ["env", old, edit(1, { env: ["A=2"] }), "db"],
      ["env order", cell(envAB), edit(1, { env: ["B=1", "A=1"] }, envAB), "db"],
      ["mounts", old, edit(1, { volumes: [{ source: "/srv", target: "/srv" }] }), "db"],
      ["user", old, edit(1, { user: "1000" }), "db"],
      ["capabilities", old, edit(1, { capabilities: { drop: ["ALL"] } }), "db"],
      ["resources", old, edit(1, { resources: { pidsLimit: 10 } }), "db"],
    ] as const)("a workload's %s", (_label, before, containers, changed) => {
      expect(diffCell(before, cell([...containers]))).toEqual({ kind: "recreate-containers", containers: [changed] });
    });
    test("added and removed containers, sorted by id", () => {
      const next = cell([CONTAINERS[0]!, { id: "cache", image: "redis" }]);
      expect(diffCell(old, next)).toEqual({ kind: "recreate-containers", containers: ["cache", "db"] });
    });
    test("a change plus a restart-settings change still recreates only that container", () => {
      expect(diffCell(old, cell(edit(1, { image: "x", restartPolicy: "always" })))).toEqual({ kind: "recreate-containers", containers: ["db"] });
    });
    test("placement fields mirrored from the cell restart nothing", () => {
      expect(diffCell(old, cell(edit(1, { realmId: "main", cellId: "web" })))).toEqual({ kind: "in-place" });
    });
  });

  describe("recreate cell", () => {
    const rooted = [{ id: "init", image: "pause:3.9", root: true }, ...CONTAINERS];
    test("a workload's published ports: they live on the root's network attachment", () => {
      const change = diffCell(old, cell(edit(0, { ports: ["8080:80"] })));
      expect(change.kind).toBe("recreate-cell");
      expect(change.kind === "recreate-cell" && change.reason).toContain("published port");
    });
    test("any change to the root container", () => {
      const change = diffCell(cell(rooted), cell(edit(0, { image: "pause:3.10" }, rooted)));
      expect(change.kind).toBe("recreate-cell");
      expect(change.kind === "recreate-cell" && change.reason).toContain("spec.containers[0].image");
    });
    test("another container becomes root", () => {
      expect(diffCell(old, cell(CONTAINERS, { rootContainerId: "db" })).kind).toBe("recreate-cell");
    });
    test("rootContainerId moves between containers", () => {
      expect(diffCell(cell(CONTAINERS, { rootContainerId: "nginx" }), cell(CONTAINERS, { rootContainerId: "db" })).kind).toBe("recreate-cell");
    });
    test("a declared root replaces Keon's pause root of the same id", () => {
      const change = diffCell(old, cell([{ id: "root", image: "pause", root: true }, ...CONTAINERS]));
      expect(change).toEqual({ kind: "recreate-cell", reason: "root container 'root' changes (it is now declared in spec.containers)" });
    });
    test("marking the named root with root: true restarts nothing", () => {
      expect(diffCell(cell(CONTAINERS, { rootContainerId: "db" }), cell(edit(1, { root: true }), { rootContainerId: "db" }))).toEqual({ kind: "in-place" });
    });
    test("nestedCgroupRuntime", () => {
      expect(diffCell(old, cell(CONTAINERS, { nestedCgroupRuntime: true })).kind).toBe("recreate-cell");
    });
    test("an unknown spec field is never skipped", () => {
      const next = structuredClone(old);
      (next.spec as Json)["futureField"] = 1;
      expect(diffCell(old, next)).toEqual({ kind: "recreate-cell", reason: "spec.futureField changes" });
    });
    test("beats a workload change", () => {
      expect(diffCell(cell(rooted), cell(edit(1, { image: "x" }, edit(0, { image: "y" }, rooted)))).kind).toBe("recreate-cell");
    });
  });

  describe("refused", () => {
    test.each([
      ["realmId", { realmId: "other" }, "spec.realmId"],
      ["spaceId", { spaceId: "other" }, "spec.spaceId"],
      ["stackId", { stackId: "other" }, "spec.stackId"],
    ])("moving to another %s", (_label, spec, path) => {
      const change = diffCell(old, cell(CONTAINERS, spec));
      expect(change).toMatchObject({ kind: "refused", path });
    });
    test("renaming", () => {
      const renamed = cell();
      renamed.metadata.name = "shop";
      renamed.spec.id = "shop";
      expect(diffCell(old, renamed)).toMatchObject({ kind: "refused", path: "metadata.name" });
    });
    test("beats everything else", () => {
      expect(diffCell(old, cell(edit(0, { image: "x" }), { realmId: "other", nestedCgroupRuntime: true })).kind).toBe("refused");
    });
  });
});

describe("diffContainer", () => {
  function doc(spec: Json = {}, metadata: Json = {}): ContainerDocument {
    const input = containerDocInput(spec);
    input["metadata"] = { ...(input["metadata"] as Json), ...metadata };
    const parsed = parseDocument(input);
    if (parsed.kind !== "Container") throw new Error("not a container");
    return parsed;
  }
  const old = doc();

  test("unchanged", () => expect(diffContainer(old, doc())).toEqual({ kind: "unchanged" }));
  test("labels and restart settings in place", () => {
    expect(diffContainer(old, doc({}, { labels: { a: "b" } }))).toEqual({ kind: "in-place" });
    expect(diffContainer(old, doc({ restartPolicy: "always", restartBackoffSeconds: 3 }))).toEqual({ kind: "in-place" });
  });
  test("a process change recreates the container", () => {
    expect(diffContainer(old, doc({ image: "busybox:2" }))).toEqual({ kind: "recreate-containers", containers: ["sidecar"] });
  });
  test("a root container's change recreates the cell", () => {
    expect(diffContainer(doc({ root: true }), doc({ root: true, image: "x" })).kind).toBe("recreate-cell");
    expect(diffContainer(old, doc({ root: true })).kind).toBe("recreate-cell");
  });
  test.each([["realmId", "spec.realmId"], ["spaceId", "spec.spaceId"], ["stackId", "spec.stackId"], ["cellId", "spec.cellId"]])(
    "moving by %s is refused",
    (field, path) => {
      expect(diffContainer(old, doc({ [field]: "elsewhere" }))).toMatchObject({ kind: "refused", path });
    },
  );
  test("renaming is refused", () => {
    expect(diffContainer(old, doc({}, { name: "other" }))).toMatchObject({ kind: "refused", path: "metadata.name" });
  });
});

describe("specGenerationChanged", () => {
  test("a first write raises it", () => {
    expect(specGenerationChanged(undefined, cell())).toBe(true);
  });
  test("key order does not matter", () => {
    const a = { kind: "Space", spec: { realmId: "m", defaults: { container: { user: "1", readOnlyRootFilesystem: true } } } };
    const b = { kind: "Space", spec: { defaults: { container: { readOnlyRootFilesystem: true, user: "1" } }, realmId: "m" } };
    expect(specGenerationChanged(a, b)).toBe(false);
  });
  test("labels are not spec", () => {
    expect(specGenerationChanged(cell(), cell(CONTAINERS, {}, { labels: { x: "y" } }))).toBe(false);
  });
  test("container order is not a change; content is", () => {
    expect(specGenerationChanged(cell(), cell([...CONTAINERS].reverse()))).toBe(false);
    expect(specGenerationChanged(cell(), cell(edit(0, { restartPolicy: "never" })))).toBe(true);
  });
  test("zero values equal absent, numbers do not", () => {
    expect(specGenerationChanged(cell(), cell(edit(1, { args: [], privileged: false })))).toBe(false);
    expect(specGenerationChanged(cell(), cell(edit(1, { restartBackoffSeconds: 0 })))).toBe(true);
  });
  test("a secret's data is spec", () => {
    const secret = (data: string) => ({ kind: "Secret", spec: { data } });
    expect(specGenerationChanged(secret("a"), secret("b"))).toBe(true);
  });
});

describe("canonical equality", () => {
  test("stable text with sorted keys", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: "" }], c: false } })).toBe('{"a":{"d":[1,{"z":1}]},"b":1}');
  });
  test("list order matters, list items are never dropped", () => {
    expect(canonicalEqual(["a", "b"], ["b", "a"])).toBe(false);
    expect(canonicalEqual(["", "x"], ["x"])).toBe(false);
  });
  test("firstDifference names the path", () => {
    expect(firstDifference({ a: { b: [1, 2] } }, { a: { b: [1, 3] } })).toEqual(["a", "b", 1]);
    expect(firstDifference({ a: 1 }, { a: 1, b: [] })).toBeUndefined();
    expect(firstDifference({}, { a: { b: 1 } })).toEqual(["a", "b"]);
    expect(firstDifference({ a: ["x"] }, {})).toEqual(["a", 0]);
  });
});
