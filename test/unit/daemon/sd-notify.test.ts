import { waitUntil } from "../../harness/wait.ts";
import { describe, expect, test } from "bun:test";
import { KeonError } from "../../../src/model/errors.ts";
import {
  AF_UNIX, createNotifier, NOTIFY_ENV_NAMES, parseNotifyEnv, sockaddrUn, startWatchdog, statusMessage, SUN_PATH_SIZE, type Notifier,
} from "../../../src/daemon/sd-notify.ts";

const family = (bytes: Uint8Array) => new DataView(bytes.buffer).getUint16(0, true);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("sockaddrUn", () => {
  test("a path: family, the path and its terminating NUL, nothing more", () => {
    const bytes = sockaddrUn("/run/systemd/notify");
    expect(family(bytes)).toBe(AF_UNIX);
    expect(bytes.length).toBe(2 + "/run/systemd/notify".length + 1);
    expect(text(bytes.subarray(2, -1))).toBe("/run/systemd/notify");
    expect(bytes.at(-1)).toBe(0);
  });

  test("an abstract name: a leading NUL instead of @ and no terminator", () => {
    const bytes = sockaddrUn("@/org/freedesktop/systemd1/notify/123");
    expect(family(bytes)).toBe(AF_UNIX);
    expect(bytes[2]).toBe(0);
    expect(text(bytes.subarray(3))).toBe("/org/freedesktop/systemd1/notify/123");
    expect(bytes.length).toBe(2 + 1 + "/org/freedesktop/systemd1/notify/123".length);
  });

  test("lengths count UTF-8 bytes", () => {
    expect(sockaddrUn("/tmp/ü").length).toBe(2 + 7 + 1);
  });

  test("the longest addresses that fit sun_path, and one byte more refused", () => {
    const path = (n: number) => `/${"p".repeat(n - 1)}`;
    expect(sockaddrUn(path(SUN_PATH_SIZE - 1)).length).toBe(2 + SUN_PATH_SIZE);
    expect(() => sockaddrUn(path(SUN_PATH_SIZE))).toThrow(/longer than/);
    expect(sockaddrUn(`@${"a".repeat(SUN_PATH_SIZE - 1)}`).length).toBe(2 + SUN_PATH_SIZE);
    expect(() => sockaddrUn(`@${"a".repeat(SUN_PATH_SIZE)}`)).toThrow(/longer than/);
  });

  test("relative paths, empty abstract names and NUL bytes are refused as configuration errors", () => {
    for (const bad of ["notify.sock", "", "@", "/tmp/a\0b", "vsock:2:1234"]) {
      try {
        sockaddrUn(bad);
        throw new Error(`accepted ${JSON.stringify(bad)}`);
      } catch (err) {
        expect(err).toBeInstanceOf(KeonError);
        expect((err as KeonError).code).toBe("INVALID_CONFIGURATION");
        expect((err as KeonError).details).toEqual({ field: "NOTIFY_SOCKET" });
      }
    }
  });
});

describe("parseNotifyEnv", () => {
  const pid = 4242;

  test("no NOTIFY_SOCKET (or an empty one) means no notifications and no watchdog", () => {
    expect(parseNotifyEnv({}, pid)).toEqual({ socket: undefined, watchdogIntervalMs: undefined });
    expect(parseNotifyEnv({ NOTIFY_SOCKET: "", WATCHDOG_USEC: "30000000" }, pid)).toEqual({ socket: undefined, watchdogIntervalMs: undefined });
  });

  test("the watchdog is fed at half of WATCHDOG_USEC", () => {
    expect(parseNotifyEnv({ NOTIFY_SOCKET: "/run/n", WATCHDOG_USEC: "30000000" }, pid)).toEqual({ socket: "/run/n", watchdogIntervalMs: 15_000 });
    expect(parseNotifyEnv({ NOTIFY_SOCKET: "@n", WATCHDOG_USEC: "200000" }, pid).watchdogIntervalMs).toBe(100);
    // Never a zero interval, however small the timeout.
    expect(parseNotifyEnv({ NOTIFY_SOCKET: "/run/n", WATCHDOG_USEC: "1" }, pid).watchdogIntervalMs).toBe(1);
  });

  test("WATCHDOG_PID naming us keeps the watchdog, naming another process disables it", () => {
    expect(parseNotifyEnv({ NOTIFY_SOCKET: "/run/n", WATCHDOG_USEC: "2000000", WATCHDOG_PID: String(pid) }, pid).watchdogIntervalMs).toBe(1000);
    expect(parseNotifyEnv({ NOTIFY_SOCKET: "/run/n", WATCHDOG_USEC: "2000000", WATCHDOG_PID: "1" }, pid)).toEqual({ socket: "/run/n", watchdogIntervalMs: undefined });
    expect(parseNotifyEnv({ NOTIFY_SOCKET: "/run/n", WATCHDOG_USEC: "2000000", WATCHDOG_PID: "x" }, pid).watchdogIntervalMs).toBeUndefined();
  });

  test("a missing, zero or malformed WATCHDOG_USEC means no watchdog", () => {
    for (const usec of [undefined, "", "0", "-5", "1e6", "30s", "99999999999999999999"]) {
      expect(parseNotifyEnv({ NOTIFY_SOCKET: "/run/n", WATCHDOG_USEC: usec }, pid).watchdogIntervalMs).toBeUndefined();
    }
  });

  test("the variables a child must not inherit are listed", () => {
    expect([...NOTIFY_ENV_NAMES]).toEqual(["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]);
  });
});

describe("statusMessage", () => {
  test("one line, whatever the text", () => {
    expect(statusMessage("ready: 3 realms")).toBe("STATUS=ready: 3 realms");
    expect(statusMessage("a\nREADY=1\r\nb")).toBe("STATUS=a READY=1 b");
  });
});

describe("createNotifier without NOTIFY_SOCKET", () => {
  test("is a disabled no-op whose sends succeed", () => {
    const notifier = createNotifier({ WATCHDOG_USEC: "1000000" });
    expect(notifier.enabled).toBe(false);
    expect(notifier.watchdogIntervalMs).toBeUndefined();
    expect([notifier.ready(), notifier.status("x"), notifier.watchdog(), notifier.stopping()]).toEqual([undefined, undefined, undefined, undefined]);
    notifier.close();
  });

  test("a malformed NOTIFY_SOCKET is returned by each send, never thrown", () => {
    const notifier = createNotifier({ NOTIFY_SOCKET: "relative/notify" });
    expect(notifier.enabled).toBe(true);
    expect(notifier.ready()?.code).toBe("INVALID_CONFIGURATION");
  });
});

describe("startWatchdog", () => {
  /** A notifier whose watchdog() answers from `results` in turn; only the watchdog matters here. */
  function scripted(results: (KeonError | undefined)[], intervalMs: number | undefined): Notifier & { calls: number } {
    const notifier = {
      enabled: true,
      watchdogIntervalMs: intervalMs,
      calls: 0,
      ready: () => undefined,
      status: () => undefined,
      stopping: () => undefined,
      close: () => {},
      watchdog() {
        const result = results[Math.min(notifier.calls, results.length - 1)];
        notifier.calls++;
        return result;
      },
    };
    return notifier;
  }
  const gone = new KeonError("INTERNAL", "gone");

  test("does nothing without a watchdog interval or when disabled", async () => {
    const none = scripted([undefined], undefined);
    startWatchdog(none, () => {})();
    expect(none.calls).toBe(0);
    const disabled = createNotifier({});
    expect(startWatchdog(disabled, () => {})).toBeFunction();
  });

  test("feeds at once and then on every interval until stopped", async () => {
    const notifier = scripted([undefined], 10);
    const stop = startWatchdog(notifier, () => {});
    expect(notifier.calls).toBe(1);
    await waitUntil(() => notifier.calls >= 4, "four feeds", 5_000, 2);
    stop();
    const fed = notifier.calls;
    // Stopped: a second watchdog on the same interval feeds three times meanwhile, the first not once.
    const witness = scripted([undefined], 10);
    const stopWitness = startWatchdog(witness, () => {});
    await waitUntil(() => witness.calls >= 4, "three intervals of a second watchdog", 5_000, 2);
    stopWitness();
    expect(notifier.calls).toBe(fed);
  });

  test("reports the first of a run of failures only, and again after a recovery", async () => {
    const notifier = scripted([gone, gone, gone, undefined, gone, gone], 5);
    const errors: KeonError[] = [];
    const stop = startWatchdog(notifier, (e) => errors.push(e));
    await waitUntil(() => notifier.calls >= 6, "six feeds", 5_000, 2);
    stop();
    expect(notifier.calls).toBeGreaterThanOrEqual(6);
    expect(errors).toEqual([gone, gone]);
  });
});
