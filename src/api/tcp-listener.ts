/**
 * @module
 * The optional TCP listener: the same API as the unix socket, but every
 * request must carry the bearer token (auth.ts), checked before the app sees
 * it.
 *
 * Bun.serve cannot cap the connections it accepts, so 20 000 idle clients
 * would take 20 000 of keond's file descriptors (issue 13: past the limit,
 * keond could no longer accept even on its unix socket). The TCP side is
 * therefore a node:net front that counts connections: past
 * `maxConnections` a client is answered 503 and closed at once; below it,
 * its bytes are piped (with backpressure) to a Bun.serve on a private
 * root-only unix socket, where idle connections are closed and requests
 * capped like on the main socket (connection-guard.ts). A connection the
 * backend closes (idle, refused token) is closed on the client's side too.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { websocket } from "hono/bun";
import { KeonError } from "../model/errors.ts";
import { requireBearerToken } from "./auth.ts";
import { DEFAULT_MAX_REQUESTS, guardConnections, IDLE_TIMEOUT_SECONDS } from "./connection-guard.ts";
import { toErrorEnvelope } from "./error-envelope.ts";
import { removeStaleSocket } from "./unix-listener.ts";

export const DEFAULT_MAX_CONNECTIONS = 1024;

export interface TcpListenOptions {
  hostname: string;
  /** 0 picks a free port (tests); read it back from `port`. */
  port: number;
  token: string;
  fetch: (request: Request, server?: unknown) => Response | Promise<Response>;
  /** Open connections past which a new one is answered 503 and closed. */
  maxConnections?: number;
  /** Requests in flight past which a request is answered 503. */
  maxRequests?: number;
  /** Seconds without a byte before a connection is closed (tests shorten it). */
  idleTimeoutSeconds?: number;
  /** Directory of the private backend socket (keond: its run path); default a fresh temporary one. */
  backendDir?: string;
}

export interface TcpListener {
  readonly hostname: string;
  readonly port: number;
  /** Open client connections right now. */
  connections(): number;
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
  // Root only from the moment it exists: it skips nothing, but only the front should reach it.
  const previousUmask = process.umask(0o177);
  let backend: ReturnType<typeof Bun.serve>;
  try {
    const serveOptions = {
      unix: backendPath,
      idleTimeout: options.idleTimeoutSeconds ?? IDLE_TIMEOUT_SECONDS,
      fetch: guardConnections(requireBearerToken(options.token, options.fetch), options.maxRequests ?? DEFAULT_MAX_REQUESTS),
      websocket,
      maxRequestBodySize: 16 * 1024 ** 3,
    };
    backend = Bun.serve(serveOptions as unknown as Bun.Serve.Options<undefined>);
  } finally {
    process.umask(previousUmask);
  }

  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const refusal = overloadedBytes(maxConnections);
  const clients = new Set<Socket>();
  const front = createServer((client) => {
    client.on("error", () => client.destroy());
    if (clients.size >= maxConnections) {
      client.end(refusal);
      // A client that never reads must not keep the refused socket open either.
      setTimeout(() => client.destroy(), 1_000).unref();
      return;
    }
    clients.add(client);
    const upstream = connect(backendPath);
    const close = () => {
      clients.delete(client);
      client.destroy();
      upstream.destroy();
    };
    upstream.on("error", close);
    upstream.on("close", close);
    client.on("close", close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      front.once("error", reject);
      front.listen(options.port, options.hostname, () => {
        front.off("error", reject);
        resolve();
      });
    });
  } catch (cause) {
    await backend.stop(true);
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw new KeonError("INVALID_CONFIGURATION", `cannot listen on ${options.hostname}:${options.port}: ${(cause as Error).message}`, { cause });
  }
  const port = (front.address() as AddressInfo).port;
  return {
    hostname: options.hostname,
    port,
    connections: () => clients.size,
    async stop(closeActiveConnections = false) {
      front.close();
      if (closeActiveConnections) for (const client of clients) client.destroy();
      await backend.stop(closeActiveConnections);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
