import { describe, expect, test } from "bun:test";
import { ApiClient, DEFAULT_SOCKET, apiError, readJson, resolveEndpoint } from "../../../src/cli/client.ts";
import { CliError, EXIT_FAILED, EXIT_UNREACHABLE, EXIT_USAGE, exitCodeOf, formatError } from "../../../src/cli/errors.ts";

describe("endpoint", () => {
  test("the unix socket by default; flags beat the environment", () => {
    expect(resolveEndpoint({}, {})).toEqual({ transport: "unix", socket: DEFAULT_SOCKET });
    expect(resolveEndpoint({}, { KEON_SOCKET: "/tmp/k.sock" })).toEqual({ transport: "unix", socket: "/tmp/k.sock" });
    expect(resolveEndpoint({ socket: "/a.sock" }, { KEON_HOST: "tcp://h:1" })).toEqual({ transport: "unix", socket: "/a.sock" });
  });

  test("hosts: tcp://, http(s)://, bare host:port, unix://", () => {
    expect(resolveEndpoint({}, { KEON_HOST: "tcp://127.0.0.1:7443", KEON_TOKEN: "t" })).toEqual({ transport: "tcp", baseUrl: "http://127.0.0.1:7443", token: "t" });
    expect(resolveEndpoint({ host: "https://keon.example:8443/" }, {})).toEqual({ transport: "tcp", baseUrl: "https://keon.example:8443", token: undefined });
    expect(resolveEndpoint({ host: "10.0.0.1:7443" }, {})).toMatchObject({ baseUrl: "https://10.0.0.1:7443" });
    // keond's tcpTls auto: plain on loopback unless a trust flag asks for TLS.
    expect(resolveEndpoint({ host: "tcp://127.0.0.1:7443", tlsCa: "/ca.pem" }, {})).toMatchObject({ baseUrl: "https://127.0.0.1:7443", tls: { caFile: "/ca.pem" } });
    expect(resolveEndpoint({ host: "localhost:7443" }, { KEON_TLS_FINGERPRINT: "ab" })).toMatchObject({ baseUrl: "https://localhost:7443" });
    expect(resolveEndpoint({ host: "tcp://[::1]:7443" }, {})).toMatchObject({ baseUrl: "http://[::1]:7443" });
    expect(resolveEndpoint({ host: "unix:///run/x.sock" }, {})).toEqual({ transport: "unix", socket: "/run/x.sock" });
    expect(() => resolveEndpoint({ host: "http://" }, {})).toThrow(/invalid host/);
  });

  test("URLs and WebSocket targets; the token goes in the Authorization header", () => {
    const unix = new ApiClient({ transport: "unix", socket: "/s.sock" });
    expect(unix.url("/v1/cells", { realm: "r", space: undefined })).toBe("http://keond/v1/cells?realm=r");
    expect(unix.webSocketTarget("/v1/x/exec", new URLSearchParams("cmd=sh"))).toEqual({ url: "ws+unix:///s.sock:/v1/x/exec?cmd=sh", headers: {} });
    const tcp = new ApiClient({ transport: "tcp", baseUrl: "https://h:1", token: "secret" });
    expect(tcp.webSocketTarget("/v1/x/exec", new URLSearchParams())).toEqual({ url: "wss://h:1/v1/x/exec", headers: { authorization: "Bearer secret" } });
  });

  test("a missing socket is 'unreachable' (exit 3) and says how to start keond", async () => {
    const client = new ApiClient({ transport: "unix", socket: "/tmp/keon-no-such-socket.sock" });
    let error: unknown;
    try {
      await client.json("GET", "/healthz");
    } catch (e) {
      error = e;
    }
    expect(exitCodeOf(error)).toBe(EXIT_UNREACHABLE);
    expect(formatError(error)).toBe(
      "cannot reach keond at unix:///tmp/keon-no-such-socket.sock: no socket there; start it with `sudo keond --socket /tmp/keon-no-such-socket.sock`",
    );
    const def = new ApiClient({ transport: "unix", socket: DEFAULT_SOCKET });
    expect(def.unreachable(Object.assign(new Error("x"), { code: "ECONNREFUSED" })).message).toContain("systemctl start keond");
    const tcp = new ApiClient({ transport: "tcp", baseUrl: "http://127.0.0.1:1", token: undefined });
    expect(exitCodeOf(await tcp.json("GET", "/healthz").catch((e: unknown) => e))).toBe(EXIT_UNREACHABLE);
  });
});

describe("API errors", () => {
  test("the envelope's code, message and field paths make one line; exit 1", () => {
    const body = JSON.stringify({
      error: {
        code: "INVALID_DOCUMENT",
        message: "invalid Cell 'web': spec.containers[0].image: required field missing",
        details: { issues: [{ path: "spec.containers[0].image", message: "required field missing" }, { path: "spec.bogus", message: "unknown field" }] },
      },
    });
    const error = apiError(400, body, "PUT /x");
    expect(error.exitCode).toBe(EXIT_FAILED);
    expect(formatError(error)).toBe("INVALID_DOCUMENT: invalid Cell 'web': spec.containers[0].image: required field missing (spec.bogus: unknown field)");
  });

  test("a 401 hints at the token; a body that is not an envelope is quoted", () => {
    expect(formatError(apiError(401, JSON.stringify({ error: { code: "UNAUTHORIZED", message: "a valid bearer token is required" } }), "GET /"))).toBe(
      "UNAUTHORIZED: a valid bearer token is required (set KEON_TOKEN to keond's API token)",
    );
    expect(formatError(apiError(502, "Bad gateway\nfrom proxy", "GET /v1/cells"))).toBe("GET /v1/cells: keond answered 502: Bad gateway from proxy");
  });

  test("readJson returns 2xx bodies and throws the envelope otherwise", async () => {
    expect(await readJson(new Response('{"a":1}'), "x")).toEqual({ a: 1 });
    expect(await readJson(new Response(""), "x")).toBeUndefined();
    const error = await readJson(new Response('{"error":{"code":"CELL_NOT_FOUND","message":"cell x not found"}}', { status: 404 }), "x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).code).toBe("CELL_NOT_FOUND");
  });

  test("exit codes by kind; anything else is 1", () => {
    expect(exitCodeOf(new CliError("usage", "x"))).toBe(EXIT_USAGE);
    expect(exitCodeOf(new CliError("unreachable", "x"))).toBe(EXIT_UNREACHABLE);
    expect(exitCodeOf(new Error("boom"))).toBe(EXIT_FAILED);
    expect(formatError(new Error("two\nlines"))).toBe("two lines");
  });
});
