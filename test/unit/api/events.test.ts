import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { EventInput, StoredEvent } from "../../../src/store/index.ts";
import { call, makeApi, type TestApi } from "./helpers.ts";

let api: TestApi;
let baseline: number;
beforeEach(() => {
  api = makeApi({ heartbeatMs: 40 });
  baseline = api.bus.listenerCount;
});
afterEach(() => api.close());

function append(input: Partial<EventInput> = {}): StoredEvent {
  return api.store.events.append({ realm: "main", kind: "Cell", name: "web", type: "Normal", reason: "Started", message: "started", ...input });
}

/** A worker appends the event, then reports it. */
function live(input: Partial<EventInput> = {}): StoredEvent {
  const event = append(input);
  api.bus.publish({ type: "event", event });
  return event;
}

interface Frame {
  id?: number;
  event?: string;
  data?: StoredEvent;
  comment?: string;
}

function parseFrames(text: string): Frame[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const frame: Frame = {};
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) frame.comment = line.slice(1).trim();
        else if (line.startsWith("id: ")) frame.id = Number(line.slice(4));
        else if (line.startsWith("event: ")) frame.event = line.slice(7);
        else if (line.startsWith("data: ")) frame.data = JSON.parse(line.slice(6));
      }
      return frame;
    });
}

class SseReader {
  private text = "";
  private readonly decoder = new TextDecoder();
  constructor(private readonly reader: { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(): Promise<void> }) {}

  /** Read until `ready(frames)` holds (or 2 s pass). */
  async until(ready: (frames: Frame[]) => boolean): Promise<Frame[]> {
    const deadline = Date.now() + 2000;
    while (!ready(parseFrames(this.text))) {
      if (Date.now() > deadline) throw new Error(`timed out; got ${this.text}`);
      const { done, value } = await this.reader.read();
      if (done) break;
      this.text += this.decoder.decode(value, { stream: true });
    }
    return parseFrames(this.text);
  }

  cancel(): Promise<void> {
    return this.reader.cancel();
  }
}

async function openStream(path: string, headers: Record<string, string> = { accept: "text/event-stream" }): Promise<{ response: Response; sse: SseReader }> {
  const response = await api.app.request(path, { headers });
  if (response.body === null) throw new Error("no body");
  return { response, sse: new SseReader(response.body.getReader()) };
}

const eventFrames = (frames: Frame[]) => frames.filter((f) => f.event === "keon");

describe("GET /v1/events as JSON", () => {
  test("lists events oldest first, filtered by realm, kind, name and since", async () => {
    const first = append();
    append({ realm: "other" });
    append({ kind: "Space", name: "default" });
    const fourth = append({ name: "api", type: "Warning", reason: "BackOff" });
    expect((await call(api, "/v1/events")).body.items.map((e: StoredEvent) => e.id)).toHaveLength(4);
    expect((await call(api, "/v1/events?realm=other")).body.items).toHaveLength(1);
    expect((await call(api, "/v1/events?kind=Space")).body.items.map((e: StoredEvent) => e.name)).toEqual(["default"]);
    expect((await call(api, "/v1/events?name=api&type=Warning")).body.items.map((e: StoredEvent) => e.id)).toEqual([fourth.id]);
    expect((await call(api, `/v1/events?since=${first.id}&realm=main`)).body.items).toHaveLength(2);
    expect((await call(api, "/v1/events?limit=1")).body.items).toEqual([first]);
  });

  test("bad filters are 400s naming the parameter", async () => {
    for (const [query, field] of [["kind=Pod", "kind"], ["realm=Bad", "realm"], ["name=a_b", "name"], ["since=-1", "since"], ["since=x", "since"], ["type=Info", "type"], ["watch=maybe", "watch"], ["limit=100000", "limit"]] as const) {
      const answer = await call(api, `/v1/events?${query}`);
      expect(answer.status).toBe(400);
      expect(answer.body.error.details.field).toBe(field);
    }
    const header = await call(api, "/v1/events", { headers: { accept: "text/event-stream", "last-event-id": "abc" } });
    expect(header.status).toBe(400);
    expect(header.body.error.details.field).toBe("Last-Event-ID");
  });
});

describe("GET /v1/events: repeated events", () => {
  test("a repeat is one item with count, first time and lastTimestamp", async () => {
    const first = append({ type: "Warning", reason: "BackOff", message: "restarting app", time: new Date("2025-01-01T00:00:00Z") });
    append({ type: "Warning", reason: "BackOff", message: "restarting app", time: new Date("2025-01-01T00:01:30Z") });
    const { body } = await call(api, "/v1/events?realm=main");
    expect(body.items).toHaveLength(1);
    expect(body.items[0].count).toBe(2);
    expect(body.items[0].time).toBe(first.time);
    expect(body.items[0].lastTimestamp).toBe("2025-01-01T00:01:30.000Z");
  });
});

describe("GET /v1/events as Server-Sent Events", () => {
  test("replays from since, then streams live events, in order and without repeats", async () => {
    const first = append();
    const second = append({ reason: "Pulled" });
    const { response, sse } = await openStream(`/v1/events?since=${first.id}`);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const replayed = await sse.until((frames) => eventFrames(frames).length >= 1);
    expect(eventFrames(replayed).map((f) => f.id)).toEqual([second.id]);
    expect(eventFrames(replayed)[0]?.data).toEqual(second);

    const third = live({ reason: "Ready" });
    // A duplicate report of an event already sent is dropped.
    api.bus.publish({ type: "event", event: second });
    const fourth = live({ reason: "Killed", type: "Warning" });
    const all = await sse.until((frames) => eventFrames(frames).length >= 3);
    expect(eventFrames(all).map((f) => f.id)).toEqual([second.id, third.id, fourth.id]);
    expect(eventFrames(all)[2]?.data).toMatchObject({ reason: "Killed", type: "Warning" });
    await sse.cancel();
    expect(api.bus.listenerCount).toBe(baseline);
  });

  test("?watch=true streams too; without since it starts at now", async () => {
    append({ reason: "Old" });
    const { sse } = await openStream("/v1/events?watch=true", {});
    const fresh = live({ reason: "New" });
    const frames = await sse.until((f) => eventFrames(f).length >= 1);
    expect(eventFrames(frames).map((f) => f.id)).toEqual([fresh.id]);
    await sse.cancel();
  });

  test("resumes from Last-Event-ID and applies the filters to live events", async () => {
    const first = append({ realm: "main" });
    append({ realm: "other" });
    const third = append({ realm: "main" });
    const { sse } = await openStream("/v1/events?realm=main&kind=Cell", { accept: "text/event-stream", "last-event-id": String(first.id) });
    live({ realm: "other" });
    live({ realm: "main", kind: "Space", name: "default" });
    const wanted = live({ realm: "main" });
    const frames = await sse.until((f) => eventFrames(f).length >= 2);
    expect(eventFrames(frames).map((f) => f.id)).toEqual([third.id, wanted.id]);
    await sse.cancel();
  });

  test("sends a comment heartbeat", async () => {
    const { sse } = await openStream("/v1/events");
    const frames = await sse.until((f) => f.some((frame) => frame.comment === "keepalive"));
    expect(frames[0]?.comment).toBe("keon events");
    await sse.cancel();
    expect(api.bus.listenerCount).toBe(baseline);
  });

  test("a client going away unsubscribes", async () => {
    const controller = new AbortController();
    const response = await api.app.request("/v1/events", { headers: { accept: "text/event-stream" }, signal: controller.signal });
    expect(response.status).toBe(200);
    expect(api.bus.listenerCount).toBe(baseline + 1);
    controller.abort();
    const deadline = Date.now() + 2000;
    while (api.bus.listenerCount !== baseline && Date.now() < deadline) await Bun.sleep(5);
    expect(api.bus.listenerCount).toBe(baseline);
  });

  test("a repeated event arrives again with its count and a fresh id; a replay shows it merged", async () => {
    const { sse } = await openStream("/v1/events?realm=main");
    const once = live({ type: "Warning", reason: "BackOff", message: "restarting app" });
    const twice = live({ type: "Warning", reason: "BackOff", message: "restarting app" });
    const frames = eventFrames(await sse.until((f) => eventFrames(f).length >= 2));
    expect(frames.map((f) => [f.id, f.data?.count])).toEqual([[once.id, 1], [twice.id, 2]]);
    expect(twice.id).toBeGreaterThan(once.id);
    expect(frames[1]?.data?.lastTimestamp).toBe(twice.lastTimestamp);
    await sse.cancel();

    const replay = await openStream(`/v1/events?realm=main&since=0`);
    const replayed = eventFrames(await replay.sse.until((f) => eventFrames(f).length >= 1));
    expect(replayed.map((f) => [f.id, f.data?.count])).toEqual([[twice.id, 2]]);
    await replay.sse.cancel();
  });
});
