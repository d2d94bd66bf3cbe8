/**
 * @module
 * The two ends of bench/egress.ts's throughput run, started inside their
 * network namespaces (`ip netns exec <ns> bun bench/egress-peer.ts …`):
 *   server <port>               prints "ready", then the bytes received when the sender closes
 *   client <host> <port> <bytes> sends that many zero bytes with backpressure, prints the ms taken
 * busybox nc is not used: Debian's busybox-static nc stops after a few KiB of piped input.
 */
export {};

const [mode, ...args] = process.argv.slice(2);

if (mode === "server") {
  let received = 0;
  const server = Bun.listen({
    hostname: "0.0.0.0",
    port: Number(args[0]),
    socket: {
      data: (_socket, data) => {
        received += data.length;
      },
      close: () => {
        console.log(received);
        server.stop(true);
        process.exit(0);
      },
    },
  });
  console.log("ready");
} else if (mode === "client") {
  const [host, port, bytes] = [args[0]!, Number(args[1]), Number(args[2])];
  const chunk = new Uint8Array(1 << 20);
  let sent = 0;
  const begun = performance.now();
  await new Promise<void>((resolve, reject) => {
    const pump = (socket: { write(data: Uint8Array): number; end(): void }) => {
      while (sent < bytes) {
        const want = Math.min(chunk.length, bytes - sent);
        const wrote = socket.write(chunk.subarray(0, want));
        sent += wrote;
        if (wrote < want) return;
      }
      socket.end();
    };
    void Bun.connect({
      hostname: host,
      port,
      socket: { open: pump, drain: pump, close: () => resolve(), error: (_s, e) => reject(e), connectError: (_s, e) => reject(e) },
    });
  });
  console.log((performance.now() - begun).toFixed(3));
} else {
  console.error("usage: egress-peer.ts server <port> | client <host> <port> <bytes>");
  process.exit(2);
}
