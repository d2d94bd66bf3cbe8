import { describe, expect, test } from "bun:test";
import { renderExplain } from "../../../../src/cli/output/explain.ts";
import { explainTarget } from "../../../../src/cli/verbs/explain.ts";
import { fieldInfo } from "../../../../src/model/schema-fields.ts";

describe("keon explain", () => {
  test("a field's page names its type, requirement, allowed values and description", () => {
    const text = renderExplain(fieldInfo("Cell", ["spec", "containers", "restartPolicy"])!);
    expect(text).toStartWith("KIND:     Cell\nFIELD:    spec.containers.restartPolicy <string>\nREQUIRED: no\nALLOWED:  \"\" (empty), always, on-failure, never\n");
    expect(text).toContain("DESCRIPTION:\n  When Keon restarts");
  });
  test("an object's page lists its fields, required ones marked", () => {
    const text = renderExplain(fieldInfo("Cell", ["spec"])!);
    expect(text).toMatch(/\n {2}realmId +<string> {2}-required-\n/);
    expect(text).toMatch(/\n {2}autoDelete +<boolean>\n/);
  });
  test("targets: kind words and list indexes", () => {
    expect(explainTarget("cells.spec.containers[0].image")).toEqual({ kind: "Cell", path: ["spec", "containers", "image"] });
    expect(explainTarget("ctr")).toEqual({ kind: "Container", path: [] });
    expect(() => explainTarget("image.spec")).toThrow(/images have no document/);
    expect(() => explainTarget("cell..spec")).toThrow(/empty field name/);
  });
});

describe("did you mean, on the command line", () => {
  test("a misspelt kind or verb names the nearest", async () => {
    const { resolveKind } = await import("../../../../src/cli/kinds.ts");
    expect(() => resolveKind("cels")).toThrow("unknown resource kind 'cels' (did you mean 'cell'?)");
    const { runCli } = await import("../../../../src/cli/main.ts");
    let err = "";
    const io = { stdout: { write: () => true }, stderr: { write: (t: string | Uint8Array) => ((err += String(t)), true) }, env: {} };
    expect(await runCli(["aply"], io)).toBe(2);
    expect(err).toStartWith("keon: unknown verb 'aply' (did you mean 'apply'?)");
  });
});
