/**
 * @module
 * A container's `repos[]`, cloned by Keon on the host before the workload
 * starts, with Debian's `git`, into a directory of the cell under the run
 * path that is bind-mounted at the repo's `target`.
 *
 * - git runs with a clean environment: no HOME config, no system config, no
 *   terminal prompt, only the http(s), ssh, git and file transports.
 * - A token from the repo's `secretRef` reaches git through a one-shot
 *   credential helper given in GIT_CONFIG_* variables, reading the token
 *   from the git process's own environment: it is never on a command line,
 *   in the clone's .git/config, in a message or in a log.
 * - The clone is made beside its place and renamed into it when complete, so
 *   a failed clone leaves nothing half-done. A clone whose source (url,
 *   branch, ref, depth) is unchanged is kept across restarts (a branch is
 *   fetched and fast-forwarded, a ref stays where it is pinned); another
 *   source replaces it.
 * - A failure of a `required` repo is REPO_CLONE_FAILED (the cell's reason
 *   `RepoCloneFailed`, retried with the backoff); of another repo, a line in
 *   the container's log, and the workload starts without it.
 * - A repo the container no longer declares loses its clone at the next
 *   start; the cell's clones all go when the cell is deleted (cell-purge.ts).
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { KeonError } from "../model/errors.ts";
import { redactUrl } from "../model/repo-url.ts";
import type { ContainerSpec } from "../model/schema/container.ts";
import type { ContainerRepo } from "../model/schema/container-git.ts";
import { DEFAULT_CHILD_PATH, runCommand } from "../network/run-command.ts";
import type { ResolvedBindMount } from "../oci/inputs.ts";
import { containerLogPathOf, containerReposDirOf, repoDirOf, type CellScope } from "./run-layout.ts";
import type { SecretValueSource } from "./secrets.ts";

/** One git command's deadline: a clone of a large repository over a slow link still fits. */
export const GIT_TIMEOUT_MS = 10 * 60_000;
/** The variable the credential helper reads the token from (the git process's env only). */
const TOKEN_VARIABLE = "KEON_GIT_TOKEN";
const FULL_SHA = /^[0-9a-f]{40}$/;

export interface ClonedRepos {
  mounts: ResolvedBindMount[];
  /** Clones made by this call (the caller hands them to the container's user). */
  fresh: string[];
}

/** The git commands that clone `repo` into `dir`, in order. Pure. */
export function clonePlan(repo: ContainerRepo & { url: string }, dir: string): string[][] {
  const depth = repo.depth !== undefined && repo.depth > 0 ? ["--depth", String(repo.depth)] : [];
  if (repo.ref !== undefined && FULL_SHA.test(repo.ref)) {
    // A commit is not a branch or tag clone can name: fetch it, then check it out detached.
    return [
      ["git", "clone", "--no-checkout", ...depth, "--", repo.url, dir],
      ["git", "-C", dir, "fetch", ...depth, "origin", repo.ref],
      ["git", "-C", dir, "checkout", "--detach", repo.ref],
    ];
  }
  const pin = repo.branch || repo.ref;
  return [["git", "clone", ...depth, ...(pin ? ["--branch", pin] : []), "--", repo.url, dir]];
}

/** The git commands that bring a kept clone of a branch (or the remote's default) up to date: fetch, then fast-forward only. Pure. */
export function refreshPlan(repo: ContainerRepo, dir: string): string[][] {
  const depth = repo.depth !== undefined && repo.depth > 0 ? ["--depth", String(repo.depth)] : [];
  return [
    ["git", "-C", dir, "fetch", ...depth, "origin", repo.branch || "HEAD"],
    ["git", "-C", dir, "merge", "--ff-only", "FETCH_HEAD"],
  ];
}

/** The whole environment of a git command: nothing of keond's, and the token only when there is one. Pure. */
export function gitEnvironment(home: string, token: string | undefined): Record<string, string> {
  const env: Record<string, string> = {
    PATH: DEFAULT_CHILD_PATH,
    HOME: home,
    LC_ALL: "C",
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_ALLOW_PROTOCOL: "https:http:ssh:git:file",
    GIT_SSH_COMMAND: "ssh -o BatchMode=yes",
  };
  if (token === undefined) return env;
  return {
    ...env,
    [TOKEN_VARIABLE]: token,
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "credential.helper",
    // A helper given in the environment lives as long as this command; the token is read from its env, not written anywhere.
    GIT_CONFIG_VALUE_0: `!f() { test "$1" = get && printf 'username=x-access-token\\npassword=%s\\n' "$${TOKEN_VARIABLE}"; }; f`,
  };
}

/** What a clone was made from: another source means another clone. */
function sourceOf(repo: ContainerRepo & { url: string }): string {
  return JSON.stringify({ url: repo.url, branch: repo.branch ?? "", ref: repo.ref ?? "", depth: repo.depth ?? 0 });
}

export async function ensureRepos(runPath: string, scope: CellScope, container: ContainerSpec, secrets: SecretValueSource | undefined): Promise<ClonedRepos> {
  const out: ClonedRepos = { mounts: [], fresh: [] };
  removeDroppedRepos(runPath, scope, container);
  for (const [index, repo] of (container.repos ?? []).entries()) {
    if (!repo.url) continue;
    const withUrl = { ...repo, url: repo.url };
    const dir = repoDirOf(runPath, scope, container.id, repo.name);
    try {
      if (await ensureCheckout(withUrl, dir, secrets)) out.fresh.push(dir);
      out.mounts.push({ source: dir, destination: repo.target, readOnly: false });
    } catch (error) {
      const reason = error instanceof KeonError ? error.message : String(error);
      const message = `container ${container.id} repos[${index}] '${repo.name}' (${redactUrl(repo.url)}): ${reason}`;
      if (repo.required === true) throw new KeonError("REPO_CLONE_FAILED", message, { cause: error, details: { container: container.id, repo: repo.name } });
      // Not required: the workload starts without it, and its log says why.
      const log = containerLogPathOf(runPath, scope, container.id);
      mkdirSync(dirname(log), { recursive: true });
      appendFileSync(log, `keon: ${message}; starting without it\n`);
    }
  }
  return out;
}

/** Clones of repos the container no longer declares (with their markers) go before it starts again. */
function removeDroppedRepos(runPath: string, scope: CellScope, container: ContainerSpec): void {
  const kept = new Set((container.repos ?? []).filter((r) => r.url).map((r) => r.name));
  const dir = containerReposDirOf(runPath, scope, container.id);
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) {
    // A repo's own entries: <name>, <name>.source.json, <name>.cloning, <name>.home (names never hold a dot).
    if (!kept.has(entry.split(".")[0] ?? "")) rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

/**
 * Clones `repo` into `dir`, or brings the clone of the same source that is
 * there up to date: a branch (or the remote's default) is fetched and
 * fast-forwarded, as kukeon does on a restart; a `ref` is a pin and never
 * moves. True when the checkout is new or moved (the caller hands it over).
 */
async function ensureCheckout(repo: ContainerRepo & { url: string }, dir: string, secrets: SecretValueSource | undefined): Promise<boolean> {
  const marker = `${dir}.source.json`;
  const source = sourceOf(repo);
  const kept = existsSync(join(dir, ".git")) && existsSync(marker) && readFileSync(marker, "utf8") === source;
  if (kept && repo.ref) return false;
  const token = repo.secretRef === undefined ? undefined : secrets?.secretData(repo.secretRef);
  if (repo.secretRef !== undefined && token === undefined) {
    throw new KeonError("SECRET_NOT_FOUND", `Secret ${repo.secretRef.name} of realm ${repo.secretRef.realm} is not stored`);
  }
  const staging = `${dir}.cloning`;
  const home = `${dir}.home`;
  const git = async (argv: string[]): Promise<string> => {
    const result = await runCommand(argv, { timeoutMs: GIT_TIMEOUT_MS, env: gitEnvironment(home, token) });
    if (result.exitCode === 0 && !result.timedOut) return result.stdout.trim();
    const why = result.timedOut ? `timed out after ${GIT_TIMEOUT_MS / 1000} s` : lastLines(result.stderr) || `exited ${result.exitCode}`;
    throw new KeonError("REPO_CLONE_FAILED", `git ${argv[1] === "-C" ? argv[3] : argv[1]} failed: ${redactText(why, repo.url, token)}`);
  };
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(home, { recursive: true, mode: 0o700 });
  try {
    if (kept) {
      const head = ["git", "-C", dir, "rev-parse", "HEAD"];
      const before = await git(head);
      for (const argv of refreshPlan(repo, dir)) await git(argv);
      return (await git(head)) !== before;
    }
    for (const argv of clonePlan(repo, staging)) await git(argv);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    writeFileSync(marker, source);
    return true;
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
}

/** git's last words (its stderr ends with the reason), one line. */
function lastLines(stderr: string): string {
  return stderr.trim().split("\n").slice(-2).join(" ").slice(0, 500);
}

/** Never a credential in a message: neither the URL's userinfo nor the token. */
function redactText(text: string, url: string, token: string | undefined): string {
  let out = text.split(url).join(redactUrl(url));
  if (token !== undefined && token !== "") out = out.split(token).join("<redacted>");
  return out;
}

/** The fresh clones become the container user's, so a non-root workload can write its checkout. */
export async function handOverRepos(dirs: readonly string[], owner: { uid: number; gid: number }): Promise<void> {
  if (owner.uid === 0 && owner.gid === 0) return;
  for (const dir of dirs) {
    const result = await runCommand(["chown", "-R", `${owner.uid}:${owner.gid}`, dir], { timeoutMs: 60_000 });
    if (result.exitCode !== 0) {
      // Without its source marker the next attempt clones afresh and hands it over again.
      rmSync(`${dir}.source.json`, { force: true });
      throw new KeonError("REPO_CLONE_FAILED", `cannot give ${dir} to uid ${owner.uid}: ${lastLines(result.stderr)}`);
    }
  }
}
