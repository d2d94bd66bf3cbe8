import { afterAll, describe, expect, test } from "bun:test";
import { ContainerdConnection } from "../../../src/containerd/connection.ts";
import { EventsService, isEvent, namespaceFilter } from "../../../src/containerd/services/events.ts";

// No server is needed: the connection only dials on the first call.
const conn = new ContainerdConnection({ socket: "/nonexistent/keon-unit.sock", namespace: "unit" });
const events = new EventsService(conn);

afterAll(() => conn.close());

describe("event decoding", () => {
  test("a TaskExit payload decodes into a typed event, exit status 0 included", () => {
    const value = conn.encode("containerd.events.TaskExit", {
      container_id: "web",
      id: "web",
      pid: 4242,
      exit_status: 0,
      exited_at: { seconds: 1_700_000_000, nanos: 5_000_000 },
    });
    const decoded = events.decode({
      timestamp: { seconds: 1_700_000_001, nanos: 0 },
      namespace: "realm-a",
      topic: "/tasks/exit",
      event: { type_url: "containerd.events.TaskExit", value },
    });
    expect(decoded.topic).toBe("/tasks/exit");
    expect(decoded.timestamp?.toISOString()).toBe("2023-11-14T22:13:21.000Z");
    if (!isEvent(decoded, "containerd.events.TaskExit")) throw new Error("not a TaskExit");
    // proto3 does not send zero values; defaults make them present anyway.
    expect(decoded.event).toEqual({
      container_id: "web",
      id: "web",
      pid: 4242,
      exit_status: 0,
      exited_at: { seconds: 1_700_000_000, nanos: 5_000_000 },
    });
  });

  test("TaskOOM decodes too", () => {
    const value = conn.encode("containerd.events.TaskOOM", { container_id: "db" });
    const decoded = events.decode({
      timestamp: null,
      namespace: "realm-a",
      topic: "/tasks/oom",
      event: { type_url: "containerd.events.TaskOOM", value },
    });
    expect(isEvent(decoded, "containerd.events.TaskOOM") && decoded.event.container_id).toBe("db");
    expect(isEvent(decoded, "containerd.events.TaskExit")).toBe(false);
  });

  test("an unknown payload type is kept by name with a null event", () => {
    const decoded = events.decode({
      timestamp: null,
      namespace: "n",
      topic: "/custom",
      event: { type_url: "example.com/Custom", value: Buffer.alloc(0) },
    });
    expect(decoded.typeName).toBe("Custom");
    expect(decoded.event).toBeNull();
  });

  test("namespace filters quote the name", () => {
    expect(namespaceFilter("realm-a")).toBe('namespace=="realm-a"');
  });
});
