import { describe, expect, test } from "bun:test";
import { describeDocument, eventAge, formatEvents } from "../../../../src/cli/output/describe.ts";

const now = new Date("2025-01-01T00:10:00Z");

describe("event age", () => {
  test("a single event shows how long ago it happened", () => {
    expect(eventAge({ time: "2025-01-01T00:09:50Z" }, now)).toBe("10s");
    expect(eventAge({ time: "2025-01-01T00:09:50Z", lastTimestamp: "2025-01-01T00:09:50Z", count: 1 }, now)).toBe("10s");
  });

  test("a repeated event shows when it was last seen and 'xN over' its span, like kubectl", () => {
    expect(eventAge({ time: "2025-01-01T00:07:00Z", lastTimestamp: "2025-01-01T00:09:00Z", count: 5 }, now)).toBe("60s (x5 over 2m)");
    expect(eventAge({ time: "2025-01-01T00:00:00Z", lastTimestamp: "2025-01-01T00:09:55Z", count: 12 }, now)).toBe("5s (x12 over 9m)");
  });

  test("keon events and describe show it in the AGE column", () => {
    const repeated = { time: "2025-01-01T00:08:00Z", lastTimestamp: "2025-01-01T00:09:30Z", count: 3, type: "Warning", reason: "BackOff", kind: "Cell", name: "web", message: "restarting app" };
    expect(formatEvents([repeated], now, true)).toMatch(/30s \(x3 over 90s\)\s+Warning\s+BackOff\s+cell\/web\s+restarting app/);
    const described = describeDocument("cell", { kind: "Cell", metadata: { name: "web" }, spec: { realmId: "r", spaceId: "s", stackId: "t", containers: [] } }, [repeated], now);
    expect(described).toMatch(/Events:\n  AGE\s+TYPE\s+REASON\s+MESSAGE\n  30s \(x3 over 90s\)\s+Warning\s+BackOff\s+restarting app\n$/);
  });
});
