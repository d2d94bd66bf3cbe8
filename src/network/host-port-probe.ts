/**
 * @module
 * Whether a host process already holds a port a cell wants to publish.
 * portmap publishes with DNAT rules, not sockets, so nothing stops it from
 * silently taking a host service's traffic; a bind attempt is the one
 * reliable question to ask the kernel (a listener on any address conflicts
 * with a bind on the wildcard one). The probe socket is closed at once.
 */
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { KeonError } from "../model/errors.ts";
import type { PortMapping } from "./ports.ts";

/** "in-use" when a host socket holds it; "free" otherwise (an address that is not the host's is not ours to judge). */
export async function probeHostPort(mapping: PortMapping): Promise<"free" | "in-use"> {
  const host = mapping.hostIP ?? "0.0.0.0";
  const code = await new Promise<string | undefined>((resolve) => {
    if (mapping.protocol === "udp") {
      const socket = createSocket({ type: "udp4", reuseAddr: false });
      socket.once("error", (error: NodeJS.ErrnoException) => {
        socket.close();
        resolve(error.code ?? "ERROR");
      });
      socket.bind({ address: host, port: mapping.hostPort, exclusive: true }, () => socket.close(() => resolve(undefined)));
      return;
    }
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "ERROR"));
    server.listen({ host, port: mapping.hostPort, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
  return code === "EADDRINUSE" ? "in-use" : "free";
}

/** CONFLICT naming the first port a host process holds: the cell is not started (and retried) rather than stealing it. */
export async function refuseHostPortsInUse(mappings: readonly PortMapping[]): Promise<void> {
  for (const mapping of mappings) {
    if ((await probeHostPort(mapping)) === "in-use") {
      const where = `${mapping.hostIP ?? "0.0.0.0"}:${mapping.hostPort}/${mapping.protocol}`;
      throw new KeonError("CONFLICT", `host port ${where} is in use by a process on the host; publishing it would take that process's traffic`, {
        details: { field: "ports", hostPort: mapping.hostPort, protocol: mapping.protocol, hostIP: mapping.hostIP ?? "0.0.0.0" },
      });
    }
  }
}
