/**
 * @module
 * Serves the API on a unix socket the way an operator expects: a stale
 * socket left by a crashed keond is removed, a live one is never stolen, and
 * the socket is 0660 and owned by root and the API group whatever the umask
 * says. The group is created (a system group) when the host lacks it.
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, unlinkSync } from "node:fs";
import { connect } from "node:net";
import { dirname } from "node:path";
import type { Server } from "bun";
import { websocket } from "hono/bun";
import { KeonError } from "../model/errors.ts";
import { DEFAULT_MAX_REQUESTS, guardConnections } from "./connection-guard.ts";

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(path);
    const done = (answer: boolean) => {
      sock.destroy();
      resolve(answer);
    };
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
    setTimeout(() => done(false), 1000).unref();
  });
}

export async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) {
    throw new KeonError("INVALID_CONFIGURATION", `socket path ${path} exists and is not a socket`);
  }
  if (await socketAnswers(path)) {
    throw new KeonError("CONFLICT", `another keond is already listening on ${path}`);
  }
  unlinkSync(path);
}

/** groupadd's rule for system group names (Debian NAME_REGEX_SYSTEM); anything else never reaches the command line. */
const GROUP_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const GROUPADD_TIMEOUT_MS = 10_000;
/** groupadd's exit status when the name is taken: another process created it between our read and our call. */
const GROUPADD_NAME_IN_USE = 9;

/**
 * The gid of `name` in /etc/group, undefined when it has none. Only the
 * local file counts: the group keond creates lives there, and a socket
 * group that exists only in LDAP would vanish with the network.
 */
export function localGroupId(name: string, groupFile = "/etc/group"): number | undefined {
  for (const line of readFileSync(groupFile, "utf8").split("\n")) {
    const [groupName, , gid] = line.split(":");
    if (groupName === name && gid !== undefined && /^[0-9]+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

/**
 * groupadd (shadow 4.13) checks that a name is free before it takes its lock,
 * so two concurrent calls can both go ahead; calls within this process share
 * one attempt per name.
 */
const pendingGroups = new Map<string, Promise<number>>();

/** The gid of `name`, creating it as a system group with groupadd when absent. Idempotent. */
export function ensureGroup(name: string): Promise<number> {
  const pending = pendingGroups.get(name);
  if (pending !== undefined) return pending;
  const attempt = createGroupIfAbsent(name).finally(() => pendingGroups.delete(name));
  pendingGroups.set(name, attempt);
  return attempt;
}

async function createGroupIfAbsent(name: string): Promise<number> {
  if (!GROUP_NAME.test(name)) {
    throw new KeonError("INVALID_CONFIGURATION", `socket group '${name}' is not a valid group name`, { details: { field: "socketGroup" } });
  }
  const existing = localGroupId(name);
  if (existing !== undefined) return existing;
  const child = Bun.spawn(["groupadd", "--system", name], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
    timeout: GROUPADD_TIMEOUT_MS,
    killSignal: "SIGKILL",
    // keond under systemd may have a minimal PATH; groupadd lives in /usr/sbin.
    env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" },
  });
  const [exitCode, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  const created = localGroupId(name);
  if (created !== undefined && (exitCode === 0 || exitCode === GROUPADD_NAME_IN_USE)) return created;
  const how = child.signalCode !== null ? `was killed by ${child.signalCode} (timeout ${GROUPADD_TIMEOUT_MS} ms)` : `exited ${exitCode}`;
  throw new KeonError("COMMAND_FAILED", `groupadd --system ${name} ${how}${stderr.trim() ? `: ${stderr.trim()}` : ""}`, {
    details: { command: "groupadd", args: ["--system", name], exitCode, stderr: stderr.trim() },
  });
}

export interface UnixListenOptions {
  path: string;
  /**
   * Group whose members may use the socket (root:<group>, 0660); created as a
   * system group when absent. Undefined or empty leaves root's group.
   */
  group?: string | undefined;
  /** Numeric gid instead of a group name; `group` wins when both are given. */
  gid?: number | undefined;
  fetch: (request: Request, server?: unknown) => Response | Promise<Response>;
  /** Requests in flight past which a request is answered 503. */
  maxRequests?: number;
  /** Seconds without a byte before a connection is closed; default 0 (never: see listenUnix). */
  idleTimeoutSeconds?: number;
}

/** The socket's final mode: bound under a umask that yields it, so it is never looser, even for an instant. */
const SOCKET_MODE = 0o660;

export async function listenUnix(options: UnixListenOptions): Promise<Server<undefined>> {
  // Before binding: a group that cannot be had must not leave a socket behind.
  const gid = options.group ? await ensureGroup(options.group) : options.gid;
  mkdirSync(dirname(options.path), { recursive: true, mode: 0o755 });
  await removeStaleSocket(options.path);
  // No idle timeout on the administrator's socket: Bun 1.4.5 ignores server.timeout(request, 0) on a
  // unix socket, so one would cut `?wait`, log follow and exec; its clients are the host's administrators
  // (TCP clients are judged by the TCP front instead). bun-types 1.4.5 declares idleTimeout only for
  // TCP listeners although the runtime applies it to unix sockets too, hence the widened options type.
  const serveOptions = {
    unix: options.path,
    fetch: guardConnections(options.fetch, options.maxRequests ?? DEFAULT_MAX_REQUESTS),
    idleTimeout: options.idleTimeoutSeconds ?? 0,
    websocket,
    maxRequestBodySize: 16 * 1024 ** 3,
  };
  // The socket's mode follows the umask at bind time: bind under one that
  // gives SOCKET_MODE, so no other user can connect between bind and chmod.
  const previousUmask = process.umask(0o777 & ~SOCKET_MODE);
  let server: Server<undefined>;
  try {
    server = Bun.serve(serveOptions as unknown as Bun.Serve.Options<undefined>);
  } finally {
    process.umask(previousUmask);
  }
  try {
    // Also set explicitly: a umask can only take bits away.
    chmodSync(options.path, SOCKET_MODE);
    if (gid !== undefined) chownSync(options.path, 0, gid);
  } catch (cause) {
    void server.stop(true);
    throw new KeonError("INVALID_CONFIGURATION", `cannot set owner and mode of ${options.path}: ${(cause as Error).message}`, { cause });
  }
  return server;
}
