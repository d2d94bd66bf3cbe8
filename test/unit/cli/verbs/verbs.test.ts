/** The pure decisions inside the verbs. */
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "../../../../src/cli/args.ts";
import { WAIT_FLAGS } from "../../../../src/cli/context.ts";
import { joinSources, manifestFiles, parseSources } from "../../../../src/cli/manifest-input.ts";
import { formatError } from "../../../../src/cli/errors.ts";
import { sourceOfDocument } from "../../../../src/cli/verbs/apply.ts";
import { cellNamesOf } from "../../../../src/cli/verbs/cell-action.ts";
import { deleteTargets } from "../../../../src/cli/verbs/delete.ts";
import { eventQuery, eventsVerb } from "../../../../src/cli/verbs/events.ts";
import { execOptionsOf, execQuery, execVerb, startFailureExitCode } from "../../../../src/cli/verbs/exec.ts";
import { initManifest } from "../../../../src/cli/verbs/init.ts";
import { formatStatus } from "../../../../src/cli/verbs/status.ts";
import { formatTop } from "../../../../src/cli/verbs/top.ts";
import { waitSecondsOf } from "../../../../src/cli/wait.ts";
import { parseManifest } from "../../../../src/model/manifest.ts";

describe("exec", () => {
  const parse = (argv: string[]) => execOptionsOf(parseArgs(argv, execVerb.flags));

  test("CELL -- COMMAND, with -c, -i and -t", () => {
    expect(parse(["web", "-it", "-c", "app", "--", "sh", "-c", "ls -l"])).toEqual({ cell: "web", container: "app", command: ["sh", "-c", "ls -l"], stdin: true, tty: true });
    expect(parse(["web", "ls"])).toMatchObject({ command: ["ls"], stdin: false, tty: false });
  });

  test("a missing cell or command is a usage error", () => {
    expect(() => parse([])).toThrow(/missing CELL/);
    expect(() => parse(["web"])).toThrow(/missing COMMAND/);
    expect(() => parse(["web", "--"])).toThrow(/missing COMMAND/);
    expect(() => parse(["web", "extra", "--", "ls"])).toThrow(/unexpected argument 'extra' before --/);
  });

  test("the WebSocket query carries the argv in order and the terminal size", () => {
    const options = parse(["web", "-it", "--", "sh", "-c", "a&b"]);
    expect(execQuery(options, { cols: 120, rows: 40 }).toString()).toBe("cmd=sh&cmd=-c&cmd=a%26b&tty=1&stdin=1&cols=120&rows=40");
    expect(execQuery(parse(["web", "--", "ls"]), { cols: 120, rows: 40 }).toString()).toBe("cmd=ls");
  });

  test("a command that cannot start exits like the shell: 127 not found, 126 not runnable", () => {
    expect(startFailureExitCode('exec: "/nope": stat /nope: no such file or directory: unknown')).toBe(127);
    expect(startFailureExitCode('exec: "foo": executable file not found in $PATH')).toBe(127);
    expect(startFailureExitCode("exec: /etc/passwd: permission denied")).toBe(126);
    expect(startFailureExitCode("container is not running")).toBeUndefined();
  });
});

describe("delete, actions, events, wait, init", () => {
  test("manifest documents are deleted dependents first", () => {
    const documents = parseManifest(`${initManifest("r")}---
kind: Cell
metadata: {name: web}
spec: {realmId: r, spaceId: r, stackId: r, containers: [{id: app, image: busybox}]}
---
kind: Secret
metadata: {name: db, realm: r, space: r}
spec: {data: x}
`);
    expect(deleteTargets(documents).map((t) => `${t.kind}/${t.name}@${[t.scope.realm, t.scope.space, t.scope.stack].filter(Boolean).join("/")}`)).toEqual([
      "cell/web@r/r/r", "secret/db@r/r", "stack/r@r/r", "space/r@r", "realm/r@",
    ]);
  });

  test("cell actions take `cell NAME...` and nothing else", () => {
    expect(cellNamesOf("stop", ["cell", "a", "b"])).toEqual(["a", "b"]);
    expect(cellNamesOf("kill", ["c/web"])).toEqual(["web"]);
    expect(() => cellNamesOf("start", ["stack", "x"])).toThrow(/only cells can be started/);
    expect(() => cellNamesOf("restart", ["cell"])).toThrow(/missing NAME/);
  });

  test("event filters: the default realm, -A for all, --for KIND/NAME", () => {
    const q = (argv: string[]) => eventQuery(parseArgs(argv, eventsVerb.flags));
    expect(q([])).toMatchObject({ realm: "default" });
    expect(q(["-A"])).not.toHaveProperty("realm");
    expect(q(["--realm", "r", "--for", "cell/web", "--type", "Warning"])).toMatchObject({ realm: "r", kind: "Cell", name: "web", type: "Warning" });
    expect(() => q(["--for", "web"])).toThrow(/KIND\/NAME/);
    expect(() => q(["-A", "--realm", "r"])).toThrow(/-A covers every realm/);
  });

  test("--wait defaults to 120 s; --timeout needs --wait and stays within 600 s", () => {
    const w = (argv: string[]) => waitSecondsOf(parseArgs(argv, WAIT_FLAGS));
    expect(w([])).toBeUndefined();
    expect(w(["--wait"])).toBe(120);
    expect(w(["--wait", "--timeout", "5m"])).toBe(300);
    expect(() => w(["--timeout", "5s"])).toThrow(/--timeout needs --wait/);
    expect(() => w(["--wait", "--timeout", "1h"])).toThrow(/between 1s and 600s/);
  });

  test("init's manifest is the default realm, space and stack, valid for the model", () => {
    const documents = parseManifest(initManifest());
    expect(documents.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(["Realm/default", "Space/default", "Stack/default"]);
  });
});

describe("top and status tables", () => {
  test("top: millicores, memory, pids; what the host cannot give is '-' with the reason below", () => {
    const text = formatTop([{
      cell: "web", cgroupMode: "v2",
      containers: [
        { name: "app", running: true, cpu: { millicores: 250, usageNanos: 1 }, memory: { currentBytes: 2 * 1024 * 1024, limitBytes: 64 * 1024 * 1024 }, pids: { current: 3, limit: 100 } },
        { name: "side", running: false, cpu: null, memory: null, pids: null },
      ],
      unavailable: ["memory: not here"],
    }]);
    expect(text).toMatch(/^CELL\s+CONTAINER\s+RUNNING\s+CPU\s+MEMORY\s+MEM LIMIT\s+PIDS\s+PIDS LIMIT\n/);
    expect(text).toMatch(/web\s+app\s+yes\s+250m\s+2\.0Mi\s+64\.0Mi\s+3\s+100\n/);
    expect(text).toMatch(/web\s+side\s+no\s+-\s+-\s+-\s+-\s+-\n/);
    expect(text).toEndWith("unavailable on this host: memory: not here\n");
  });

  test("status: a table and the hints", () => {
    const text = formatStatus({
      status: "degraded",
      components: [
        { name: "containerd", status: "ok", detail: "1.6.20", hints: [] },
        { name: "cgroups", status: "degraded", detail: "hybrid", hints: ["use cgroup v2"] },
      ],
    }, "unix:///run/keon/keond.sock", false);
    expect(text).toBe(
      "keond at unix:///run/keon/keond.sock: degraded\nCOMPONENT    STATUS     DETAIL\ncontainerd   ok         1.6.20\ncgroups      degraded   hybrid\nHints:\n  - cgroups: use cgroup v2\n",
    );
  });
});

describe("-f sources", () => {
  test("files, directories in name order (recursing with -R), stdin; a missing path is a usage error", () => {
    const dir = mkdtempSync("/tmp/keon-test-cli-f-");
    try {
      writeFileSync(join(dir, "b.yaml"), "kind: Realm\nmetadata: {name: b}\n");
      writeFileSync(join(dir, "a.json"), '{"kind":"Realm","metadata":{"name":"a"}}');
      writeFileSync(join(dir, "notes.txt"), "not a manifest");
      mkdirSync(join(dir, "sub"));
      writeFileSync(join(dir, "sub", "c.yml"), "kind: Realm\nmetadata: {name: c}\n");
      expect(manifestFiles([dir], false)).toEqual([join(dir, "a.json"), join(dir, "b.yaml")]);
      expect(manifestFiles([dir, "-"], true)).toEqual([join(dir, "a.json"), join(dir, "b.yaml"), join(dir, "sub", "c.yml"), "-"]);
      expect(() => manifestFiles([join(dir, "missing.yaml")], false)).toThrow(/no such file or directory/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a bad manifest names its file and line; the joined body keeps every document", () => {
    const good = { name: "good.yaml", text: "kind: Realm\nmetadata: {name: r}\n" };
    const bad = { name: "bad.yaml", text: "kind: Realm\nmetadata:\n  name: r\n  bogus: 1\n" };
    expect(() => parseSources([good, bad])).toThrow(/^bad\.yaml: /);
    let thrown: unknown;
    try {
      parseSources([bad]);
    } catch (error) {
      thrown = error;
    }
    // One issue keeps its line and column, and is printed once.
    expect(formatError(thrown)).toBe("INVALID_DOCUMENT: bad.yaml: invalid manifest (1 issue)\nbad.yaml:4:3: metadata.bogus: unknown field");
    expect(parseManifest(joinSources([good, { name: "-", text: '{"kind":"Realm","metadata":{"name":"s"}}' }])).map((d) => d.metadata.name)).toEqual(["r", "s"]);
    expect(sourceOfDocument([good, bad], [1, 2], 0)).toBe("good.yaml");
    expect(sourceOfDocument([good, bad], [1, 2], 2)).toBe("bad.yaml");
    expect(sourceOfDocument([good, bad], [1, 2], 3)).toBeUndefined();
  });
});
