import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { listenUnix } from "../../src/api/unix-listener.ts";
import { KeonError } from "../../src/model/errors.ts";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function tempDir(): string {
  const d = mkdtempSync("/tmp/keon-it-sock-");
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const hello = () => new Response("hello");

describe("listenUnix", () => {
  test("serves on a 0660 socket whatever the umask", async () => {
    const path = join(tempDir(), "keond.sock");
    const old = process.umask(0o000);
    try {
      const server = await listenUnix({ path, fetch: hello });
      cleanups.push(() => server.stop(true));
      expect(statSync(path).mode & 0o777).toBe(0o660);
      const res = await fetch("http://keond/", { unix: path });
      expect(await res.text()).toBe("hello");
    } finally {
      process.umask(old);
    }
  });

  test("replaces a stale socket left by a dead process", async () => {
    const path = join(tempDir(), "keond.sock");
    // A listener SIGKILLed before it could unlink its socket, as a crashed keond.
    const child = Bun.spawn([process.execPath, "-e", `Bun.listen({ unix: ${JSON.stringify(path)}, socket: { data() {} } }); setInterval(() => {}, 1000);`]);
    for (let i = 0; i < 100 && !existsSync(path); i++) await Bun.sleep(20);
    child.kill("SIGKILL");
    await child.exited;
    expect(statSync(path).isSocket()).toBe(true);
    const server = await listenUnix({ path, fetch: hello });
    cleanups.push(() => server.stop(true));
    expect(await (await fetch("http://keond/", { unix: path })).text()).toBe("hello");
  });

  test("refuses to steal a socket another server still answers on", async () => {
    const path = join(tempDir(), "keond.sock");
    const live = await listenUnix({ path, fetch: hello });
    cleanups.push(() => live.stop(true));
    const err = await listenUnix({ path, fetch: hello }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeonError);
    expect((err as KeonError).code).toBe("CONFLICT");
  });

  test("refuses a path that is not a socket", async () => {
    const path = join(tempDir(), "regular-file");
    writeFileSync(path, "");
    const err = await listenUnix({ path, fetch: hello }).catch((e: unknown) => e);
    expect((err as KeonError).code).toBe("INVALID_CONFIGURATION");
  });
});
