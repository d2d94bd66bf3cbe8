/**
 * The operator's daily tool through a real keond: scope from the context
 * file and KEON_* (flags first), not-found naming where the name is, `-A
 * NAME`, `-o name` with the full scope, completion reading the line's scope
 * flags, `diff` / `apply --dry-run` / `edit` showing what a change does
 * (recreate container X, the cells a space default reaches), manifest
 * issues located once each, and `explain`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CONTAINERD_BINARIES, randomId, requireBinaries, requireRoot } from "../harness/index.ts";
import { KEON_CLI, runKeon } from "../harness/keon-cli.ts";
import { startKeondSuite, stopKeondSuite, TEST_IMAGE, type KeondSuite } from "../harness/keond-suite.ts";
import { hostNetworkState } from "../integration/runtime-helpers.ts";

const SUITE = "keon CLI e2e: operator";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, "ip", "iptables-save", "nft", "/usr/lib/cni/bridge", "bash"]);
const realm = `op${randomId(3)}`;
const SPACES = ["web", "other"];

const sleeper = (id: string, env: string) => `{id: ${id}, image: ${TEST_IMAGE}, command: /bin/sh, env: ["${env}"], args: ["-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}`;
const spaceYaml = (space: string, defaults = "") => `---
kind: Space
metadata: {name: ${space}}
spec: {realmId: ${realm}${defaults}}
---
kind: Stack
metadata: {name: main}
spec: {realmId: ${realm}, spaceId: ${space}}
`;
const cellYaml = (space: string, name: string, sideEnv = "A=1") => `---
kind: Cell
metadata: {name: ${name}}
spec:
  realmId: ${realm}
  spaceId: ${space}
  stackId: main
  containers:
    - ${sleeper("app", "X=1")}
    - ${sleeper("side", sideEnv)}
`;

describe.skipIf(!ready)(SUITE, () => {
  let suite: KeondSuite;
  let before: Awaited<ReturnType<typeof hostNetworkState>>;
  let home: string;
  /** keon with a private config home, so no operator's context file is read or written. */
  const keon = (args: string[], options: { env?: Record<string, string>; stdin?: string } = {}) =>
    runKeon(suite.keond.socket, args, { env: { XDG_CONFIG_HOME: home, ...options.env }, timeoutMs: 120_000, ...(options.stdin === undefined ? {} : { stdin: options.stdin }) });
  const file = (name: string, text: string) => {
    const path = join(suite.dir, name);
    writeFileSync(path, text);
    return path;
  };
  const generationOf = async (space: string, name: string) =>
    (await suite.keond.api<{ metadata: { generation: number } }>("GET", `/v1/realms/${realm}/spaces/${space}/stacks/main/cells/${name}`)).body.metadata.generation;

  beforeAll(async () => {
    before = await hostNetworkState(realm, SPACES);
    suite = await startKeondSuite({ name: "operator", realm, subnetCidr: "10.231.0.0/16" });
    home = join(suite.dir, "config-home");
    mkdirSync(home, { recursive: true });
    const applied = await keon(["apply", "-f", "-", "--wait", "--timeout", "90s"], {
      stdin: spaceYaml("web") + spaceYaml("other") + cellYaml("web", "front") + cellYaml("web", "back") + cellYaml("other", "shop"),
    });
    expect(applied.err).toBe("");
    expect(applied.code).toBe(0);
  }, 180_000);

  afterAll(async () => {
    if (suite === undefined) return;
    await stopKeondSuite(suite);
    expect(await hostNetworkState(realm, SPACES)).toEqual(before);
  }, 300_000);

  test("scope: context file, then KEON_*, then flags; -o name carries the full scope", async () => {
    expect((await keon(["config", "set-context", "ops", "--realm", realm, "--space", "web", "--stack", "main"])).out).toBe('Context "ops" created.\n');
    expect((await keon(["config", "use-context", "ops"])).out).toBe('Switched to context "ops".\n');
    expect((await keon(["config", "current-context"])).out).toBe("ops\n");
    expect((await keon(["config", "get-contexts"])).out).toMatch(/^CURRENT +NAME +REALM +SPACE +STACK\n\* +ops +\S+ +web +main\n$/);
    expect((await keon(["get", "cells", "-o", "name"])).out).toBe(`cell/${realm}/web/main/back\ncell/${realm}/web/main/front\n`);
    expect((await keon(["get", "cells", "-o", "name"], { env: { KEON_SPACE: "other" } })).out).toBe(`cell/${realm}/other/main/shop\n`);
    expect((await keon(["get", "cells", "-o", "name", "--space", "web"], { env: { KEON_SPACE: "other" } })).out).toBe(`cell/${realm}/web/main/back\ncell/${realm}/web/main/front\n`);
    const unknown = await keon(["config", "use-context", "nope"]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("no context 'nope'");
  });

  test("not found names where the name is; -A NAME finds it anywhere", async () => {
    const missing = await keon(["describe", "cell", "shop", "--realm", realm, "--space", "web", "--stack", "main"]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(`a cell named 'shop' is in ${realm}/other/main (--realm ${realm} --space other --stack main)`);
    const logs = await keon(["logs", "shop", "--realm", realm, "--space", "web", "--stack", "main"]);
    expect(logs.err).toContain(`a cell named 'shop' is in ${realm}/other/main`);
    const anywhere = await keon(["get", "cell", "shop", "-A", "-o", "name"], { env: { KEON_REALM: "nowhere" } });
    expect(anywhere.out).toBe(`cell/${realm}/other/main/shop\n`);
    // get -o name's output names the resource again, scope included, whatever the context says.
    const described = await keon(["describe", anywhere.out.trim()], { env: { KEON_SPACE: "web" } });
    expect(described.code).toBe(0);
    expect(described.out).toContain("shop");
    expect((await keon(["get", anywhere.out.trim(), "-o", "name"])).out).toBe(anywhere.out);
    const none = await keon(["get", "cell", "ghost", "-A"]);
    expect(none.code).toBe(1);
    expect(none.err).toContain("no cell named 'ghost' in any scope");
  });

  test("bash completion asks for names at the scope the line gives", async () => {
    const bin = join(suite.dir, "bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "keon"), `#!/bin/sh\nexec ${process.execPath} run ${KEON_CLI} "$@"\n`);
    chmodSync(join(bin, "keon"), 0o755);
    const script = file("keon.bash", (await keon(["completion", "bash"])).out);
    const complete = (words: string[]) => {
      const program = `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _keon; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const env = { PATH: `${bin}:/usr/bin:/bin`, KEON_SOCKET: suite.keond.socket, XDG_CONFIG_HOME: join(suite.dir, "empty-home") };
      return Bun.spawnSync(["bash", "-c", program], { env }).stdout.toString().trim().split("\n");
    };
    expect(complete(["keon", "get", "cells", "--realm", realm, "--space", "other", "--stack", "main", ""])).toEqual(["shop"]);
    // bash splits --stack=main into three words.
    expect(complete(["keon", "describe", "cell", "--realm", realm, "--space", "web", "--stack", "=", "main", "b"])).toEqual(["back"]);
    expect(complete(["keon", "get", "stacks", "--realm", realm, "--space", "other", ""])).toEqual(["main"]);
  });

  test("diff and apply --dry-run say what a change recreates, and store nothing", async () => {
    const generation = await generationOf("web", "front");
    const changed = file("front.yaml", cellYaml("web", "front", "A=2"));
    const diff = await keon(["diff", "-f", changed]);
    expect(diff.code).toBe(0);
    expect(diff.out).toContain(`--- current/cell/${realm}/web/main/front\n+++ applied/cell/${realm}/web/main/front\n`);
    expect(diff.out).toMatch(/\n- +- A=1\n\+ +- A=2\n/);
    expect(diff.out).toContain(`cell/${realm}/web/main/front: recreates container side (the cell keeps running)\n`);
    const dry = await keon(["apply", "-f", changed, "--dry-run"]);
    expect(dry.out).toBe(`cell/${realm}/web/main/front: recreates container side (the cell keeps running)\n1 resource: 0 created, 1 updated, 0 unchanged (dry run: nothing stored)\n`);
    expect(await generationOf("web", "front")).toBe(generation);
    const same = await keon(["diff", "-f", file("same.yaml", cellYaml("web", "front"))]);
    expect([same.out, same.err]).toEqual(["", "No changes.\n"]);
  });

  test("diff of a space default change lists every cell of the space it would recreate containers of", async () => {
    const space = file("space.yaml", spaceYaml("web", ", defaults: {container: {readOnlyRootFilesystem: true}}"));
    const diff = await keon(["diff", "-f", space]);
    expect(diff.code).toBe(0);
    expect(diff.out).toContain(`space/${realm}/web: changes in place (nothing restarts)\n`);
    for (const cell of ["back", "front"]) {
      expect(diff.out).toContain(`cell/${realm}/web/main/${cell}: space default changes: readOnlyRootFilesystem; applying it again recreates containers app, side (the cell keeps running)`);
    }
    expect(diff.out).not.toContain("/shop:");
  });

  test("edit: the diff is shown and the change applied; a bad save is re-opened with its located issue", async () => {
    const seen = join(suite.dir, "seen");
    const editor = file("editor.sh", `#!/bin/sh
n=$(ls ${seen}* 2>/dev/null | wc -l)
cp "$1" ${seen}-$n
if grep -q "did you mean" "$1"; then sed -i -e 's/imag:/image:/' -e 's/A=1/A=3/' "$1"; else sed -i 's/image:/imag:/' "$1"; fi
`);
    chmodSync(editor, 0o755);
    const edited = await keon(["edit", "cell", "back", "--realm", realm, "--space", "web", "--stack", "main"], { env: { EDITOR: editor } });
    expect(edited.err).toBe("");
    expect(edited.code).toBe(0);
    expect(edited.out).toMatch(/\n- +- A=1\n\+ +- A=3\n/);
    // Only what changed: the filled-in spec.id keeps its place.
    expect(edited.out).not.toMatch(/^[+-] +id: back$/m);
    expect(edited.out).toContain(`cell/${realm}/web/main/back: recreates container side (the cell keeps running)\n`);
    expect(edited.out).toContain("cell/back updated\n");
    const reopened = readFileSync(`${seen}-1`, "utf8");
    expect(reopened).toMatch(/# INVALID_DOCUMENT: .*invalid manifest \(\d issues?\)\n# .*cell-back\.yaml:\d+:\d+: spec\.containers\[0\]\.imag: unknown field \(did you mean 'image'\?\)\n/);
    const stored = await suite.keond.api<{ spec: { containers: Array<{ id: string; env: string[] }> } }>("GET", `/v1/realms/${realm}/spaces/web/stacks/main/cells/back`);
    expect(stored.body.spec.containers.find((c) => c.id === "side")?.env).toEqual(["A=3"]);
    const untouched = await keon(["edit", "cell", "back", "--realm", realm, "--space", "web", "--stack", "main"], { env: { EDITOR: "true" } });
    expect([untouched.code, untouched.err]).toEqual([0, "Edit cancelled: no changes made.\n"]);
  });

  test("manifest issues: each once, file:line:col: path: message, with did-you-mean; explain reads the schema", async () => {
    const one = file("one.yaml", cellYaml("web", "bad").replace("command: /bin/sh, env", "command: /bin/sh, restartPolicy: sometimes, env"));
    const single = await keon(["apply", "-f", one]);
    expect(single.code).toBe(1);
    expect(single.err).toMatch(new RegExp(`^keon: INVALID_DOCUMENT: ${one}: invalid manifest \\(1 issue\\)\\n${one}:9:\\d+: spec\\.containers\\[0\\]\\.restartPolicy: must be always, on-failure or never\\n$`));
    const two = file("two.yaml", cellYaml("web", "bad").replace("image:", "imag:").replace("stackId: main", "stackId: main\n  autoDelet: true"));
    const several = await keon(["apply", "-f", two]);
    const lines = several.err.split("\n").filter((l) => l.startsWith(two));
    expect(lines).toEqual([
      `${two}:8:3: spec.autoDelet: unknown field (did you mean 'autoDelete'?)`,
      expect.stringMatching(new RegExp(`^${two}:10:\\d+: spec\\.containers\\[0\\]\\.imag: unknown field \\(did you mean 'image'\\?\\)$`)),
    ]);
    const explained = await keon(["explain", "cell.spec.containers.restartPolicy"]);
    expect(explained.out).toContain('ALLOWED:  "" (empty), always, on-failure, never\n');
  });
});
