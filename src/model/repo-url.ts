/**
 * @module
 * Which clone URLs a container's `repos[]` may name, and which of them read
 * the host's own files (a `file://` URL or a plain path: Keon clones as root
 * on the host, so these fall under the realm policy's host path prefixes
 * like a bind mount). git's `ext::` and other helper transports are refused
 * outright. Pure.
 */

const REMOTE = /^(https?|ssh|git):\/\/[^\s]+$/;
/** scp-like `user@host:path` (git's ssh shorthand). */
const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$/;

/** The host path a local URL reads, or undefined for a remote one. */
export function localRepoPath(url: string): string | undefined {
  if (url.startsWith("file://")) return decodeURIComponent(url.slice("file://".length));
  if (url.startsWith("/")) return url;
  return undefined;
}

/** Why a URL is refused, or undefined when git may clone it. */
export function repoUrlProblem(url: string): string | undefined {
  const local = localRepoPath(url);
  if (local !== undefined) {
    return local.startsWith("/") && !local.split("/").includes("..") ? undefined : "a local repository must be an absolute path without '..'";
  }
  if (REMOTE.test(url) || SCP_LIKE.test(url)) return undefined;
  return "must be an https://, http://, ssh://, git:// or file:// URL, user@host:path, or an absolute path";
}

/** The URL as it may appear in a message or log: any user:password@ removed. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^/@\s]*@/i, "$1");
}
