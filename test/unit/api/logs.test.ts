import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { tailOffset } from "../../../src/api/logs-routes.ts";
import { encodeLogTimeRecord, encodeLogTimesHeader } from "../../../src/model/log-times.ts";
import { containerLogPathOf, logTimesPathOf, previousLogPathOf } from "../../../src/runtime/run-layout.ts";
import { C, K, call, cellDoc, containerDoc, jsonRequest, makeApi, seedHierarchy, type TestApi } from "./helpers.ts";

let api: TestApi;
beforeEach(async () => {
  api = makeApi({ logPollMs: 10 });
  await seedHierarchy(api);
});
afterEach(() => api.close());

function logPath(container: string, cell = "web"): string {
  return containerLogPathOf(api.runPath, { realm: "main", space: "default", stack: "shop", cell }, container);
}

function writeLog(container: string, text: string, cell = "web"): string {
  const path = logPath(container, cell);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

/** A followed log response: read until some text arrives (with a deadline), and all read so far. */
function followed(response: Response) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const readUntil = async (want: string) => {
    const deadline = Date.now() + 2000;
    while (!text.includes(want)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${want}; got ${text}`);
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended");
      text += decoder.decode(value);
    }
  };
  return { reader, readUntil, text: () => text };
}

describe("container logs", () => {
  test("the whole file, or its last N lines", async () => {
    writeLog("app", "one\ntwo\nthree\n");
    const all = await call(api, `${C}/logs?container=app`);
    expect(all.status).toBe(200);
    expect(all.headers.get("content-type")).toContain("text/plain");
    expect(all.body).toBe("one\ntwo\nthree\n");
    expect((await call(api, `${C}/logs?container=app&tail=2`)).body).toBe("two\nthree\n");
    expect((await call(api, `${C}/logs?container=app&tail=0`)).body).toBe("");
    expect((await call(api, `${C}/logs?container=app&tail=10`)).body).toBe("one\ntwo\nthree\n");
  });

  test("the only container needs no name; a missing file is empty", async () => {
    writeLog("app", "hello\n");
    expect((await call(api, `${C}/logs`)).body).toBe("hello\n");
    await call(api, `${K}/cells/quiet`, jsonRequest("PUT", cellDoc("quiet")));
    const quiet = await call(api, `${K}/cells/quiet/logs`);
    expect(quiet.status).toBe(200);
    expect(quiet.body).toBe("");
  });

  test("Container documents of the cell have logs too; several containers need a name", async () => {
    await call(api, `${C}/containers/sidecar`, jsonRequest("PUT", containerDoc()));
    writeLog("sidecar", "side\n");
    expect((await call(api, `${C}/logs?container=sidecar`)).body).toBe("side\n");
    const ambiguous = await call(api, `${C}/logs`);
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.body.error.details).toMatchObject({ field: "container", containers: ["app", "sidecar"] });
  });

  test("a missing container is 404 CONTAINER_NOT_FOUND; a missing cell CELL_NOT_FOUND; bad parameters 400", async () => {
    const missing = await call(api, `${C}/logs?container=nope`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("CONTAINER_NOT_FOUND");
    expect((await call(api, `${K}/cells/nope/logs`)).body.error.code).toBe("CELL_NOT_FOUND");
    expect((await call(api, `${C}/logs?container=..`)).body.error.details.field).toBe("container");
    expect((await call(api, `${C}/logs?tail=-3`)).body.error.details.field).toBe("tail");
    expect((await call(api, `${C}/logs?follow=perhaps`)).body.error.details.field).toBe("follow");
  });

  test("follow streams appended bytes until the client goes away", async () => {
    const path = writeLog("app", "first\n");
    const controller = new AbortController();
    const response = await api.app.request(`${C}/logs?container=app&follow=true&tail=1`, { signal: controller.signal });
    const { reader, readUntil, text } = followed(response);
    await readUntil("first\n");
    appendFileSync(path, "second\n");
    await readUntil("second\n");
    appendFileSync(path, "third\n");
    await readUntil("third\n");
    expect(text()).toBe("first\nsecond\nthird\n");
    controller.abort();
    await reader.cancel();
  });

  test("follow waits for a file that does not exist yet", async () => {
    const response = await api.app.request(`${C}/logs?container=app&follow=true`);
    const reader = response.body!.getReader();
    setTimeout(() => writeLog("app", "late\n"), 30);
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toBe("late\n");
    await reader.cancel();
  });

  test("follow across a new instance: the rest of the rotated log, then the new log from its start", async () => {
    const path = writeLog("app", "old-1\n");
    const response = await api.app.request(`${C}/logs?container=app&follow=true`);
    const { reader, readUntil, text } = followed(response);
    await readUntil("old-1\n");
    // The old instance's last words land after the follower's read, then the runtime rotates the log and the
    // new instance writes more than the follower had read before it looks again.
    appendFileSync(path, "old-2\n");
    renameSync(path, previousLogPathOf(path));
    writeFileSync(path, "new-1 a line longer than what was read of the old log\n");
    await readUntil("new-1");
    expect(text()).toBe("old-1\nold-2\nnew-1 a line longer than what was read of the old log\n");
    await reader.cancel();
  });

  test("previous=true reads the previous instance's log (never followed); without one it is a 404 saying so", async () => {
    const missing = await call(api, `${C}/logs?container=app&previous=true`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toContain("no previous instance");
    const path = writeLog("app", "now\n");
    writeFileSync(previousLogPathOf(path), "before\nthe crash\n");
    expect((await call(api, `${C}/logs?container=app&previous=true`)).body).toBe("before\nthe crash\n");
    expect((await call(api, `${C}/logs?container=app&previous=true&tail=1`)).body).toBe("the crash\n");
    expect((await call(api, `${C}/logs?container=app&previous=true&follow=true`)).body).toBe("before\nthe crash\n");
    expect((await call(api, `${C}/logs?container=app`)).body).toBe("now\n");
  });

  test("tailOffset counts lines from the end across chunk boundaries", async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${"x".repeat(40)}`);
    const path = writeLog("app", `${lines.join("\n")}\n`);
    const size = Bun.file(path).size;
    const offset = await tailOffset(path, size, 3000);
    const rest = (await Bun.file(path).text()).slice(offset);
    expect(rest.split("\n").filter(Boolean)).toEqual(lines.slice(2000));
    // Without a final newline the last partial line counts as a line.
    const partial = writeLog("app", "a\nb\nc");
    expect(await tailOffset(partial, 5, 2)).toBe(2);
  });

  /** A log of three lines written 10 s apart (its times file as the keeper would write it), the last write at `base + 20 s`. */
  function timedLog(base: bigint): string {
    const path = writeLog("app", "one\ntwo\nthree\n");
    const inode = statSync(path, { bigint: true }).ino;
    const S = 1_000_000_000n;
    const records = [
      { end: 4, ns: base },
      { end: 8, ns: base + 10n * S },
      { end: 14, ns: base + 20n * S },
    ];
    writeFileSync(logTimesPathOf(path), Buffer.concat([encodeLogTimesHeader(inode), ...records.map(encodeLogTimeRecord)]));
    return path;
  }

  test("timestamps=true begins each line with when it was written", async () => {
    const base = 1_796_665_501_000_000_000n;
    timedLog(base);
    expect((await call(api, `${C}/logs?container=app&timestamps=true`)).body).toBe(
      "2026-12-07T17:45:01.000000000Z one\n2026-12-07T17:45:11.000000000Z two\n2026-12-07T17:45:21.000000000Z three\n",
    );
    expect((await call(api, `${C}/logs?container=app&timestamps=true&tail=1`)).body).toBe("2026-12-07T17:45:21.000000000Z three\n");
  });

  test("sinceTime and sinceSeconds leave out the lines written before", async () => {
    const now = BigInt(Date.now()) * 1_000_000n;
    timedLog(now - 25n * 1_000_000_000n);
    expect((await call(api, `${C}/logs?container=app&sinceSeconds=3600`)).body).toBe("one\ntwo\nthree\n");
    expect((await call(api, `${C}/logs?container=app&sinceSeconds=20`)).body).toBe("two\nthree\n");
    expect((await call(api, `${C}/logs?container=app&sinceSeconds=10`)).body).toBe("three\n");
    expect((await call(api, `${C}/logs?container=app&sinceSeconds=2`)).body).toBe("");
    expect((await call(api, `${C}/logs?container=app&sinceSeconds=20&tail=5`)).body).toBe("two\nthree\n");
    const at = new Date(Number((now - 12n * 1_000_000_000n) / 1_000_000n)).toISOString();
    expect((await call(api, `${C}/logs?container=app&sinceTime=${at}&timestamps=true`)).body).toMatch(/^\S+Z three\n$/);
  });

  test("a log without a times file (written while no keond kept them) is stamped with its mtime", async () => {
    const path = writeLog("app", "a\nb\n");
    const mtime = new Date(Number(statSync(path, { bigint: true }).mtimeNs / 1_000_000n)).toISOString().slice(0, 23);
    const body: string = (await call(api, `${C}/logs?container=app&timestamps=true`)).body;
    expect(body.split("\n").filter(Boolean).map((line) => line.slice(0, 23))).toEqual([mtime, mtime]);
  });

  test("a followed log stamps what is appended", async () => {
    const path = writeLog("app", "first\n");
    const response = await api.app.request(`${C}/logs?container=app&follow=true&timestamps=true`);
    const { reader, readUntil, text } = followed(response);
    await readUntil("first\n");
    appendFileSync(path, "sec");
    await readUntil("sec");
    appendFileSync(path, "ond\n");
    await readUntil("ond\n");
    expect(text()).toMatch(/^\S+Z first\n\S+Z second\n$/);
    await reader.cancel();
  });

  test("bad time bounds are 400 naming the parameter", async () => {
    expect((await call(api, `${C}/logs?sinceTime=yesterday`)).body.error.details.field).toBe("sinceTime");
    expect((await call(api, `${C}/logs?sinceSeconds=-1`)).body.error.details.field).toBe("sinceSeconds");
    expect((await call(api, `${C}/logs?sinceSeconds=5&sinceTime=2026-12-07T17:45:00Z`)).body.error.details.field).toBe("sinceTime");
    expect((await call(api, `${C}/logs?timestamps=maybe`)).body.error.details.field).toBe("timestamps");
  });
});
