/**
 * @module
 * A container's `git{}` as the environment git reads natively: the author
 * and committer identities (GIT_AUTHOR_*, GIT_COMMITTER_*) and config
 * entries through GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n
 * (git 2.31+), so no file in the image is touched. The signing key is a path
 * inside the container, typically a secret mounted as a file. Pure.
 */
import type { ContainerGit } from "../model/schema/container-git.ts";

/** The config entries `git{}` stands for, in a fixed order. */
export function gitConfigEntries(git: ContainerGit): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  if (git.signingKey) {
    entries.push(["gpg.format", "ssh"], ["user.signingkey", git.signingKey]);
  }
  if (git.sign?.includes("commits")) entries.push(["commit.gpgsign", "true"]);
  if (git.sign?.includes("tags")) entries.push(["tag.gpgsign", "true"]);
  if (git.allowedSigners) entries.push(["gpg.ssh.allowedSignersFile", git.allowedSigners]);
  return entries;
}

/** `KEY=VALUE` entries for the process env; empty without `git{}`. */
export function gitEnv(git: ContainerGit | undefined): string[] {
  if (git === undefined) return [];
  const env: string[] = [];
  if (git.author) env.push(`GIT_AUTHOR_NAME=${git.author.name}`, `GIT_AUTHOR_EMAIL=${git.author.email}`);
  if (git.committer) env.push(`GIT_COMMITTER_NAME=${git.committer.name}`, `GIT_COMMITTER_EMAIL=${git.committer.email}`);
  const entries = gitConfigEntries(git);
  if (entries.length > 0) {
    env.push(`GIT_CONFIG_COUNT=${entries.length}`);
    entries.forEach(([key, value], i) => env.push(`GIT_CONFIG_KEY_${i}=${key}`, `GIT_CONFIG_VALUE_${i}=${value}`));
  }
  return env;
}
