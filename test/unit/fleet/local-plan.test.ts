import { describe, expect, test } from "bun:test";
import { FLEET_LABEL } from "../../../src/fleet/keys.ts";
import { labelled, planLocal, type LocalFleetResource } from "../../../src/fleet/local-plan.ts";
import type { Document } from "../../../src/model/schema/document.ts";

const realm = { apiVersion: "v1beta1", kind: "Realm", metadata: { name: "r" }, spec: {} } as unknown as Document;
const space = { kind: "Space", metadata: { name: "s" }, spec: { realmId: "r" } } as unknown as Document;
const cell = (name: string) => ({ kind: "Cell", metadata: { name }, spec: { realmId: "r", spaceId: "s", stackId: "st", containers: [] } }) as unknown as Document;
const local = (kind: LocalFleetResource["kind"], name: string, revision: string, extra: Partial<LocalFleetResource> = {}): LocalFleetResource => ({
  kind, key: kind === "Cell" ? { realm: "r", space: "s", stack: "st", name } : kind === "Space" ? { realm: "r", name } : { name }, revision, deleting: false, ...extra,
});

const documents = [{ document: realm, modRevision: "5" }, { document: space, modRevision: "6" }, { document: cell("mine"), modRevision: "7" }, { document: cell("theirs"), modRevision: "8" }];
const assignedNode = new Map([["r/s/st/mine", "n1"], ["r/s/st/theirs", "n2"]]);

describe("local plan", () => {
  test("a fresh node stores every replicated document and its own cells, labelled, cells last", () => {
    const plan = planLocal({ node: "n1", documents, assignedNode, fenced: false, local: [] });
    expect(plan.put.map((d) => `${d.kind}/${d.metadata.name}@${d.metadata.labels?.[FLEET_LABEL]}`)).toEqual(["Realm/r@5", "Space/s@6", "Cell/mine@7"]);
    expect(plan.remove).toEqual([]);
  });

  test("nothing new: nothing written", () => {
    const held = [local("Realm", "r", "5"), local("Space", "s", "6"), local("Cell", "mine", "7")];
    expect(planLocal({ node: "n1", documents, assignedNode, fenced: false, local: held })).toEqual({ put: [], remove: [] });
  });

  test("a new revision is stored again; a cell moved away is removed; one being deleted is left to finish", () => {
    const held = [local("Realm", "r", "4"), local("Space", "s", "6"), local("Cell", "mine", "7"), local("Cell", "old", "3", { deleting: true })];
    const moved = new Map([["r/s/st/mine", "n2"]]);
    const plan = planLocal({ node: "n1", documents, assignedNode: moved, fenced: false, local: held });
    expect(plan.put.map((d) => d.metadata.name)).toEqual(["r"]);
    expect(plan.remove).toEqual([{ kind: "Cell", key: { realm: "r", space: "s", stack: "st", name: "mine" } }]);
  });

  test("fenced: every fleet cell goes, the replicated documents stay", () => {
    const held = [local("Realm", "r", "5"), local("Space", "s", "6"), local("Cell", "mine", "7")];
    const plan = planLocal({ node: "n1", documents, assignedNode, fenced: true, local: held });
    expect(plan).toEqual({ put: [], remove: [{ kind: "Cell", key: { realm: "r", space: "s", stack: "st", name: "mine" } }] });
  });

  test("a realm gone from the fleet is removed after its cells", () => {
    const held = [local("Realm", "gone", "1"), local("Cell", "stray", "2")];
    const plan = planLocal({ node: "n1", documents: [], assignedNode: new Map(), fenced: false, local: held });
    expect(plan.remove.map((r) => r.kind)).toEqual(["Cell", "Realm"]);
  });

  test("labelling keeps the document's own labels", () => {
    const withLabels = { ...realm, metadata: { name: "r", labels: { team: "x" } } } as Document;
    expect(labelled(withLabels, "9").metadata.labels).toEqual({ team: "x", [FLEET_LABEL]: "9" });
  });
});
