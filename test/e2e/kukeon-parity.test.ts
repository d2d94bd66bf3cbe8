/**
 * kukeon parity against a real keond (its own containerd, runc, CNI):
 * a CellBlueprint with a parameter, a repo slot and a secret slot, a
 * CellConfig filling them from a bare git repository this test makes and a
 * Secret of the system realm; `keon run --from-config` stamps a cell that
 * runs with the repository checked out at its path and git's identity in
 * its environment; a secretRef into another realm is refused; `delete -f`
 * twice succeeds; and kukeon-format documents of every kind and field of
 * kukeon's manifest reference apply, read back with `get -o yaml`, and apply
 * again as unchanged.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CONTAINERD_BINARIES, randomId, requireBinaries, requireRoot, waitUntil } from "../harness/index.ts";
import { startKeondSuite, stopKeondSuite, TEST_IMAGE, type KeondSuite } from "../harness/keond-suite.ts";
import { PtyKeon } from "../harness/pty-keon.ts";
import { git } from "../harness/git-repo.ts";
import { scopeManifest } from "../harness/scope-manifest.ts";

const SUITE = "kukeon parity e2e";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, "git", "script", "ip", "nft", "/usr/lib/cni/bridge"]);

const realm = `kp${randomId(3)}`;
const compat = `${realm}c`;
const other = `${realm}o`;
const SYSTEM = "kuke-system";
const SCOPE = ["--realm", realm, "--space", "dev", "--stack", "main"];
const TOKEN = "sys-token-5c1e";



const templates = (bare: string) => `---
kind: CellBlueprint
metadata: {name: coder, realm: ${realm}, labels: {team: core}}
spec:
  prefix: cdr
  parameters:
    - {name: GREETING, default: hello, description: first word}
    - {name: WHO, required: true}
  cell:
    containers:
      - id: work
        image: ${TEST_IMAGE}
        command: /bin/sh
        args: ["-c", "echo \${GREETING} \${WHO}; trap 'exit 0' TERM; while true; do sleep 1; done"]
        repos: [{name: workspace, target: /workspace, required: true}]
        secrets:
          - {name: token, envName: API_TOKEN, required: true}
          - {name: signing, mode: file, mountPath: /run/secrets/git-signing.key}
        git:
          author: {name: Ada Lovelace, email: ada@example.com}
          committer: {name: Ada Lovelace, email: ada@example.com}
          signingKey: /run/secrets/git-signing.key
          sign: [commits]
---
kind: CellConfig
metadata: {name: prod, realm: ${realm}, labels: {env: prod}}
spec:
  blueprint: {name: coder, realm: ${realm}}
  values: {WHO: world}
  repos:
    workspace: {url: "file://${bare}", branch: main}
  secrets:
    token: {secretRef: {name: git-token, realm: ${SYSTEM}}}
    signing: {secretRef: {name: signing-key, realm: ${realm}}}
`;

describe.skipIf(!ready)(SUITE, () => {
  let suite: KeondSuite;
  let bare: string;
  let manifests: string;
  const keon = (args: string[], stdin?: string) => suite.keon(args, stdin);

  beforeAll(async () => {
    suite = await startKeondSuite({
      name: "parity", realm, subnetCidr: "10.233.0.0/16",
      extraArgs: ["--policy-host-path-prefixes", "/tmp", "--policy-realms", `${compat}=privileged`, "--policy-secret-file-dirs", "/tmp"],
    });
    manifests = join(suite.dir, "manifests");
    mkdirSync(manifests, { recursive: true });
    const work = join(suite.dir, "work");
    bare = join(suite.dir, "origin.git");
    git(suite.dir, "init", "-q", "-b", "main", work);
    writeFileSync(join(work, "README"), "checked out by keon\n");
    git(work, "add", "README");
    git(work, "commit", "-qm", "first");
    git(suite.dir, "clone", "-q", "--bare", work, bare);
    const base = await keon(["apply", "-f", "-", "--wait", "--timeout", "90s"], [
      scopeManifest(realm, "dev", "main"),
      `---\nkind: Secret\nmetadata: {name: signing-key, realm: ${realm}}\nspec: {data: ssh-signing-key-data}\n`,
      `---\nkind: Realm\nmetadata: {name: ${SYSTEM}}\nspec: {}\n---\nkind: Secret\nmetadata: {name: git-token, realm: ${SYSTEM}}\nspec: {data: ${TOKEN}}\n`,
      `---\nkind: Realm\nmetadata: {name: ${other}}\nspec: {}\n---\nkind: Secret\nmetadata: {name: theirs, realm: ${other}}\nspec: {data: not-yours}\n`,
    ].join(""));
    expect(base.err).toBe("");
    expect(base.code).toBe(0);
  }, 240_000);

  afterAll(async () => {
    if (suite === undefined) return;
    for (const extra of [SYSTEM, other, compat]) {
      const deleted = await keon(["delete", "realm", extra, "--cascade", "--wait", "--timeout", "120s", "--ignore-not-found"]);
      expect(deleted.code).toBe(0);
    }
    await stopKeondSuite(suite);
  }, 400_000);

  test("blueprints and configs apply, list, and a config that fills nothing the blueprint asks is refused", async () => {
    const applied = await keon(["apply", "-f", "-"], templates(bare));
    expect(applied.err).toBe("");
    expect(applied.out).toContain(`blueprint/coder (${realm}) created`);
    expect(applied.out).toContain(`config/prod (${realm}) created`);
    const blueprints = await keon(["get", "blueprints", "--realm", realm]);
    expect(blueprints.out).toMatch(/coder\s+\S+\s+cdr\s+GREETING,WHO\s+work/);
    expect((await keon(["get", "configs", "--realm", realm])).out).toMatch(new RegExp(`prod\\s+${realm}\\s+${realm}/coder`));
    const wrong = await keon(["apply", "-f", "-"], `kind: CellConfig\nmetadata: {name: bad, realm: ${realm}}\nspec:\n  blueprint: {name: coder, realm: ${realm}}\n  values: {WHOM: x}\n`);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain("spec.values.WHOM");
    expect(wrong.err).toContain("required repo slot 'workspace'");
  });

  test("run refuses a blueprint whose required slots only a config can fill, and an undeclared --param", async () => {
    const inline = await keon(["run", "--from-blueprint", "coder", "--param", "WHO=x", ...SCOPE]);
    expect(inline.code).toBe(1);
    expect(inline.err).toContain("required repo slot 'workspace'");
    expect(inline.err).toContain("--from-config");
    const typo = await keon(["run", "--from-config", "prod", "--param", "GREETTING=hi", ...SCOPE]);
    expect(typo.code).toBe(1);
    expect(typo.err).toContain("--param GREETTING");
    expect((await keon(["get", "cells", ...SCOPE])).err).toContain("No resources found");
  });

  test("run --from-config: a fresh cell runs with the repository at its path, git's identity and the system realm's Secret", async () => {
    const run = await keon(["run", "--from-config", "prod", "--param", "GREETING=hi", ...SCOPE, "--wait", "--timeout", "120s"]);
    expect(run.err).toBe("");
    const name = /^cell\/(cdr-[0-9a-f]{6}) created \(Ready\)$/m.exec(run.out)?.[1];
    expect(name).toBeDefined();
    const exec = await keon(["exec", name!, ...SCOPE, "--", "sh", "-c", 'cat /workspace/README; echo "$GIT_AUTHOR_NAME <$GIT_AUTHOR_EMAIL> $GIT_COMMITTER_NAME $API_TOKEN"']);
    expect(exec.err).toBe("");
    expect(exec.out).toBe(`checked out by keon\nAda Lovelace <ada@example.com> Ada Lovelace ${TOKEN}\n`);
    // The signing key is a Secret mounted as a file; git finds it through its GIT_CONFIG_* environment.
    const signing = await keon(["exec", name!, ...SCOPE, "--", "sh", "-c", 'cat /run/secrets/git-signing.key; echo; env | grep "^GIT_CONFIG_" | sort']);
    expect(signing.out).toBe([
      "ssh-signing-key-data",
      "GIT_CONFIG_COUNT=3", "GIT_CONFIG_KEY_0=gpg.format", "GIT_CONFIG_KEY_1=user.signingkey", "GIT_CONFIG_KEY_2=commit.gpgsign",
      "GIT_CONFIG_VALUE_0=ssh", "GIT_CONFIG_VALUE_1=/run/secrets/git-signing.key", "GIT_CONFIG_VALUE_2=true", "",
    ].join("\n"));
    await waitUntil(async () => (await keon(["logs", name!, ...SCOPE])).out.includes("hi world"), "the parameters in the workload output", 30_000, 500);

    // Lineage and provenance, shown and applied back unchanged.
    const yaml = (await keon(["get", "cell", name!, ...SCOPE, "-o", "yaml"])).out;
    expect(yaml).toContain("kukeon.io/config: prod");
    expect(yaml).toContain("kukeon.io/blueprint: coder");
    expect(yaml).toMatch(/provenance:\n\s+kind: CellConfig/);
    expect((await keon(["get", "cells", ...SCOPE, "-l", "kukeon.io/config=prod", "-o", "name"])).out).toBe(`cell/${realm}/dev/main/${name}\n`);
    const back = await keon(["apply", "-f", "-"], yaml);
    expect(back.out).toContain(`cell/${name} unchanged`);
    expect((await keon(["describe", "cell", name!, ...SCOPE])).out).toMatch(new RegExp(`Stamped from:?\\s+CellConfig ${realm}/prod`));

    // Each read of the system realm's Secret is an event of the cell.
    const events = await suite.keond.api<{ items: Array<{ name: string; reason: string; message: string }> }>("GET", `/v1/events?realm=${realm}&limit=1000`);
    expect(events.body.items.some((e) => e.name === name && e.reason === "SystemSecretUsed" && e.message.includes(`${SYSTEM}/git-token`) && !e.message.includes(TOKEN))).toBe(true);

    // keond logs at debug level in this suite: neither the Secret nor anything else of it reaches the log.
    expect(readFileSync(`${suite.keond.logPath}.1`, "utf8")).not.toContain(TOKEN);

    // The clone lives under keond's run path for the cell's life only.
    const clone = join(suite.keond.runPath, "repos", realm, "dev", "main", name!);
    expect(existsSync(join(clone, "work", "workspace", "README"))).toBe(true);
    const deleted = await keon(["delete", "cell", name!, ...SCOPE, "--wait", "--timeout", "90s"]);
    expect(deleted.code).toBe(0);
    expect(existsSync(clone)).toBe(false);
  }, 240_000);

  test("run --attach: the stamped attachable shell is reached through a real terminal, and a detach leaves it running", async () => {
    const blueprint = `kind: CellBlueprint\nmetadata: {name: shell, realm: ${realm}}\nspec:\n  cell:\n    containers:\n      - {id: sh, image: ${TEST_IMAGE}, command: /bin/sh, args: ["-i"], attachable: true}\n`;
    expect((await keon(["apply", "-f", "-"], blueprint)).code).toBe(0);
    const terminal = new PtyKeon(suite.keond.socket, ["run", "--from-blueprint", "shell", ...SCOPE, "--attach"]);
    try {
      const name = (await terminal.waitFor(/cell\/(shell-[0-9a-f]{6}) created \(Ready\)/, "the stamped cell"))[1]!;
      await terminal.ask("echo $((6*7))", /\b42\b/, "the shell's answer");
      terminal.type("\u001d\u001d");
      expect(await terminal.close()).toBe(0);
      const cell = await suite.keond.api<{ status?: { state?: string } }>("GET", `/v1/realms/${realm}/spaces/dev/stacks/main/cells/${name}`);
      expect(cell.body.status?.state).toBe("Ready");
      expect((await keon(["delete", "cell", name, ...SCOPE, "--wait", "--timeout", "60s"])).code).toBe(0);
    } finally {
      terminal.kill();
    }
  }, 120_000);

  test("a required repository that cannot be cloned is the cell's reason RepoCloneFailed, and it is retried", async () => {
    const cell = `kind: Cell\nmetadata: {name: noclone}\nspec:\n  realmId: ${realm}\n  spaceId: dev\n  stackId: main\n  containers:\n    - {id: a, image: ${TEST_IMAGE}, command: /bin/sleep, args: ["3600"], repos: [{name: gone, url: "file://${suite.dir}/missing.git", target: /src, required: true}]}\n`;
    expect((await keon(["apply", "-f", "-"], cell)).code).toBe(0);
    const path = `/v1/realms/${realm}/spaces/dev/stacks/main/cells/noclone`;
    type Status = { reason?: string; message?: string; retry?: { attempt: number } };
    let status: Status = {};
    await waitUntil(async () => {
      status = (await suite.keond.api<{ status?: Status }>("GET", path)).body.status ?? {};
      return status.reason === "RepoCloneFailed" && (status.retry?.attempt ?? 0) >= 2;
    }, "RepoCloneFailed retried", 60_000, 250);
    expect(status.message).toContain("repos[0] 'gone'");
    expect((await keon(["delete", "cell", "noclone", ...SCOPE, "--wait", "--timeout", "60s"])).code).toBe(0);
  }, 120_000);

  test("a secretRef into another realm than the system realm is refused, naming the field", async () => {
    const cell = `kind: Cell\nmetadata: {name: thief}\nspec:\n  realmId: ${realm}\n  spaceId: dev\n  stackId: main\n  containers:\n    - {id: a, image: ${TEST_IMAGE}, secrets: [{name: X, secretRef: {name: theirs, realm: ${other}}}]}\n`;
    const refused = await keon(["apply", "-f", "-"], cell);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("spec.containers[0].secrets[0].secretRef.realm");
    expect(refused.err).toContain(`of the system realm ('${SYSTEM}')`);
  });

  test("delete -f of what is already gone exits 0 saying not found; --strict exits 1", async () => {
    const file = join(manifests, "templates.yaml");
    writeFileSync(file, templates(bare));
    expect((await keon(["apply", "-f", file])).code).toBe(0);
    const first = await keon(["delete", "-f", file]);
    expect(first.code).toBe(0);
    expect(first.out).toContain("config/prod deleted");
    const second = await keon(["delete", "-f", file]);
    expect(second.code).toBe(0);
    expect(second.out).toContain("config/prod not found");
    expect(second.out).toContain("blueprint/coder not found");
    const strict = await keon(["delete", "-f", file, "--strict"]);
    expect(strict.code).toBe(1);
  });

  test("kukeon-format documents of every kind and field apply, read back with get -o yaml, and apply again unchanged", async () => {
    const secretFile = join(manifests, "token");
    writeFileSync(secretFile, "from-a-file");
    const documents = compatDocuments(secretFile, suite.dir);
    const applied = await keon(["apply", "-f", "-"], documents);
    expect(applied.err).toBe("");
    expect(applied.code).toBe(0);
    // The legacy fields are left out, each with a warning; nothing silently.
    expect(applied.out).toContain("Warning: cell/web metadata.description:");
    expect(applied.out).toContain("Warning: cell/web spec.containers[0].tty.profile:");
    expect(applied.out).toContain("Warning: volume/cache metadata.cell:");

    const reads: Array<[string, string, string[]]> = [
      ["realm", compat, []],
      ["space", "dev", ["--realm", compat]],
      ["stack", "main", ["--realm", compat, "--space", "dev"]],
      ["cell", "web", ["--realm", compat, "--space", "dev", "--stack", "main"]],
      ["container", "extra", ["--realm", compat, "--space", "dev", "--stack", "main", "--cell", "web"]],
      ["secret", "anthropic-token", ["--realm", compat]],
      ["secret", "cell-token", ["--realm", compat, "--space", "dev", "--stack", "main", "--cell", "web"]],
      ["volume", "cache", ["--realm", compat, "--space", "dev", "--stack", "main"]],
      ["blueprint", "claude-code", ["--realm", compat]],
      ["blueprint", "stacked", ["--realm", compat, "--space", "dev", "--stack", "main"]],
      ["config", "prod", ["--realm", compat]],
    ];
    const outputs: string[] = [];
    for (const [kind, name, flags] of reads) {
      const got = await keon(["get", kind, name, ...flags, "-o", "yaml"]);
      expect(got.err).toBe("");
      outputs.push(got.out);
    }
    const cellYaml = outputs[3]!;
    for (const field of ["rootContainerId: web", "nestedCgroupRuntime: true", "cniConfigPath:", "signingKey: /run/secrets/git-signing.key", "allowedSigners:", "restartMaxRetries: 3", "provenance:"]) {
      expect(cellYaml).toContain(field);
    }
    const again = await keon(["apply", "-f", "-"], outputs.map((o) => (o.startsWith("---") ? o : `---\n${o}`)).join(""));
    expect(again.err).toBe("");
    const lines = again.out.trim().split("\n");
    const summary = lines.pop();
    expect(lines.filter((l) => !l.endsWith(" unchanged"))).toEqual([]);
    expect(summary).toBe(`${reads.length} resources: 0 created, 0 updated, ${reads.length} unchanged`);
  }, 240_000);
});

/** One document per kind of kukeon's manifest reference (kukeon-docs/manifests-*.md), every field given. */
function compatDocuments(secretFile: string, hostDir: string): string {
  return `apiVersion: v1beta1
kind: Realm
metadata: {name: ${compat}, labels: {tier: test}}
spec:
  namespace: ${compat}.e2e
  registryCredentials:
    - {username: myuser, password: mypass, serverAddress: registry.example.com}
---
apiVersion: v1beta1
kind: Space
metadata: {name: dev, labels: {}}
spec:
  realmId: ${compat}
  cniConfigPath: /etc/cni/net.d
  network:
    egress:
      default: deny
      allow:
        - {cidr: 10.0.0.0/8, ports: [5432]}
        - {cidr: 192.0.2.0/24}
        - {host: localhost, ports: [443]}
  defaults:
    container:
      user: "1000:1000"
      readOnlyRootFilesystem: true
      capabilities: {drop: ["ALL"], add: ["NET_BIND_SERVICE"]}
      securityOpts: ["no-new-privileges"]
      tmpfs: [{path: /tmp, sizeBytes: 268435456}]
      resources: {memoryLimitBytes: 4294967296, pidsLimit: 512}
---
apiVersion: v1beta1
kind: Stack
metadata: {name: main, labels: {}}
spec: {id: main, realmId: ${compat}, spaceId: dev}
---
apiVersion: v1beta1
kind: Secret
metadata: {name: anthropic-token, realm: ${compat}}
spec: {data: sk-ant-test}
---
apiVersion: v1beta1
kind: Volume
metadata: {name: cache, realm: ${compat}, space: dev, stack: main, cell: web}
spec: {reclaimPolicy: Delete}
---
apiVersion: v1beta1
kind: Cell
metadata: {name: web, labels: {app: web}, description: a legacy description}
spec:
  id: web
  realmId: ${compat}
  spaceId: dev
  stackId: main
  rootContainerId: web
  nestedCgroupRuntime: true
  tty: {default: web}
  autoDelete: false
  provenance:
    kind: CellConfig
    ref: {name: prod, realm: ${compat}}
    params: {MODEL: claude-opus-4-7}
  containers:
    - id: web
      root: true
      image: ${TEST_IMAGE}
      command: /bin/sh
      args: ["-c", "exec sleep 3600"]
      env: ["NGINX_HOST=example.com"]
      ports: []
      volumes:
        - {source: ${hostDir}, target: /usr/share/nginx/html, readOnly: true}
        - {kind: bind, source: ${hostDir}, target: /workspace}
        - {kind: tmpfs, target: /scratch, sizeBytes: 1048576, mode: 0755}
        - {kind: volume, target: /var/cache, volumeRef: {name: cache, realm: ${compat}, space: dev, stack: main}, ensure: true}
      networks: []
      networksAliases: []
      privileged: false
      devices: ["/dev/null"]
      hostCgroup: false
      secrets:
        - {name: ANTHROPIC_API_KEY, fromFile: ${secretFile}}
        - {name: tls.crt, fromFile: ${secretFile}, mountPath: /run/secrets/tls.crt}
        - {name: ANTHROPIC_AUTH_TOKEN, secretRef: {name: anthropic-token, realm: ${compat}}}
      repos:
        - {name: app, url: "https://git.invalid/example/app.git", target: /workspace/app, branch: main, required: false}
        - {name: vendored, url: "https://git.invalid/example/vendored.git", target: /workspace/vendored, ref: v1.4.2, required: false}
      git:
        author: {name: Ada Lovelace, email: ada@example.com}
        committer: {name: Ada Lovelace, email: ada@example.com}
        signingKey: /run/secrets/git-signing.key
        sign: [commits]
        allowedSigners: /run/secrets/allowed_signers
      cniConfigPath: ""
      restartPolicy: on-failure
      restartBackoffSeconds: 10
      restartMaxRetries: 3
      attachable: true
      tty:
        profile: legacy
        prompt: "claude> "
        onInit:
          - {script: echo ready}
          - {script: ./bootstrap.sh, runOn: create}
        logLevel: debug
        logFile: /run/kukeon/tty/kuketty.log
status:
  state: Ready
  cgroupPath: /kukeon/${compat}/dev/main/web
  containers:
    - {id: web, state: Ready}
---
apiVersion: v1beta1
kind: Secret
metadata: {name: cell-token, realm: ${compat}, space: dev, stack: main, cell: web}
spec: {data: per-cell}
---
apiVersion: v1beta1
kind: Container
metadata: {name: extra, labels: {}}
spec:
  id: extra
  realmId: ${compat}
  spaceId: dev
  stackId: main
  cellId: web
  root: false
  image: ${TEST_IMAGE}
  command: /bin/sh
  args: ["-c", "exec sleep 3600"]
  env: []
  cniConfigPath: ""
  restartPolicy: ""
  containerdId: dev_main_web_extra
  secrets:
    - {name: GITHUB_TOKEN, fromEnv: GITHUB_TOKEN_SCOPED}
status:
  state: Ready
  startTime: "2026-04-21T12:00:00Z"
  finishTime: "0001-01-01T00:00:00Z"
  exitCode: 0
  restartCount: 0
---
apiVersion: v1beta1
kind: CellBlueprint
metadata: {name: claude-code, realm: ${compat}, labels: {team: agents}}
spec:
  prefix: cc
  parameters:
    - {name: MODEL, default: claude-sonnet-4-6, description: the model}
    - {name: TOKEN_NAME, required: true}
  cell:
    autoDelete: true
    nestedCgroupRuntime: false
    tty: {default: agent}
    containers:
      - id: agent
        root: true
        image: ${TEST_IMAGE}
        attachable: true
        env: ["MODEL=\${MODEL}", "CELL=\${CELL_NAME}"]
        repos: [{name: workspace, target: /workspace, required: true}]
        secrets:
          - {name: anthropic-token, envName: ANTHROPIC_API_KEY, required: true}
          - {name: signing, mode: file, mountPath: /run/secrets/git-signing.key}
        git: {signingKey: /run/secrets/git-signing.key, sign: [commits, tags]}
---
apiVersion: v1beta1
kind: CellBlueprint
metadata: {name: stacked, realm: ${compat}, space: dev, stack: main}
spec:
  cell:
    containers: [{id: app, image: ${TEST_IMAGE}}]
---
apiVersion: v1beta1
kind: CellConfig
metadata: {name: prod, realm: ${compat}, labels: {env: prod}}
spec:
  blueprint: {name: claude-code, realm: ${compat}}
  values: {MODEL: claude-opus-4-7, TOKEN_NAME: anthropic}
  repos:
    workspace: {url: "https://git.invalid/example/repo", ref: v1.0.0}
  secrets:
    anthropic-token:
      secretRef: {name: anthropic-token, realm: ${compat}}
`;
}
