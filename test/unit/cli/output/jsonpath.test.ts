import { describe, expect, test } from "bun:test";
import { CliError } from "../../../../src/cli/errors.ts";
import { customColumnsTable, parseCustomColumns, parseTemplate, renderJsonPath } from "../../../../src/cli/output/jsonpath.ts";
import { withStatus } from "../../../../src/cli/output/documents.ts";

const cell = (name: string, state: string, containers: Array<{ name: string; state: string; restartCount?: number }>) => ({
  apiVersion: "v1beta1", kind: "Cell",
  metadata: { name, labels: { "app.kubernetes.io/name": name } },
  spec: { realmId: "r", spaceId: "s", stackId: "t", containers: containers.filter((c) => c.name !== "root").map((c) => ({ id: c.name, image: "busybox" })) },
  status: { state, containers },
});
const list = {
  kind: "List",
  items: [
    cell("web", "Ready", [{ name: "root", state: "Ready" }, { name: "app", state: "Ready", restartCount: 2 }]),
    cell("db", "Error", [{ name: "root", state: "Ready" }, { name: "pg", state: "Error" }]),
  ],
};
const render = (template: string, data: unknown) => renderJsonPath(parseTemplate(template), data);

describe("kubectl's jsonpath template", () => {
  test("{.items[*].metadata.name}: every match, joined by a space", () => {
    expect(render("{.items[*].metadata.name}", list)).toBe("web db");
  });
  test("{range}…{end} with literals, relative paths and text around actions", () => {
    expect(render('{range .items[*]}{.metadata.name}{"\\t"}{.status.state}{"\\n"}{end}', list)).toBe("web\tReady\ndb\tError\n");
    expect(render("name: {.metadata.name}!", list.items[0])).toBe("name: web!");
    expect(render("{range .items[*]}[{range .status.containers[*]}{@.name}={.state} {end}]{end}", list)).toBe("[root=Ready app=Ready ][root=Ready pg=Error ]");
  });
  test("filters, slices, unions, recursive descent, quoted keys and $", () => {
    expect(render('{.items[?(@.status.state=="Error")].metadata.name}', list)).toBe("db");
    expect(render("{.items[-1:].metadata.name}", list)).toBe("db");
    expect(render("{.items[0,1].status.state}", list)).toBe("Ready Error");
    expect(render("{..restartCount}", list)).toBe("2");
    expect(render("{.items[0].metadata.labels['app.kubernetes.io/name']}", list)).toBe("web");
    expect(render("{$.kind}", list)).toBe("List");
  });
  test("objects print as JSON; a path that matches nothing prints nothing (kubectl's default)", () => {
    expect(render("{.items[0].status.containers[0]}", list)).toBe('{"name":"root","state":"Ready"}');
    expect(render("[{.items[0].status.nope}]", list)).toBe("[]");
  });
  test("a bad template is bad usage naming what is wrong", () => {
    for (const [template, message] of [["{.items", "unclosed"], ["{range .items[*]}x", "without {end}"], ["{end}", "without {range}"], ["{items}", "start it with '.'"]] as const) {
      let thrown: unknown;
      try {
        render(template, list);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(CliError);
      expect((thrown as CliError).kind).toBe("usage");
      expect((thrown as CliError).message).toContain(message);
    }
  });
  test("quotes inside an action may hold braces", () => {
    expect(render('{"}{"}', {})).toBe("}{");
    expect(render("{.items[?(@.metadata.name=='}')].kind}", { items: [{ metadata: { name: "}" }, kind: "odd" }] })).toBe("odd");
  });
});

describe("custom-columns", () => {
  test("HEADER:PATH columns, {…} accepted, several matches joined by commas, none as <none>", () => {
    const columns = parseCustomColumns("NAME:.metadata.name,STATE:{.status.state},CONTAINERS:.status.containers[*].name,RESTARTS:.status.containers[*].restartCount");
    expect(customColumnsTable(columns, list.items)).toEqual({
      headers: ["NAME", "STATE", "CONTAINERS", "RESTARTS"],
      rows: [["web", "Ready", "root,app", "2"], ["db", "Error", "root,pg", "<none>"]],
    });
  });
  test("a column without a path is bad usage", () => {
    expect(() => parseCustomColumns("NAME")).toThrow("expected HEADER:PATH");
    expect(() => parseCustomColumns("")).toThrow("at least one");
  });
});

describe("documents with status", () => {
  test("-o yaml|json shows the user's document and the status keond reports, without server-owned metadata", () => {
    const stored = { ...list.items[0]!, metadata: { ...list.items[0]!.metadata, generation: 3 } };
    const shown = withStatus(stored);
    expect(shown["status"]).toEqual(stored.status);
    expect((shown["metadata"] as Record<string, unknown>)["generation"]).toBeUndefined();
    expect(withStatus({ kind: "Secret", metadata: { name: "x" }, spec: {} })).toEqual({ kind: "Secret", metadata: { name: "x" }, spec: {} });
  });
});
