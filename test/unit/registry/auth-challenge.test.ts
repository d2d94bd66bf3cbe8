import { describe, expect, test } from "bun:test";
import { parseAuthChallenges, pickChallenge } from "../../../src/registry/auth-challenge.ts";

describe("WWW-Authenticate", () => {
  test("Docker Hub's Bearer challenge", () => {
    expect(
      parseAuthChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'),
    ).toEqual([
      { scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/busybox:pull" } },
    ]);
  });

  test("Basic, unquoted values, spaces, case and escapes", () => {
    expect(parseAuthChallenges('basic Realm = "a \\"quoted\\" realm"')).toEqual([{ scheme: "basic", params: { realm: 'a "quoted" realm' } }]);
    expect(parseAuthChallenges("Bearer realm=https://t.example/token, service=svc")).toEqual([
      { scheme: "bearer", params: { realm: "https://t.example/token", service: "svc" } },
    ]);
  });

  test("several challenges in one header; a scope with several actions", () => {
    const challenges = parseAuthChallenges('Basic realm="r", Bearer realm="https://t/x",scope="repository:a:pull,push"');
    expect(challenges.map((c) => c.scheme)).toEqual(["basic", "bearer"]);
    expect(challenges[1]?.params["scope"]).toBe("repository:a:pull,push");
    expect(pickChallenge(challenges)?.scheme).toBe("bearer");
  });

  test("a Bearer challenge without a realm is not answerable; Basic is then chosen", () => {
    expect(pickChallenge(parseAuthChallenges('Bearer service="x", Basic realm="y"'))?.scheme).toBe("basic");
    expect(pickChallenge(parseAuthChallenges('Bearer service="x"'))).toBeUndefined();
  });

  test("garbage yields nothing rather than a guess", () => {
    expect(parseAuthChallenges("")).toEqual([]);
    expect(parseAuthChallenges('=== "x"')).toEqual([]);
    expect(parseAuthChallenges('Bearer realm="unterminated')).toEqual([{ scheme: "bearer", params: {} }]);
  });
});
