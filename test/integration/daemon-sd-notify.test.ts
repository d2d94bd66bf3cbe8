/**
 * sd_notify against a real AF_UNIX datagram socket the test binds, as systemd
 * would: what arrives is exactly what systemd would read.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createNotifier, startWatchdog, type Notifier } from "../../src/daemon/sd-notify.ts";
import type { KeonError } from "../../src/model/errors.ts";
import { bindDatagramSocket, type DatagramSocket } from "../harness/datagram-socket.ts";
import { randomId } from "../harness/run-id.ts";
import { waitUntil } from "../harness/wait.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanups.splice(0).reverse()) fn();
});

function tempDir(): string {
  const dir = mkdtempSync("/tmp/keon-it-notify-");
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function bound(address: string): DatagramSocket {
  const socket = bindDatagramSocket(address);
  cleanups.push(() => socket.close());
  return socket;
}

function notifierFor(env: Record<string, string>): Notifier {
  const notifier = createNotifier(env);
  cleanups.push(() => notifier.close());
  return notifier;
}

async function expectLifecycle(socket: DatagramSocket): Promise<void> {
  const notifier = notifierFor({ NOTIFY_SOCKET: socket.address });
  expect(notifier.enabled).toBe(true);
  expect(notifier.ready()).toBeUndefined();
  expect(await socket.receive()).toBe("READY=1");
  expect(notifier.status("reconciling 2 realms")).toBeUndefined();
  expect(await socket.receive()).toBe("STATUS=reconciling 2 realms");
  expect(notifier.watchdog()).toBeUndefined();
  expect(await socket.receive()).toBe("WATCHDOG=1");
  expect(notifier.stopping()).toBeUndefined();
  expect(await socket.receive()).toBe("STOPPING=1");
  // Exactly those four datagrams, nothing else: a marker sent now (by a second sender) is the next to arrive.
  expect(notifierFor({ NOTIFY_SOCKET: socket.address }).status("end-marker")).toBeUndefined();
  expect(await socket.receive()).toBe("STATUS=end-marker");
  expect(socket.poll()).toBeUndefined();
}

describe("sd_notify to a real datagram socket", () => {
  test("READY, STATUS, WATCHDOG and STOPPING arrive verbatim on a socket path", async () => {
    await expectLifecycle(bound(join(tempDir(), "notify")));
  });

  test("and on an abstract socket (NOTIFY_SOCKET=@name)", async () => {
    await expectLifecycle(bound(`@keon-test-notify-${randomId()}`));
  });

  test("a status with newlines stays one STATUS line", async () => {
    const socket = bound(join(tempDir(), "notify"));
    notifierFor({ NOTIFY_SOCKET: socket.address }).status("one\nREADY=1");
    expect(await socket.receive()).toBe("STATUS=one READY=1");
  });

  test("the watchdog timer sends WATCHDOG=1 at once and then every half of WATCHDOG_USEC", async () => {
    const socket = bound(join(tempDir(), "notify"));
    const notifier = notifierFor({ NOTIFY_SOCKET: socket.address, WATCHDOG_USEC: "200000", WATCHDOG_PID: String(process.pid) });
    expect(notifier.watchdogIntervalMs).toBe(100);
    const errors: KeonError[] = [];
    const start = performance.now();
    const stop = startWatchdog(notifier, (e) => errors.push(e));
    const received = await socket.collect(560);
    stop();
    expect(errors).toEqual([]);
    expect(received.every((r) => r.message === "WATCHDOG=1")).toBe(true);
    // At once, then at ~100, 200, 300, 400, 500 ms.
    expect(received.length).toBeGreaterThanOrEqual(5);
    expect(received.length).toBeLessThanOrEqual(7);
    expect(received[0]!.at - start).toBeLessThan(50);
    const gaps = received.slice(1).map((r, i) => r.at - received[i]!.at).sort((a, b) => a - b);
    const median = gaps[Math.floor(gaps.length / 2)]!;
    expect(median).toBeGreaterThan(80);
    expect(median).toBeLessThan(150);
    // Stopped means stopped.
    expect(await socket.collect(250)).toEqual([]);
  });

  test("a watchdog meant for another process (WATCHDOG_PID) is not fed", async () => {
    const socket = bound(join(tempDir(), "notify"));
    const notifier = notifierFor({ NOTIFY_SOCKET: socket.address, WATCHDOG_USEC: "100000", WATCHDOG_PID: "1" });
    expect(notifier.watchdogIntervalMs).toBeUndefined();
    const stop = startWatchdog(notifier, () => {});
    expect(await socket.collect(150)).toEqual([]);
    stop();
    // Notifications other than the watchdog still go out.
    notifier.ready();
    expect(await socket.receive()).toBe("READY=1");
  });
});

describe("when the notify socket is gone", () => {
  test("a send returns the errno as a KeonError instead of throwing", () => {
    const dir = tempDir();
    const missing = notifierFor({ NOTIFY_SOCKET: join(dir, "gone") });
    const error = missing.ready();
    expect(error?.code).toBe("INTERNAL");
    expect(error?.details).toMatchObject({ syscall: "sendto", errnoName: "ENOENT", socket: join(dir, "gone") });
    // A path that is not a socket: nobody listens there.
    writeFileSync(join(dir, "file"), "");
    expect(notifierFor({ NOTIFY_SOCKET: join(dir, "file") }).ready()?.details).toMatchObject({ errnoName: "ECONNREFUSED" });
    expect(notifierFor({ NOTIFY_SOCKET: `@keon-test-nobody-${randomId()}` }).ready()?.details).toMatchObject({ errnoName: "ECONNREFUSED" });
  });

  test("the watchdog reports a dead socket once, recovers when it returns, and reports a second loss once", async () => {
    const path = join(tempDir(), "notify");
    const notifier = notifierFor({ NOTIFY_SOCKET: path, WATCHDOG_USEC: "20000" });
    const errors: KeonError[] = [];
    // Counts the watchdog's feeds, so "once" is checked after several failing feeds, not after a fixed time.
    let feeds = 0;
    const counted = { ...notifier, watchdog: () => { feeds += 1; return notifier.watchdog(); } };
    const stop = startWatchdog(counted, (e) => errors.push(e));
    cleanups.push(stop);
    await waitUntil(() => feeds >= 4, "four watchdog feeds to a missing socket", 5_000, 5);
    expect(errors.length).toBe(1);
    expect(errors[0]!.details).toMatchObject({ errnoName: "ENOENT" });
    // systemd comes back (e.g. after daemon-reexec): the same notifier reaches it.
    const socket = bindDatagramSocket(path);
    for (let i = 0; i < 3; i++) expect(await socket.receive(5_000)).toBe("WATCHDOG=1");
    socket.close();
    const lost = feeds;
    await waitUntil(() => feeds >= lost + 4, "four more feeds after the second loss", 5_000, 5);
    expect(errors.length).toBe(2);
  });
});
