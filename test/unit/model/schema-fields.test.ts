import { describe, expect, test } from "bun:test";
import { closestName, editDistance } from "../../../src/model/did-you-mean.ts";
import { parseDocument } from "../../../src/model/parse.ts";
import { fieldInfo, knownFieldsAt } from "../../../src/model/schema-fields.ts";
import { isKeonError } from "../../../src/model/errors.ts";

describe("did you mean", () => {
  test("edit distance counts inserts, deletes and substitutions", () => {
    expect(editDistance("imag", "image")).toBe(1);
    expect(editDistance("restartpolcy", "restartPolicy")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
  });
  test("the nearest known name within a third of the word, else none", () => {
    expect(closestName("imag", ["id", "image", "args"])).toBe("image");
    expect(closestName("comand", ["command", "args"])).toBe("command");
    expect(closestName("foo", ["image", "command"])).toBeUndefined();
    expect(closestName("bogus", ["image"])).toBeUndefined();
  });
  test("an unknown field in a document suggests the known one", () => {
    const cell = { kind: "Cell", metadata: { name: "web" }, spec: { realmId: "r", spaceId: "s", stackId: "t", containers: [{ id: "a", imag: "x" }] } };
    try {
      parseDocument(cell);
      throw new Error("accepted");
    } catch (error) {
      if (!isKeonError(error)) throw error;
      expect(error.issues).toEqual([{ path: "spec.containers[0].imag", message: "unknown field (did you mean 'image'?)" }]);
    }
  });
});

describe("field reference from the schemas", () => {
  test("restartPolicy lists the picklist's values, type and description", () => {
    const info = fieldInfo("Cell", ["spec", "containers", "restartPolicy"]);
    expect(info).toMatchObject({ path: "Cell.spec.containers.restartPolicy", type: "string", required: false, allowed: ["", "always", "on-failure", "never"] });
    expect(info?.description).toContain("on-failure");
  });
  test("required fields, integer pipes, maps, lists and defaults", () => {
    expect(fieldInfo("Cell", ["spec", "realmId"])?.required).toBe(true);
    expect(fieldInfo("Cell", ["spec", "containers", "resources", "cpuShares"])?.type).toBe("integer");
    expect(fieldInfo("Cell", ["metadata", "labels"])?.type).toBe("map of string");
    expect(fieldInfo("Cell", ["spec", "containers"])).toMatchObject({ type: "list of object", default: [] });
    expect(fieldInfo("Realm", ["spec"])?.default).toEqual({});
    expect(fieldInfo("Space", ["spec", "network", "egress", "default"])?.allowed).toEqual(["allow", "deny"]);
  });
  test("a container's fields read the same in a Container document and unknown paths are undefined", () => {
    expect(fieldInfo("Container", ["spec", "restartPolicy"])?.description).toBe(fieldInfo("Cell", ["spec", "containers", "restartPolicy"])?.description);
    expect(fieldInfo("Cell", ["spec", "nope"])).toBeUndefined();
    expect(fieldInfo("Cell", ["spec", "realmId", "deeper"])).toBeUndefined();
    expect(knownFieldsAt("Cell", ["spec", "containers", 3])).toContain("image");
  });
  test("status reads as keond writes it", () => {
    expect(fieldInfo("Cell", ["status", "state"])?.allowed).toContain("Degraded");
    expect(fieldInfo("Cell", ["status", "containers", "exitCode"])?.type).toBe("number");
    expect(fieldInfo("Secret", ["status"])).toBeUndefined();
  });
});
