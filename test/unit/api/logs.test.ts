import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { tailOffset } from "../../../src/api/logs-routes.ts";
import { containerLogPathOf, previousLogPathOf } from "../../../src/runtime/run-layout.ts";
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
});
