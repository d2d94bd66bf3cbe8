import { expect, test } from "bun:test";
import { SseParser, readSse } from "../../../src/cli/sse.ts";

test("events split across chunks, comments skipped, multi-line data joined", () => {
  const parser = new SseParser();
  expect(parser.push(": keon events\n\nid: 1\nevent: keon\nda")).toEqual([]);
  expect(parser.push('ta: {"a":1}\n\n: keepalive\n\nid: 2\r\ndata: x\r\ndata: y\r\n\r\n')).toEqual([
    { id: "1", event: "keon", data: '{"a":1}' },
    { id: "2", event: "message", data: "x\ny" },
  ]);
});

test("readSse yields every event of a body", async () => {
  const body = new Response("data: one\n\ndata: two\n\n").body;
  const seen: string[] = [];
  for await (const event of readSse(body as ReadableStream<Uint8Array>)) seen.push(event.data);
  expect(seen).toEqual(["one", "two"]);
});
