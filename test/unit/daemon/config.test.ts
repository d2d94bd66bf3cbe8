import { describe, expect, test } from "bun:test";
import { DEFAULT_CONFIG, loadConfig } from "../../../src/daemon/config.ts";
import { KeonError } from "../../../src/model/errors.ts";

describe("loadConfig", () => {
  test("defaults when nothing is given", () => {
    expect(loadConfig([], {})).toEqual(DEFAULT_CONFIG);
  });

  test("environment overrides defaults and flags override environment", () => {
    const config = loadConfig(["--run-path", "/srv/keon"], {
      KEON_RUN_PATH: "/env/keon",
      KEON_CGROUP_ROOT: "/other",
      KEON_LOG_LEVEL: "debug",
    });
    expect(config.runPath).toBe("/srv/keon");
    expect(config.cgroupRoot).toBe("/other");
    expect(config.logLevel).toBe("debug");
  });

  test("empty environment values are ignored", () => {
    expect(loadConfig([], { KEON_SOCKET: "" }).socketPath).toBe(DEFAULT_CONFIG.socketPath);
  });

  test("a relative path is refused naming the flag", () => {
    try {
      loadConfig(["--socket", "keond.sock"], {});
      throw new Error("expected a refusal");
    } catch (err) {
      expect(err).toBeInstanceOf(KeonError);
      expect((err as KeonError).code).toBe("INVALID_CONFIGURATION");
      expect((err as KeonError).details).toEqual({ field: "socket" });
    }
  });

  test("an unknown flag is refused", () => {
    expect(() => loadConfig(["--bogus", "x"], {})).toThrow(/bogus/);
  });

  test("a bad namespace suffix and log level are refused", () => {
    expect(() => loadConfig(["--namespace-suffix", "a/b"], {})).toThrow(KeonError);
    expect(() => loadConfig(["--log-level", "loud"], {})).toThrow(/log-level/);
  });
});
