/**
 * @module
 * The optional TCP listener: the same API as the unix socket, but every
 * request must carry the bearer token (auth.ts), checked before the app sees
 * it.
 *
 * Bun.serve cannot cap the connections it accepts, so 20 000 idle clients
 * would take 20 000 of keond's file descriptors (issue 13: past the limit,
 * keond could no longer accept even on its unix socket). The TCP side is
 * therefore a node:net front, on its own Worker thread (tcp-front-worker.ts)
 * so a flood costs the main thread nothing, that counts connections: past
 * `maxConnections` a client is answered 503 and closed at once; below it,
 * its bytes are piped (with backpressure) to a Bun.serve on a private
 * root-only unix socket, where idle connections are closed and requests
 * capped like on the main socket (connection-guard.ts). A connection the
 * backend closes (idle, refused token) is closed on the client's side too.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { websocket } from "hono/bun";
import { KeonError } from "../model/errors.ts";
import { bearerIdentifier, requireIdentity, type TokenLookup } from "./auth.ts";
import { DEFAULT_MAX_REQUESTS, guardConnections, IDLE_TIMEOUT_SECONDS } from "./connection-guard.ts";
import { toErrorEnvelope } from "./error-envelope.ts";
import type { FrontReply, FrontStart, FrontStop } from "./tcp-front-worker.ts";
import { removeStaleSocket } from "./unix-listener.ts";

export const DEFAULT_MAX_CONNECTIONS = 1024;

export interface TcpListenOptions {
  hostname: string;
  /** 0 picks a free port (tests); read it back from `port`. */
  port: number;
  /** The legacy tokenFile token (every realm, read-write); optional when named tokens are used. */
  token?: string | undefined;
  /** Named tokens (the store's). */
  tokens?: TokenLookup | undefined;
  fetch: (request: Request, server?: unknown) => Response | Promise<Response>;
  /** Open connections past which a new one is answered 503 and closed. */
  maxConnections?: number;
  /** Requests in flight past which a request is answered 503. */
  maxRequests?: number;
  /** Seconds without a byte before a connection is closed (tests shorten it). */
  idleTimeoutSeconds?: number;
  /** Directory of the private backend socket (keond: its run path); default a fresh temporary one. */
  backendDir?: string;
  /** Told when the front's Worker dies (the TCP API is then down until keond restarts). */
  onFailure?: (message: string) => void;
  /** PEM certificate and key: serve TLS. Absent: plain HTTP (keond allows that on loopback only). */
  tls?: { cert: string; key: string } | undefined;
}

export interface TcpListener {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
}

/** The answer past the cap, written before the request is read: the client learns why, keond keeps no descriptor. */
function overloadedBytes(limit: number): string {
  const { body } = toErrorEnvelope(new KeonError("OVERLOADED", `keond holds ${limit} TCP connections already; try again shortly`, { details: { limit } }));
  const json = JSON.stringify(body);
  return [
    "HTTP/1.1 503 Service Unavailable", "content-type: application/json", "connection: close", "retry-after: 1",
    `content-length: ${Buffer.byteLength(json)}`, "", json,
  ].join("\r\n");
}

export async function listenTcp(options: TcpListenOptions): Promise<TcpListener> {
  const ownDir = options.backendDir === undefined;
  const dir = options.backendDir ?? mkdtempSync(join(tmpdir(), "keon-tcp-"));
  const backendPath = join(dir, "api-tcp-backend.sock");
  await removeStaleSocket(backendPath);
  const idle = options.idleTimeoutSeconds ?? IDLE_TIMEOUT_SECONDS;
  // Root only from the moment it exists: it skips nothing, but only the front should reach it.
  const previousUmask = process.umask(0o177);
  let backend: ReturnType<typeof Bun.serve>;
  try {
    const serveOptions = {
      unix: backendPath,
      // The front judges idleness (tcp-front-worker.ts): Bun 1.4.5 ignores server.timeout(request, 0)
      // on a unix socket, so an idle timeout here would cut `?wait`, log follow and exec.
      idleTimeout: 0,
      fetch: guardConnections(requireIdentity(bearerIdentifier(options.token, options.tokens), options.fetch), options.maxRequests ?? DEFAULT_MAX_REQUESTS),
      websocket,
      maxRequestBodySize: 16 * 1024 ** 3,
    };
    backend = Bun.serve(serveOptions as unknown as Bun.Serve.Options<undefined>);
  } finally {
    process.umask(previousUmask);
  }

  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const front = new Worker(new URL("./tcp-front-worker.ts", import.meta.url));
  const replies = (wanted: FrontReply["type"][]) => new Promise<FrontReply>((resolve) => {
    const listener = (event: MessageEvent<FrontReply>) => {
      if (!wanted.includes(event.data.type)) return;
      front.removeEventListener("message", listener);
      resolve(event.data);
    };
    front.addEventListener("message", listener);
  });
  const started = replies(["listening", "failed"]);
  front.postMessage({
    type: "start", hostname: options.hostname, port: options.port, backendPath, maxConnections, idleTimeoutMs: idle * 1000,
    refusal: overloadedBytes(maxConnections),
    tls: options.tls,
  } satisfies FrontStart);
  // A dead front is not restarted (the socket still serves the administrator); keond logs it loudly.
  front.addEventListener("error", (event) => options.onFailure?.(`the TCP front stopped: ${(event as ErrorEvent).message}`));
  const reply = await started;
  if (reply.type !== "listening") {
    front.terminate();
    await backend.stop(true);
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    const message = reply.type === "failed" ? reply.message : "the TCP front stopped";
    throw new KeonError("INVALID_CONFIGURATION", `cannot listen on ${options.hostname}:${options.port}: ${message}`);
  }
  return {
    hostname: options.hostname,
    port: reply.port,
    async stop(closeActiveConnections = false) {
      const stopped = replies(["stopped"]);
      front.postMessage({ type: "stop", closeActiveConnections } satisfies FrontStop);
      await Promise.race([stopped, Bun.sleep(2_000)]);
      front.terminate();
      await backend.stop(closeActiveConnections);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
