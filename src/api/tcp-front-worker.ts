/**
 * @module
 * Worker entry of the TCP front (tcp-listener.ts): accepts TCP (or TLS)
 * connections on its own thread, so a flood of clients (accepted, refused
 * past the cap, closed) costs the main thread nothing; it only ever sees
 * the connections piped through to its backend socket.
 *
 * Connections are counted when accepted, before any TLS handshake: past
 * `maxConnections` a plain client is answered 503, a TLS one is closed (it
 * has no channel for an answer yet), and either costs keond no descriptor.
 * Below it, bytes are piped both ways with backpressure. Idleness is judged
 * here, not by the backend: a client that completes no handshake, or moves
 * no byte either way, within the idle timeout is closed, unless it carries a
 * request that is quiet on purpose (LONG_LIVED). Bun 1.4.5 neither fires
 * idleTimeout before a connection's first byte nor honours
 * `server.timeout(request, 0)` on a unix socket.
 */
import { createServer, connect, type AddressInfo, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { LONG_LIVED } from "./connection-guard.ts";

declare const self: Worker;

export interface FrontStart {
  type: "start";
  hostname: string;
  port: number;
  backendPath: string;
  maxConnections: number;
  idleTimeoutMs: number;
  /** The raw 503 answer, built on the main thread from the API's one envelope. */
  refusal: string;
  /** PEM certificate and key: TLS; absent: plain HTTP (loopback only, config.ts says so). */
  tls?: { cert: string; key: string } | undefined;
}

export interface FrontStop {
  type: "stop";
  closeActiveConnections: boolean;
}

export type FrontReply = { type: "listening"; port: number } | { type: "failed"; message: string } | { type: "stopped" };

function start(options: FrontStart): void {
  const open = new Set<Socket>();
  const refused = new WeakSet<Socket>();
  const server = options.tls === undefined
    ? createServer()
    : createTlsServer({ cert: options.tls.cert, key: options.tls.key, handshakeTimeout: options.idleTimeoutMs });

  // Every accepted socket, TLS or not, before its handshake.
  server.on("connection", (raw: Socket) => {
    raw.on("error", () => raw.destroy());
    if (open.size >= options.maxConnections) {
      refused.add(raw);
      if (options.tls === undefined) raw.end(options.refusal, () => raw.destroy());
      else raw.destroy();
      return;
    }
    open.add(raw);
    raw.on("close", () => open.delete(raw));
  });

  const serve = (client: Socket) => {
    if (refused.has(client)) return;
    client.on("error", () => client.destroy());
    // Idle both ways (node counts reads and writes) for the timeout: closed, unless the
    // connection carries a request that is quiet on purpose (then it is the request's own deadline).
    client.setTimeout(options.idleTimeoutMs);
    client.on("timeout", () => client.destroy());
    const watch = (chunk: Buffer) => {
      if (!LONG_LIVED.test(chunk.toString("latin1", 0, Math.min(chunk.length, 16 * 1024)))) return;
      client.setTimeout(0);
      client.off("data", watch);
    };
    client.on("data", watch);
    const upstream = connect(options.backendPath);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on("error", close);
    upstream.on("close", close);
    client.on("close", close);
    client.pipe(upstream);
    upstream.pipe(client);
  };
  server.on(options.tls === undefined ? "connection" : "secureConnection", serve);
  // A failed handshake (wrong CA on the client's side, garbage) only ends that connection.
  server.on("tlsClientError", (_error: Error, socket: Socket) => socket.destroy());

  server.once("error", (error) => self.postMessage({ type: "failed", message: error.message } satisfies FrontReply));
  server.listen(options.port, options.hostname, () => {
    self.postMessage({ type: "listening", port: (server.address() as AddressInfo).port } satisfies FrontReply);
  });
  self.onmessage = (event: MessageEvent<FrontStop>) => {
    if (event.data.type !== "stop") return;
    server.close();
    if (event.data.closeActiveConnections) for (const socket of open) socket.destroy();
    self.postMessage({ type: "stopped" } satisfies FrontReply);
  };
}

self.onmessage = (event: MessageEvent<FrontStart>) => {
  if (event.data.type === "start") start(event.data);
};
