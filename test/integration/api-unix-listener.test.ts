import { waitUntil } from "../harness/wait.ts";
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureGroup, listenUnix, localGroupId } from "../../src/api/unix-listener.ts";
import { KeonError } from "../../src/model/errors.ts";
import { randomId, requireBinaries, requireRoot } from "../harness/index.ts";

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
    await waitUntil(() => existsSync(path), "the child's socket", 10_000);
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

  test("refuses an unusable group name before binding", async () => {
    const path = join(tempDir(), "keond.sock");
    const err = await listenUnix({ path, group: "Bad Group", fetch: hello }).catch((e: unknown) => e);
    expect((err as KeonError).code).toBe("INVALID_CONFIGURATION");
    expect(existsSync(path)).toBe(false);
  });
});

const canManageGroups = requireRoot("socket group") && requireBinaries("socket group", ["groupadd", "groupdel"]);

describe.skipIf(!canManageGroups)("listenUnix with a socket group", () => {
  /** A group name no other run uses; removed after each test. */
  function uniqueGroup(): string {
    const name = `keon-t-${randomId()}`;
    cleanups.push(() => {
      if (localGroupId(name) !== undefined) {
        const out = Bun.spawnSync(["groupdel", name]);
        if (out.exitCode !== 0) throw new Error(`groupdel ${name}: ${out.stderr.toString()}`);
      }
      expect(localGroupId(name)).toBeUndefined();
    });
    return name;
  }

  test("creates an absent group and serves on a root:<group> 0660 socket", async () => {
    const group = uniqueGroup();
    expect(localGroupId(group)).toBeUndefined();
    const path = join(tempDir(), "keond.sock");
    const server = await listenUnix({ path, group, fetch: hello });
    cleanups.push(() => server.stop(true));
    const gid = localGroupId(group);
    expect(gid).toBeNumber();
    // A system group: below the first regular gid (1000 on Debian).
    expect(gid!).toBeLessThan(1000);
    const stat = statSync(path);
    expect(stat.uid).toBe(0);
    expect(stat.gid).toBe(gid!);
    expect(stat.mode & 0o777).toBe(0o660);
    expect(await (await fetch("http://keond/", { unix: path })).text()).toBe("hello");
  });

  test("an existing group is reused, not created again", async () => {
    const group = uniqueGroup();
    const gid = await ensureGroup(group);
    expect(await ensureGroup(group)).toBe(gid);
    const lines = (await Bun.file("/etc/group").text()).split("\n").filter((l) => l.startsWith(`${group}:`));
    expect(lines).toHaveLength(1);
    const path = join(tempDir(), "keond.sock");
    const server = await listenUnix({ path, group, fetch: hello });
    cleanups.push(() => server.stop(true));
    expect(statSync(path).gid).toBe(gid);
  });

  test("two listeners racing to create the same group both get it", async () => {
    const group = uniqueGroup();
    const [a, b] = await Promise.all([ensureGroup(group), ensureGroup(group)]);
    expect(a).toBe(b);
    expect(localGroupId(group)).toBe(a);
    const lines = (await Bun.file("/etc/group").text()).split("\n").filter((l) => l.startsWith(`${group}:`));
    expect(lines).toHaveLength(1);
  });
});
