/**
 * @module
 * How keon trusts keond's TCP certificate: the system's CAs, a CA file
 * (`--tls-ca`, KEON_TLS_CA), or a pinned SHA-256 fingerprint
 * (`--tls-fingerprint`, KEON_TLS_FINGERPRINT; `keon status` on the host
 * prints it). Pinning fetches the server's certificate once, compares its
 * fingerprint, and then trusts that certificate alone for the requests (so
 * a different certificate on a later connection fails verification).
 */
import { readFileSync } from "node:fs";
import { connect } from "node:tls";
import { CliError } from "./errors.ts";

export interface TlsTrust {
  caFile?: string | undefined;
  fingerprint?: string | undefined;
}

/** `sha256:aa:bb…`, `AABB…` and `AA:BB:…` all become `AA:BB:…`. */
export function normalizeFingerprint(text: string): string {
  const hex = text.trim().replace(/^sha256:/i, "").replace(/[:\s]/g, "").toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) throw new CliError("usage", `--tls-fingerprint: expected a SHA-256 fingerprint (64 hex digits, colons allowed), got '${text.slice(0, 100)}'`);
  return hex.match(/../g)!.join(":");
}

function peerCertificate(host: string, port: number): Promise<{ pem: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false, servername: /^[\d.]+$|:/.test(host) ? undefined : host }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.destroy();
      if (cert === undefined) reject(new CliError("unreachable", `keond at ${host}:${port} presented no certificate`));
      else resolve({ pem: cert.toString(), fingerprint: cert.fingerprint256 });
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error("TLS handshake timed out")));
    socket.on("error", (cause) => reject(new CliError("unreachable", `cannot reach keond at ${host}:${port}: ${cause.message}`, { cause })));
  });
}

/** Bun fetch's `tls` options for `baseUrl` (an https URL). */
export async function tlsOptionsFor(baseUrl: string, trust: TlsTrust): Promise<Record<string, unknown>> {
  if (trust.fingerprint !== undefined && trust.fingerprint !== "") {
    const pinned = normalizeFingerprint(trust.fingerprint);
    const url = new URL(baseUrl);
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const peer = await peerCertificate(host, Number(url.port || 443));
    if (peer.fingerprint !== pinned) {
      throw new CliError("failed", `keond's certificate at ${url.host} has fingerprint ${peer.fingerprint}, not the pinned ${pinned}: refusing to send the token`);
    }
    // Only that certificate is trusted; the name check is the pin's, so an address not in the certificate works.
    return { ca: peer.pem, checkServerIdentity: () => undefined };
  }
  if (trust.caFile !== undefined && trust.caFile !== "") {
    try {
      return { ca: readFileSync(trust.caFile, "utf8") };
    } catch (cause) {
      throw new CliError("usage", `--tls-ca: cannot read ${trust.caFile}: ${(cause as Error).message}`, { cause });
    }
  }
  return {};
}
