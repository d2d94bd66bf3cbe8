/**
 * Cloning `repos[]` with the host's git (runtime/repos.ts), against a bare
 * repository this test makes and a tiny HTTP server that asks for
 * credentials: the ref and depth are honoured, a clone is kept across calls
 * and replaced when its source changes, the token reaches git only through
 * the one-shot helper (never the clone's config, never the message), and
 * an optional repo that fails leaves a line in the container's log.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clonePlan, ensureRepos, gitEnvironment, refreshPlan } from "../../src/runtime/repos.ts";
import { containerLogPathOf } from "../../src/runtime/run-layout.ts";
import type { ContainerSpec } from "../../src/model/schema/container.ts";
import { requireBinaries } from "../harness/index.ts";
import { git } from "../harness/git-repo.ts";

const ok = requireBinaries("repos clone", ["git"]);
const scope = { realm: "r", space: "s", stack: "t", cell: "c" };
const TOKEN = "tok-3f9c2a-secret";


describe.skipIf(!ok)("repos[] cloned by Keon", () => {
  let root: string;
  let bare: string;
  let first: string;
  let server: ReturnType<typeof Bun.serve>;
  const authorizations: string[] = [];

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "keon-repos-"));
    const work = join(root, "work");
    bare = join(root, "origin.git");
    git(root, "init", "-q", "-b", "main", work);
    Bun.write(join(work, "README"), "one\n");
    git(work, "add", "README");
    git(work, "commit", "-qm", "one");
    first = git(work, "rev-parse", "HEAD");
    git(work, "tag", "v1");
    Bun.spawnSync(["sh", "-c", "echo two > README"], { cwd: work });
    git(work, "commit", "-qam", "two");
    git(root, "clone", "-q", "--bare", work, bare);
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(request) {
        const auth = request.headers.get("authorization");
        if (auth === null) return new Response("", { status: 401, headers: { "www-authenticate": 'Basic realm="keon-test"' } });
        authorizations.push(auth);
        return new Response("no such repository", { status: 404 });
      },
    });
  });
  afterAll(() => {
    server?.stop(true);
    rmSync(root, { recursive: true, force: true });
  });

  const container = (repos: ContainerSpec["repos"]): ContainerSpec => ({ id: "app", image: "busybox", repos });

  test("a branch tip, a tag, a commit and a shallow clone; kept while the source is the same, replaced when it changes", async () => {
    const runPath = join(root, "run1");
    const url = `file://${bare}`;
    const cloned = await ensureRepos(runPath, scope, container([
      { name: "tip", url, target: "/w/tip", required: true },
      { name: "tag", url, target: "/w/tag", ref: "v1", required: true },
      { name: "sha", url, target: "/w/sha", ref: first, required: true },
      { name: "shallow", url, target: "/w/shallow", depth: 1, required: true },
    ]), undefined);
    expect(cloned.mounts.map((m) => m.destination)).toEqual(["/w/tip", "/w/tag", "/w/sha", "/w/shallow"]);
    const [tip, tag, sha, shallow] = cloned.mounts.map((m) => m.source) as [string, string, string, string];
    expect(readFileSync(join(tip, "README"), "utf8")).toBe("two\n");
    expect(readFileSync(join(tag, "README"), "utf8")).toBe("one\n");
    expect(git(sha, "rev-parse", "HEAD")).toBe(first);
    expect(git(shallow, "rev-list", "--count", "HEAD")).toBe("1");
    expect(cloned.fresh.length).toBe(4);

    const again = await ensureRepos(runPath, scope, container([{ name: "tip", url, target: "/w/tip", required: true }]), undefined);
    expect(again.fresh).toEqual([]);
    const moved = await ensureRepos(runPath, scope, container([{ name: "tip", url, target: "/w/tip", ref: "v1", required: true }]), undefined);
    expect(moved.fresh).toEqual([tip]);
    expect(readFileSync(join(tip, "README"), "utf8")).toBe("one\n");
    // The repos no longer declared lost their clones.
    for (const gone of [tag, sha, shallow]) expect(existsSync(gone)).toBe(false);
    expect(existsSync(`${tag}.source.json`)).toBe(false);
  });

  test("on the next start a branch is fetched and fast-forwarded; a pinned ref stays", async () => {
    const runPath = join(root, "run5");
    const url = `file://${bare}`;
    const repos = [{ name: "track", url, target: "/w/track", branch: "main", required: true }, { name: "pin", url, target: "/w/pin", ref: "v1", required: true }];
    const first = await ensureRepos(runPath, scope, container(repos), undefined);
    const [track, pin] = first.mounts.map((m) => m.source) as [string, string];
    expect((await ensureRepos(runPath, scope, container(repos), undefined)).fresh).toEqual([]);
    const work = join(root, "work");
    Bun.spawnSync(["sh", "-c", "echo three > README"], { cwd: work });
    git(work, "commit", "-qam", "three");
    git(work, "push", "-q", bare, "main");
    const next = await ensureRepos(runPath, scope, container(repos), undefined);
    expect(next.fresh).toEqual([track]);
    expect(readFileSync(join(track, "README"), "utf8")).toBe("three\n");
    expect(readFileSync(join(pin, "README"), "utf8")).toBe("one\n");
  });

  test("a token reaches git through the helper only: the server sees it, the clone's config and the error do not", async () => {
    const runPath = join(root, "run2");
    const url = `http://127.0.0.1:${server.port}/team/app.git`;
    const secrets = { secretData: () => TOKEN, containerSecret: () => undefined };
    const failure = await ensureRepos(runPath, scope, container([{ name: "app", url, target: "/w/app", required: true, secretRef: { name: "t", realm: "r" } }]), secrets)
      .then(() => undefined, (error: unknown) => error as { code: string; message: string });
    expect(failure?.code).toBe("REPO_CLONE_FAILED");
    expect(failure?.message).toContain("repos[0] 'app'");
    expect(failure?.message).not.toContain(TOKEN);
    expect(authorizations).toContain(`Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString("base64")}`);
    // Nothing half-done: no clone, no staging directory, no scratch HOME.
    const dir = join(runPath, "repos", "r", "s", "t", "c", "app");
    expect(existsSync(join(dir, "app"))).toBe(false);
    expect(existsSync(join(dir, "app.cloning"))).toBe(false);
    expect(existsSync(join(dir, "app.home"))).toBe(false);
  });

  test("a clone made with a token keeps no credential in its .git/config", async () => {
    const runPath = join(root, "run3");
    const secrets = { secretData: () => TOKEN, containerSecret: () => undefined };
    const cloned = await ensureRepos(runPath, scope, container([{ name: "app", url: `file://${bare}`, target: "/w/app", required: true, secretRef: { name: "t", realm: "r" } }]), secrets);
    const config = readFileSync(join(cloned.mounts[0]!.source, ".git", "config"), "utf8");
    expect(config).not.toContain(TOKEN);
    expect(config).not.toContain("credential");
  });

  test("an optional repo that fails is a line in the container's log; the others still come", async () => {
    const runPath = join(root, "run4");
    const cloned = await ensureRepos(runPath, scope, container([
      { name: "gone", url: `file://${root}/missing.git`, target: "/w/gone" },
      { name: "here", url: `file://${bare}`, target: "/w/here" },
    ]), undefined);
    expect(cloned.mounts.map((m) => m.destination)).toEqual(["/w/here"]);
    expect(readFileSync(containerLogPathOf(runPath, scope, "app"), "utf8")).toMatch(/keon: container app repos\[0\] 'gone' .*starting without it/);
  });
});

describe("clone plans and git's environment", () => {
  test("a kept branch is fetched (the remote's default when none is named) and fast-forwarded only", () => {
    expect(refreshPlan({ name: "a", target: "/a", url: "u" }, "/d")).toEqual([["git", "-C", "/d", "fetch", "origin", "HEAD"], ["git", "-C", "/d", "merge", "--ff-only", "FETCH_HEAD"]]);
    expect(refreshPlan({ name: "a", target: "/a", url: "u", branch: "dev", depth: 1 }, "/d")[0]).toEqual(["git", "-C", "/d", "fetch", "--depth", "1", "origin", "dev"]);
  });
  test("a branch or tag is one clone; a commit is fetched and checked out detached; depth where given", () => {
    expect(clonePlan({ name: "a", target: "/a", url: "u", branch: "dev", depth: 2 }, "/d")).toEqual([["git", "clone", "--depth", "2", "--branch", "dev", "--", "u", "/d"]]);
    const sha = "0123456789abcdef0123456789abcdef01234567";
    expect(clonePlan({ name: "a", target: "/a", url: "u", ref: sha }, "/d")).toEqual([
      ["git", "clone", "--no-checkout", "--", "u", "/d"], ["git", "-C", "/d", "fetch", "origin", sha], ["git", "-C", "/d", "checkout", "--detach", sha],
    ]);
  });
  test("a clean environment; the token only in the helper's variable", () => {
    const env = gitEnvironment("/h", undefined);
    expect(env).toMatchObject({ HOME: "/h", GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" });
    expect(Object.keys(env).some((k) => k.startsWith("GIT_CONFIG_KEY"))).toBe(false);
    const withToken = gitEnvironment("/h", "t0k");
    expect(withToken["KEON_GIT_TOKEN"]).toBe("t0k");
    expect(Object.entries(withToken).filter(([k, v]) => k !== "KEON_GIT_TOKEN" && v.includes("t0k"))).toEqual([]);
  });
});
