/**
 * @module
 * The TCP listener's certificate and key: the configured pair, or a
 * self-signed one made with openssl under `<runPath>/tls` on first start
 * (P-256, ten years, names: localhost, 127.0.0.1, ::1, the host's name and
 * the listen address), kept 0600 and reused afterwards. Its SHA-256
 * fingerprint is what `keon status` prints and `keon --tls-fingerprint` pins.
 */
import { X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { isIP } from "node:net";
import { join } from "node:path";
import { KeonError } from "../model/errors.ts";

export interface TlsMaterial {
  cert: string;
  key: string;
  /** `AA:BB:…`, SHA-256 of the certificate. */
  fingerprint: string;
  certFile: string;
}

const OPENSSL_TIMEOUT_MS = 30_000;

/** subjectAltName entries for a self-signed certificate. */
export function altNames(listenHost: string, host = hostname()): string {
  const names = new Set(["DNS:localhost", "IP:127.0.0.1", "IP:::1"]);
  if (/^[A-Za-z0-9.-]+$/.test(host)) names.add(`DNS:${host}`);
  if (listenHost !== "0.0.0.0" && listenHost !== "::") names.add(isIP(listenHost) ? `IP:${listenHost}` : `DNS:${listenHost}`);
  return [...names].join(",");
}

async function generate(certFile: string, keyFile: string, listenHost: string): Promise<void> {
  const child = Bun.spawn([
    "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
    "-subj", "/CN=keond", "-addext", `subjectAltName=${altNames(listenHost)}`, "-keyout", keyFile, "-out", certFile,
  ], { stdin: "ignore", stdout: "ignore", stderr: "pipe", timeout: OPENSSL_TIMEOUT_MS, killSignal: "SIGKILL" });
  const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  if (code !== 0) throw new KeonError("COMMAND_FAILED", `openssl could not make keond's TLS certificate (exit ${code}): ${stderr.trim().slice(0, 300)}`);
  chmodSync(keyFile, 0o600);
}

export async function loadTlsMaterial(options: { certFile: string; keyFile: string; runPath: string; listenHost: string }): Promise<TlsMaterial> {
  let { certFile, keyFile } = options;
  if (certFile === "") {
    const dir = join(options.runPath, "tls");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    certFile = join(dir, "keond.crt");
    keyFile = join(dir, "keond.key");
    if (!existsSync(certFile) || !existsSync(keyFile)) await generate(certFile, keyFile, options.listenHost);
  }
  try {
    const cert = readFileSync(certFile, "utf8");
    const key = readFileSync(keyFile, "utf8");
    return { cert, key, fingerprint: new X509Certificate(cert).fingerprint256, certFile };
  } catch (cause) {
    throw new KeonError("INVALID_CONFIGURATION", `cannot read the TLS certificate ${certFile} and key: ${(cause as Error).message}`, { cause, details: { field: "tlsCertFile" } });
  }
}
