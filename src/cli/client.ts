/**
 * @module
 * keon's only way to the host: keond's HTTP API over its unix socket (the
 * default) or over TCP with a bearer token. Connection failures become
 * "unreachable" errors (exit 3) that say how to start keond; API error
 * envelopes become one-line failures carrying the API's code and field paths.
 */
import { CliError } from "./errors.ts";
import { tlsOptionsFor, type TlsTrust } from "./tls.ts";

export const DEFAULT_SOCKET = "/run/keon/keond.sock";

export type Endpoint =
  | { transport: "unix"; socket: string }
  | { transport: "tcp"; baseUrl: string; token: string | undefined; tls?: TlsTrust };

export interface EndpointInput {
  socket?: string | undefined;
  host?: string | undefined;
  token?: string | undefined;
  tlsCa?: string | undefined;
  tlsFingerprint?: string | undefined;
}

/**
 * Flags win over the environment (KEON_SOCKET, KEON_HOST, KEON_TOKEN,
 * KEON_TLS_CA, KEON_TLS_FINGERPRINT). A host is `tcp://h:p` or a bare `h:p`
 * (TLS, as keond serves it, except plain HTTP on a loopback address unless
 * a trust flag is given), `https://h:p`, `http://h:p`, or `unix:///path`.
 */
export function resolveEndpoint(flags: EndpointInput, env: Record<string, string | undefined>): Endpoint {
  const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === "" ? undefined : v);
  const token = nonEmpty(flags.token) ?? nonEmpty(env["KEON_TOKEN"]);
  const socket = nonEmpty(flags.socket);
  const host = socket === undefined ? (nonEmpty(flags.host) ?? nonEmpty(env["KEON_HOST"])) : undefined;
  if (host === undefined) return { transport: "unix", socket: socket ?? nonEmpty(env["KEON_SOCKET"]) ?? DEFAULT_SOCKET };
  if (host.startsWith("unix://")) return { transport: "unix", socket: host.slice("unix://".length) };
  if (host.startsWith("/")) return { transport: "unix", socket: host };
  let base = host;
  const tlsCa = nonEmpty(flags.tlsCa) ?? nonEmpty(env["KEON_TLS_CA"]);
  const tlsFingerprint = nonEmpty(flags.tlsFingerprint) ?? nonEmpty(env["KEON_TLS_FINGERPRINT"]);
  if (base.startsWith("tcp://")) base = base.slice("tcp://".length);
  if (!/^https?:\/\//.test(base)) {
    // keond's `tcpTls: auto`: TLS, except on loopback; a trust flag asks for TLS anywhere.
    const hostname = /^\[?([^\]]*?)\]?(:\d+)?$/.exec(base.split("/")[0] ?? "")?.[1] ?? "";
    const plain = isLoopbackHost(hostname) && tlsCa === undefined && tlsFingerprint === undefined;
    base = `${plain ? "http" : "https"}://${base}`;
  }
  try {
    const url = new URL(base);
    const tls = tlsCa === undefined && tlsFingerprint === undefined ? {} : { tls: { caFile: tlsCa, fingerprint: tlsFingerprint } };
    return { transport: "tcp", baseUrl: `${url.protocol}//${url.host}`, token, ...tls };
  } catch {
    throw new CliError("usage", `invalid host '${host}': expected tcp://HOST:PORT, http(s)://HOST:PORT or unix:///PATH`);
  }
}

/** 127.0.0.0/8, ::1 and localhost (keond's config.ts isLoopback, kept apart: the CLI imports nothing of the daemon). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

export function describeEndpoint(endpoint: Endpoint): string {
  return endpoint.transport === "unix" ? `unix://${endpoint.socket}` : endpoint.baseUrl;
}

/** How to bring keond up, for the "unreachable" message. */
export function startHint(endpoint: Endpoint): string {
  if (endpoint.transport === "tcp") return "check that keond listens on TCP there and that KEON_TOKEN is its token";
  return endpoint.socket === DEFAULT_SOCKET
    ? "start it with `systemctl start keond` or, without systemd, run `sudo keond` in another terminal"
    : `start it with \`sudo keond --socket ${endpoint.socket}\``;
}

export interface RequestOptions {
  query?: URLSearchParams | Record<string, string | undefined>;
  body?: RequestInit["body"];
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

interface ErrorEnvelope {
  error?: { code?: unknown; message?: unknown; details?: unknown };
}

export class ApiClient {
  /** The TLS trust, worked out once (a pinned fingerprint costs one handshake). */
  private tls: Promise<Record<string, unknown>> | undefined;

  constructor(readonly endpoint: Endpoint) {}

  url(path: string, query?: RequestOptions["query"]): string {
    const base = this.endpoint.transport === "unix" ? "http://keond" : this.endpoint.baseUrl;
    const params = query instanceof URLSearchParams ? query : new URLSearchParams(definedEntries(query ?? {}));
    const text = params.toString();
    return `${base}${path}${text === "" ? "" : `?${text}`}`;
  }

  /** The raw response of any status; throws only when keond cannot be reached. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.endpoint.transport === "tcp" && this.endpoint.token !== undefined) {
      headers["authorization"] = `Bearer ${this.endpoint.token}`;
    }
    const init: RequestInit & { unix?: string; tls?: Record<string, unknown> } = { method, headers };
    if (this.endpoint.transport === "tcp" && this.endpoint.baseUrl.startsWith("https:")) {
      this.tls ??= tlsOptionsFor(this.endpoint.baseUrl, this.endpoint.tls ?? {});
      init.tls = await this.tls;
    }
    if (options.body !== undefined) init.body = options.body;
    if (options.signal !== undefined) init.signal = options.signal;
    if (this.endpoint.transport === "unix") init.unix = this.endpoint.socket;
    try {
      return await fetch(this.url(path, options.query), init);
    } catch (cause) {
      if ((cause as Error).name === "AbortError") throw cause;
      throw this.unreachable(cause);
    }
  }

  unreachable(cause: unknown): CliError {
    const code = (cause as { code?: unknown }).code;
    const where = describeEndpoint(this.endpoint);
    let why: string;
    if (code === "ENOENT") why = "no socket there";
    else if (code === "ECONNREFUSED") why = "connection refused";
    else if (code === "EACCES" || code === "EPERM") {
      return new CliError("unreachable", `cannot reach keond at ${where}: permission denied; run keon as root or as a member of the socket's group (keon)`, { cause });
    } else why = (cause as Error).message ?? String(cause);
    return new CliError("unreachable", `cannot reach keond at ${where}: ${why}; ${startHint(this.endpoint)}`, { cause });
  }

  /** A 2xx response as JSON; anything else as a CliError from the API's envelope. */
  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.request(method, path, { ...options, headers: { accept: "application/json", ...options.headers } });
    return await readJson<T>(response, `${method} ${path}`);
  }

  /** The TLS options a WebSocket to keond needs (the same trust as requests); undefined without TLS. */
  async webSocketTls(): Promise<Record<string, unknown> | undefined> {
    if (this.endpoint.transport !== "tcp" || !this.endpoint.baseUrl.startsWith("https:")) return undefined;
    this.tls ??= tlsOptionsFor(this.endpoint.baseUrl, this.endpoint.tls ?? {});
    return await this.tls;
  }

  /** Where a WebSocket to `path` connects, and the headers it needs. */
  webSocketTarget(path: string, query: URLSearchParams): { url: string; headers: Record<string, string> } {
    const text = query.toString();
    const suffix = `${path}${text === "" ? "" : `?${text}`}`;
    if (this.endpoint.transport === "unix") {
      // Bun's WebSocket client takes `ws+unix://<socket>:<path>` (Bun 1.4).
      return { url: `ws+unix://${this.endpoint.socket}:${suffix}`, headers: {} };
    }
    const url = this.endpoint.baseUrl.replace(/^http/, "ws") + suffix;
    const headers: Record<string, string> = {};
    if (this.endpoint.token !== undefined) headers["authorization"] = `Bearer ${this.endpoint.token}`;
    return { url, headers };
  }
}

function definedEntries(record: Record<string, string | undefined>): [string, string][] {
  return Object.entries(record).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== "");
}

/** Parse a response: 2xx as JSON, otherwise the error envelope as a CliError. */
export async function readJson<T>(response: Response, what: string): Promise<T> {
  const text = await response.text();
  if (response.ok) {
    if (text === "") return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new CliError("failed", `${what}: keond answered ${response.status} with a body that is not JSON`, { cause });
    }
  }
  throw apiError(response.status, text, what);
}

export function apiError(status: number, text: string, what: string): CliError {
  let envelope: ErrorEnvelope | undefined;
  try {
    envelope = JSON.parse(text) as ErrorEnvelope;
  } catch {
    envelope = undefined;
  }
  const error = envelope?.error;
  if (error !== undefined && typeof error.message === "string") {
    const details = (typeof error.details === "object" && error.details !== null ? error.details : {}) as Record<string, unknown> & { issues?: unknown };
    const issues = Array.isArray(details.issues)
      ? details.issues.filter((i): i is { path: string; message: string } =>
          typeof (i as { path?: unknown }).path === "string" && typeof (i as { message?: unknown }).message === "string")
      : [];
    const code = typeof error.code === "string" ? error.code : undefined;
    const hint = status === 401 ? " (set KEON_TOKEN to keond's API token)" : "";
    return new CliError("failed", `${error.message}${hint}`, { ...(code === undefined ? {} : { code }), issues, details });
  }
  const snippet = text.trim().slice(0, 200);
  return new CliError("failed", `${what}: keond answered ${status}${snippet === "" ? "" : `: ${snippet}`}`);
}
