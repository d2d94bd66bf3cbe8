/**
 * @module
 * Serves the API on a unix socket the way an operator expects: a stale
 * socket left by a crashed keond is removed, a live one is never stolen, and
 * the socket is 0660 and owned by the API group whatever the umask says.
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { connect } from "node:net";
import { dirname } from "node:path";
import type { Server } from "bun";
import { KeonError } from "../model/errors.ts";

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

export interface UnixListenOptions {
  path: string;
  /** Numeric gid that may use the socket; undefined leaves root's group. */
  gid?: number;
  fetch: (request: Request) => Response | Promise<Response>;
}

export async function listenUnix(options: UnixListenOptions): Promise<Server<undefined>> {
  mkdirSync(dirname(options.path), { recursive: true, mode: 0o755 });
  await removeStaleSocket(options.path);
  // Bun's default 10 s idle timeout would cut SSE and log-follow streams.
  // bun-types 1.4.5 declares idleTimeout only for TCP listeners although the
  // runtime applies it to unix sockets too, hence the widened options type.
  const serveOptions = { unix: options.path, fetch: options.fetch, idleTimeout: 0 };
  const server = Bun.serve(serveOptions as unknown as Bun.Serve.Options<undefined>);
  // The socket's mode follows the umask at bind time; set it explicitly.
  chmodSync(options.path, 0o660);
  if (options.gid !== undefined) chownSync(options.path, 0, options.gid);
  return server;
}
