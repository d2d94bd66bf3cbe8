import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { isKeonError } from "../../../src/model/errors.ts";
import { parseDocument } from "../../../src/model/parse.ts";
import type { VolumeDocument } from "../../../src/model/schema/volume.ts";
import { deleteVolume, ensureVolume, resolveVolumes } from "../../../src/runtime/volumes.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync("/tmp/keon-unit-volumes-");
  dirs.push(d);
  return d;
}
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("resolveVolumes", () => {
  test("a missing bind source is an error naming the field, and nothing is created", () => {
    const run = tempDir();
    const source = join(run, "absent");
    const error = thrown(() => resolveVolumes(run, { id: "app", volumes: [{ source, target: "/data" }] }, "spec.containers[1]"));
    expect(isKeonError(error, "INVALID_DOCUMENT")).toBe(true);
    expect((error as Error).message).toContain("spec.containers[1].volumes[0].source");
    expect(existsSync(source)).toBe(false);
  });

  test("ensure creates a missing bind source; an existing one is used as is", () => {
    const run = tempDir();
    const source = join(run, "made");
    expect(resolveVolumes(run, { id: "app", volumes: [{ source, target: "/data", ensure: true }] }, "c")).toEqual({});
    expect(existsSync(source)).toBe(true);
  });

  test("a managed volume resolves to its scope's directory keyed by target; absent without ensure is VOLUME_NOT_FOUND", () => {
    const run = tempDir();
    const mount = { kind: "volume" as const, target: "/v", volumeRef: { name: "data", realm: "r", space: "s" } };
    expect(isKeonError(thrown(() => resolveVolumes(run, { id: "a", volumes: [mount] }, "c")), "VOLUME_NOT_FOUND")).toBe(true);
    const sources = resolveVolumes(run, { id: "a", volumes: [{ ...mount, ensure: true }] }, "c");
    expect(sources).toEqual({ "/v": join(run, "volumes/r/s/_data") });
    expect(existsSync(sources["/v"]!)).toBe(true);
  });

  test("tmpfs volumes need nothing on the host", () => {
    expect(resolveVolumes(tempDir(), { id: "a", volumes: [{ kind: "tmpfs", target: "/t" }] }, "c")).toEqual({});
  });
});

describe("volume reclaim", () => {
  const volume = (policy?: "Delete" | "Retain") =>
    parseDocument({ kind: "Volume", metadata: { name: "data", realm: "r" }, spec: policy ? { reclaimPolicy: policy } : {} }) as VolumeDocument;

  test("Retain (the default) keeps the directory; Delete removes it", () => {
    const run = tempDir();
    const dir = ensureVolume(run, volume());
    mkdirSync(join(dir, "inside"));
    expect(deleteVolume(run, volume())).toBe(false);
    expect(deleteVolume(run, volume("Retain"))).toBe(false);
    expect(existsSync(join(dir, "inside"))).toBe(true);
    expect(deleteVolume(run, volume("Delete"))).toBe(true);
    expect(existsSync(dir)).toBe(false);
  });
});
