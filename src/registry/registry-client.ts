/**
 * @module
 * HTTP side of a pull: one repository of one registry, spoken to with
 * `fetch` (OCI distribution spec). It answers authentication challenges
 * (anonymous, Basic, and the Bearer token flow with tokens cached until
 * expiry), follows redirects itself so credentials never reach another
 * origin, bounds every request by a deadline until the headers and every
 * body by an idle timeout, and checks documents by size and digest.
 *
 * Errors are KeonErrors naming the registry, the repository and what was
 * asked; a password never appears in one (only the user name does).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import { KeonError, type ErrorCode } from "../model/errors.ts";
import { parseAuthChallenges, pickChallenge, type AuthChallenge } from "./auth-challenge.ts";
import type { RegistryCredential } from "./credentials.ts";
import { MANIFEST_ACCEPT } from "./media-types.ts";
import { apiHostOf } from "./reference.ts";
import { sharedTokenCache, tokenCacheKey, tokenRenewAt, type TokenCache } from "./token-cache.ts";
import { headersForRedirect, redirectAllowed, schemesFor, type Scheme } from "./transport-policy.ts";

export interface RegistryClientOptions {
  /** Credentials for this registry (see chooseCredentials); anonymous when absent. */
  credential?: RegistryCredential | undefined;
  /** A PEM file of extra CA certificates, trusted besides the system roots. */
  caFile?: string | undefined;
  /** Registries (host[:port]) that may be reached over plain HTTP besides loopback ones. */
  insecureRegistries?: readonly string[] | undefined;
  /** Deadline until a response's headers arrive. Default 30 s. */
  requestTimeoutMs?: number | undefined;
  /** Longest gap between two chunks of a body. Default 60 s. */
  idleTimeoutMs?: number | undefined;
  tokenCache?: TokenCache | undefined;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 5;
/** A token answer is a small JSON object; anything bigger is not one. */
const TOKEN_RESPONSE_LIMIT = 1024 * 1024;
const SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

export interface FetchedDocument {
  bytes: Uint8Array;
  /** The registry's Content-Type. */
  contentType: string | null;
  /** sha256 of the bytes, computed here. */
  digest: string;
}

/** A blob body from `offset` on, read chunk by chunk with the idle timeout. */
export interface BlobStream {
  offset: number;
  chunks: AsyncIterable<Uint8Array>;
  /** Stop reading (closes the connection). */
  cancel(): void;
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** The status line part of a message: `401 Unauthorized`. */
function statusText(response: Response): string {
  return `${response.status}${response.statusText === "" ? "" : ` ${response.statusText}`}`;
}

/** Network failures (refused, reset, TLS) as their code, without anything a server sent. */
function networkFailure(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e.code === "string" ? e.code : undefined;
  const message = typeof e.message === "string" ? e.message : String(error);
  return code === undefined || message.includes(code) ? message : `${code}: ${message}`;
}

function isAbort(error: unknown): boolean {
  return (error as { name?: unknown }).name === "AbortError" || (error as { name?: unknown }).name === "TimeoutError";
}

export class RegistryClient {
  readonly host: string;
  readonly #domain: string;
  readonly #repository: string;
  readonly #options: RegistryClientOptions;
  readonly #tokens: TokenCache;
  readonly #requestTimeoutMs: number;
  readonly #idleTimeoutMs: number;
  #ca: string[] | undefined;
  #scheme: Scheme | undefined;
  /** The Authorization this repository answers to (Basic, or the cache key of a Bearer token). */
  #auth: { kind: "basic"; header: string } | { kind: "bearer"; key: string; challenge: AuthChallenge } | undefined;

  constructor(domain: string, repository: string, options: RegistryClientOptions = {}) {
    this.#domain = domain;
    this.host = apiHostOf(domain);
    this.#repository = repository;
    this.#options = options;
    this.#tokens = options.tokenCache ?? sharedTokenCache;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  }

  /** `registry 127.0.0.1:5000, repository x/y` for messages. */
  get where(): string {
    return `registry ${this.#domain}, repository ${this.#repository}`;
  }

  error(code: ErrorCode, message: string, extra: Record<string, unknown> = {}, cause?: unknown): KeonError {
    return new KeonError(code, `${message} (${this.where})`, {
      details: { registry: this.#domain, repository: this.#repository, ...extra },
      ...(cause === undefined ? {} : { cause }),
    });
  }

  /** GET a manifest or index by tag or digest, at most `limitBytes`. */
  async fetchManifest(selector: string, limitBytes: number): Promise<FetchedDocument> {
    const what = `manifest ${selector}`;
    const response = await this.#request(`/v2/${this.#repository}/manifests/${selector}`, { accept: MANIFEST_ACCEPT }, what);
    const bytes = await this.#readLimited(response, limitBytes, what);
    const digest = sha256Digest(bytes);
    // The registry's own word on the digest must agree with the bytes (a proxy or cache may have altered them).
    const stated = response.headers.get("docker-content-digest");
    if (stated !== null && stated.startsWith("sha256:") && stated !== digest) {
      throw this.error("IMAGE_IMPORT_FAILED", `${what}: content has digest ${digest}, the registry states ${stated}`, {
        reason: "digest-mismatch",
        digest: stated,
        actual: digest,
      });
    }
    return { bytes, contentType: response.headers.get("content-type"), digest };
  }

  /** A whole small blob (a config), its size and digest checked. */
  async fetchBlobBytes(digest: string, size: number, limitBytes: number): Promise<Uint8Array> {
    const what = `blob ${digest}`;
    if (size > limitBytes) throw this.error("IMAGE_IMPORT_FAILED", `${what} is ${size} bytes, over the limit of ${limitBytes}`, { digest, reason: "too-large" });
    const response = await this.#request(`/v2/${this.#repository}/blobs/${digest}`, {}, what);
    const bytes = await this.#readLimited(response, size, what);
    if (bytes.length !== size) throw this.error("IMAGE_IMPORT_FAILED", `${what}: got ${bytes.length} bytes, the descriptor says ${size}`, { digest, reason: "size-mismatch" });
    const actual = sha256Digest(bytes);
    if (actual !== digest) throw this.error("IMAGE_IMPORT_FAILED", `${what}: content has digest ${actual}`, { digest, actual, reason: "digest-mismatch" });
    return bytes;
  }

  /** A blob's body from `offset` (a Range request; a registry ignoring it answers from 0). */
  async openBlob(digest: string, offset: number): Promise<BlobStream> {
    const what = `blob ${digest}`;
    const controller = new AbortController();
    const response = await this.#request(
      `/v2/${this.#repository}/blobs/${digest}`,
      offset > 0 ? { range: `bytes=${offset}-` } : {},
      what,
      controller,
    );
    let start = 0;
    if (response.status === 206) {
      const match = /^bytes (\d+)-/.exec(response.headers.get("content-range") ?? "");
      start = match === null ? -1 : Number(match[1]);
      if (start !== offset) {
        controller.abort();
        throw this.error("IMAGE_IMPORT_FAILED", `${what}: asked for bytes from ${offset}, got a range starting at ${start}`, { digest });
      }
    }
    return { offset: start, chunks: this.#idleBoundChunks(response, controller, what), cancel: () => controller.abort() };
  }

  /** The response body, aborted when no chunk comes for the idle timeout. */
  async *#idleBoundChunks(response: Response, controller: AbortController, what: string): AsyncGenerator<Uint8Array> {
    const body = response.body;
    if (body === null) return;
    const reader = body.getReader();
    let idle = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => {
        idle = true;
        controller.abort();
        void reader.cancel().catch(() => undefined);
      }, this.#idleTimeoutMs);
    };
    try {
      for (;;) {
        arm();
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (error) {
          if (idle) throw this.error("DEADLINE_EXCEEDED", `${what}: no data for ${this.#idleTimeoutMs} ms`, { reason: "idle-timeout" });
          throw this.error("NETWORK_ERROR", `${what}: reading the body failed: ${networkFailure(error)}`, { reason: "body-read" }, error);
        }
        if (idle) throw this.error("DEADLINE_EXCEEDED", `${what}: no data for ${this.#idleTimeoutMs} ms`, { reason: "idle-timeout" });
        if (chunk.done) return;
        yield chunk.value;
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      reader.releaseLock();
    }
  }

  async #readLimited(response: Response, limitBytes: number, what: string): Promise<Uint8Array> {
    const declared = Number(response.headers.get("content-length") ?? Number.NaN);
    if (Number.isFinite(declared) && declared > limitBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw this.error("IMAGE_IMPORT_FAILED", `${what} is ${declared} bytes, over the limit of ${limitBytes}`, { reason: "too-large", limit: limitBytes });
    }
    const controller = new AbortController();
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of this.#idleBoundChunks(response, controller, what)) {
      size += chunk.byteLength;
      if (size > limitBytes) {
        controller.abort();
        throw this.error("IMAGE_IMPORT_FAILED", `${what} is over the limit of ${limitBytes} bytes`, { reason: "too-large", limit: limitBytes });
      }
      parts.push(chunk);
    }
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.byteLength;
    }
    return bytes;
  }

  /**
   * One GET: the scheme found once, authentication answered once, redirects
   * followed. A 2xx response is returned with its body unread; anything else
   * is an error.
   */
  async #request(
    path: string,
    extra: { accept?: string; range?: string },
    what: string,
    controller = new AbortController(),
  ): Promise<Response> {
    const base: Record<string, string> = { "user-agent": "keon" };
    if (extra.accept !== undefined) base["accept"] = extra.accept;
    if (extra.range !== undefined) base["range"] = extra.range;

    let answeredChallenge = false;
    for (;;) {
      const scheme = await this.#resolveScheme();
      const headers = { ...base };
      const authorization = this.#authorization();
      if (authorization !== undefined) headers["authorization"] = authorization;
      const response = await this.#followRedirects(new URL(`${scheme}://${this.host}${path}`), headers, what, controller);
      if (response.ok) return response;
      await response.body?.cancel().catch(() => undefined);
      if (response.status === 401 && !answeredChallenge) {
        answeredChallenge = true;
        await this.#answerChallenge(response.headers.get("www-authenticate"), what, authorization);
        continue;
      }
      throw this.#statusError(response, what);
    }
  }

  #statusError(response: Response, what: string): KeonError {
    const status = response.status;
    if (status === 401 || status === 403) {
      const who = this.#options.credential === undefined ? "anonymous access" : `the credentials of user '${this.#options.credential.username}'`;
      return this.error("UNAUTHORIZED", `${what}: the registry refused ${who}: ${statusText(response)}`, { status, reason: "unauthorized" });
    }
    if (status === 404) return this.error("IMAGE_NOT_FOUND", `${what}: not found: ${statusText(response)}`, { status });
    if (status === 429 || status >= 500) return this.error("NETWORK_ERROR", `${what}: registry answered ${statusText(response)}`, { status, reason: "unavailable" });
    return this.error("IMAGE_IMPORT_FAILED", `${what}: registry answered ${statusText(response)}`, { status });
  }

  async #followRedirects(url: URL, headers: Record<string, string>, what: string, controller: AbortController): Promise<Response> {
    const origin = url.origin;
    let target = url;
    let sent = headers;
    for (let hop = 0; ; hop++) {
      const response = await this.#fetchOnce(target, sent, what, controller);
      if (response.status < 300 || response.status >= 400 || response.status === 304) return response;
      const location = response.headers.get("location");
      await response.body?.cancel().catch(() => undefined);
      if (location === null) throw this.error("IMAGE_IMPORT_FAILED", `${what}: redirect ${response.status} without a Location`);
      if (hop >= MAX_REDIRECTS) throw this.error("IMAGE_IMPORT_FAILED", `${what}: more than ${MAX_REDIRECTS} redirects`);
      const next = new URL(location, target);
      if (!redirectAllowed(next, this.#options.insecureRegistries)) {
        throw this.error("IMAGE_IMPORT_FAILED", `${what}: refused a redirect to plain HTTP at ${next.host}`, { reason: "insecure-redirect" });
      }
      // Credentials only ever go to the registry's own origin.
      sent = headersForRedirect(origin, next, sent);
      target = next;
    }
  }

  async #fetchOnce(url: URL, headers: Record<string, string>, what: string, controller: AbortController): Promise<Response> {
    const timer = setTimeout(() => controller.abort(new DOMException("headers timeout", "TimeoutError")), this.#requestTimeoutMs);
    try {
      return await fetch(url, {
        headers,
        redirect: "manual",
        signal: controller.signal,
        ...(url.protocol === "https:" ? { tls: this.#tls() } : {}),
      });
    } catch (error) {
      if (isAbort(error)) {
        throw this.error("DEADLINE_EXCEEDED", `${what}: no answer from ${url.host} within ${this.#requestTimeoutMs} ms`, { reason: "timeout" });
      }
      throw this.error("NETWORK_ERROR", `${what}: cannot reach ${url.protocol}//${url.host}: ${networkFailure(error)}`, { reason: "unreachable" }, error);
    } finally {
      clearTimeout(timer);
    }
  }

  #tls(): { ca?: string[] } {
    if (this.#options.caFile === undefined) return {};
    if (this.#ca === undefined) {
      let extra: string;
      try {
        extra = readFileSync(this.#options.caFile, "utf8");
      } catch (cause) {
        throw this.error("INVALID_CONFIGURATION", `cannot read the CA file ${this.#options.caFile}`, {}, cause);
      }
      // A `ca` replaces the default trust, so the system's roots go in beside the extra CA.
      let system: string[] = [...rootCertificates];
      try {
        system = [readFileSync(SYSTEM_CA_BUNDLE, "utf8")];
      } catch {
        // No system bundle: Bun's built-in roots stand in for it.
      }
      this.#ca = [...system, extra];
    }
    return { ca: this.#ca };
  }

  /** HTTPS, or plain HTTP where allowed and HTTPS cannot be spoken at all. */
  async #resolveScheme(): Promise<Scheme> {
    if (this.#scheme !== undefined) return this.#scheme;
    const schemes = schemesFor(this.host, this.#options.insecureRegistries);
    let lastError: unknown;
    for (const scheme of schemes) {
      try {
        const response = await this.#fetchOnce(new URL(`${scheme}://${this.host}/v2/`), { "user-agent": "keon" }, "API check", new AbortController());
        await response.body?.cancel().catch(() => undefined);
        // Plain HTTP counts only if a registry answers there (a TLS server answers 400 to plain HTTP).
        if (scheme === "http" && response.status !== 200 && response.status !== 401 && lastError !== undefined) throw lastError;
        this.#scheme = scheme;
        return scheme;
      } catch (error) {
        lastError = error;
        // A timeout is a slow registry, not a wrong scheme.
        if (error instanceof KeonError && error.code === "DEADLINE_EXCEEDED") throw error;
      }
    }
    throw lastError;
  }

  #authorization(): string | undefined {
    if (this.#auth === undefined) return undefined;
    if (this.#auth.kind === "basic") return this.#auth.header;
    const token = this.#tokens.get(this.#auth.key);
    return token === undefined ? undefined : `Bearer ${token}`;
  }

  /** Learn how to authenticate from a 401's challenge (a Bearer token is fetched now). */
  async #answerChallenge(header: string | null, what: string, sent: string | undefined): Promise<void> {
    const challenge = pickChallenge(parseAuthChallenges(header ?? ""));
    const credential = this.#options.credential;
    if (challenge === undefined) {
      throw this.error("UNAUTHORIZED", `${what}: the registry answered 401 without a challenge Keon can answer`, { status: 401, reason: "unauthorized" });
    }
    if (challenge.scheme === "basic") {
      if (credential === undefined) {
        throw this.error("UNAUTHORIZED", `${what}: the registry answered 401 and asks for credentials; none are configured for it`, { status: 401, reason: "unauthorized" });
      }
      const header = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString("base64")}`;
      if (this.#auth?.kind === "basic" && this.#auth.header === header) {
        throw this.error("UNAUTHORIZED", `${what}: the registry refused the credentials of user '${credential.username}': 401 Unauthorized`, { status: 401, reason: "unauthorized" });
      }
      this.#auth = { kind: "basic", header };
      return;
    }
    await this.#fetchToken(challenge, what, sent);
  }

  /** A token for the challenge: the cached one unless it is what the registry just refused. */
  async #fetchToken(challenge: AuthChallenge, what: string, sent: string | undefined): Promise<void> {
    const realm = challenge.params["realm"] ?? "";
    const service = challenge.params["service"] ?? "";
    // The challenge's scope names what the registry wants; pull is all Keon asks for anyway.
    const scope = challenge.params["scope"] ?? `repository:${this.#repository}:pull`;
    const credential = this.#options.credential;
    const key = tokenCacheKey(realm, service, scope, credential);
    this.#auth = { kind: "bearer", key, challenge };
    const cached = this.#tokens.get(key);
    if (cached !== undefined) {
      if (sent !== `Bearer ${cached}`) return;
      this.#tokens.delete(key);
    }
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw this.error("UNAUTHORIZED", `${what}: the token realm '${realm}' is not a URL`, { reason: "unauthorized" });
    }
    if (!redirectAllowed(url, this.#options.insecureRegistries)) {
      throw this.error("UNAUTHORIZED", `${what}: refused to send credentials to the plain-HTTP token realm ${url.host}`, { reason: "insecure-token-realm" });
    }
    if (service !== "") url.searchParams.set("service", service);
    for (const s of scope.split(" ")) if (s !== "") url.searchParams.append("scope", s);
    const headers: Record<string, string> = { "user-agent": "keon" };
    if (credential !== undefined) headers["authorization"] = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString("base64")}`;
    const started = Date.now();
    const response = await this.#followRedirects(url, headers, `${what}: token from ${url.host}`, new AbortController());
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      const who = credential === undefined ? "anonymous access" : `the credentials of user '${credential.username}'`;
      throw this.error("UNAUTHORIZED", `${what}: the token server ${url.host} refused ${who}: ${statusText(response)}`, { status: response.status, reason: "unauthorized" });
    }
    let answer: Record<string, unknown>;
    try {
      // Bounded and idle-timed like every body: a token server that stalls must not hang the pull.
      answer = JSON.parse(new TextDecoder().decode(await this.#readLimited(response, TOKEN_RESPONSE_LIMIT, `${what}: token`))) as Record<string, unknown>;
    } catch (cause) {
      if (cause instanceof KeonError) throw cause;
      throw this.error("UNAUTHORIZED", `${what}: the token server ${url.host} answered no JSON`, { reason: "unauthorized" }, cause);
    }
    const token = typeof answer["token"] === "string" ? answer["token"] : answer["access_token"];
    if (typeof token !== "string" || token === "") {
      throw this.error("UNAUTHORIZED", `${what}: the token server ${url.host} answered without a token`, { reason: "unauthorized" });
    }
    const issuedAt = typeof answer["issued_at"] === "string" ? Date.parse(answer["issued_at"]) : Number.NaN;
    const expiresIn = typeof answer["expires_in"] === "number" ? answer["expires_in"] : undefined;
    // A server clock far from ours would make issued_at meaningless; our own clock decides.
    const base = Number.isFinite(issuedAt) && Math.abs(issuedAt - started) < 60_000 ? Math.min(issuedAt, started) : started;
    this.#tokens.set(key, token, tokenRenewAt(base, expiresIn));
  }
}
