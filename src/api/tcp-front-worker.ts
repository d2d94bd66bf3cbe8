/**
 * @module
 * Worker entry of the TCP front (tcp-listener.ts): accepts TCP connections
 * on its own thread, so a flood of clients (accepted, refused past the cap,
 * closed) costs the main thread nothing; it only ever sees the connections
 * piped through to its backend socket.
 *
 * Past `maxConnections` a client is answered 503 and closed at once. Below
 * it, bytes are piped both ways with backpressure; a client that sends no
 * byte within the idle timeout is closed here (Bun 1.4.5's idleTimeout never
 * fires on a connection that has not sent a byte), later idleness is the
 * backend's to judge (it knows which requests are long on purpose).
 */
import { createServer, connect, type AddressInfo, type Socket } from "node:net";

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
}

export interface FrontStop {
  type: "stop";
  closeActiveConnections: boolean;
}

export type FrontReply = { type: "listening"; port: number } | { type: "failed"; message: string } | { type: "stopped" };

function start(options: FrontStart): void {
  const clients = new Set<Socket>();
  const front = createServer((client) => {
    client.on("error", () => client.destroy());
    if (clients.size >= options.maxConnections) {
      client.end(options.refusal, () => client.destroy());
      return;
    }
    clients.add(client);
    client.setTimeout(options.idleTimeoutMs);
    client.once("timeout", () => client.destroy());
    client.once("data", () => client.setTimeout(0));
    const upstream = connect(options.backendPath);
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
  front.once("error", (error) => self.postMessage({ type: "failed", message: error.message } satisfies FrontReply));
  front.listen(options.port, options.hostname, () => {
    self.postMessage({ type: "listening", port: (front.address() as AddressInfo).port } satisfies FrontReply);
  });
  self.onmessage = (event: MessageEvent<FrontStop>) => {
    if (event.data.type !== "stop") return;
    front.close();
    if (event.data.closeActiveConnections) for (const client of clients) client.destroy();
    self.postMessage({ type: "stopped" } satisfies FrontReply);
  };
}

self.onmessage = (event: MessageEvent<FrontStart>) => {
  if (event.data.type === "start") start(event.data);
};
