import { describe, expect, test } from "bun:test";
import { isKeonError } from "../../../src/model/errors.ts";
import { resolveInRoot, requestedComponents, type EntryKind, type RootView } from "../../../src/runtime/rootfs-path.ts";

const ROOT = "/proc/42/root";

/** A fake tree: container path → kind, or a symlink's target. */
function fakeRoot(entries: Record<string, EntryKind | { link: string }>): RootView & { reads: string[] } {
  const reads: string[] = [];
  const at = (hostPath: string) => {
    expect(hostPath.startsWith(ROOT)).toBe(true);
    reads.push(hostPath);
    return entries[hostPath.slice(ROOT.length) || "/"];
  };
  return {
    reads,
    kind(hostPath) {
      const entry = at(hostPath);
      if (entry === undefined) return undefined;
      return typeof entry === "string" ? entry : "symlink";
    },
    readlink(hostPath) {
      const entry = at(hostPath);
      if (typeof entry !== "object") throw new Error(`not a symlink: ${hostPath}`);
      return entry.link;
    },
  };
}

const tree = fakeRoot({
  "/etc": "directory",
  "/etc/shadow": "file",
  "/data": "directory",
  "/data/file": "file",
  "/data/abs-escape": { link: "/../../etc/shadow" },
  "/data/rel-escape": { link: "../../../../etc/shadow" },
  "/data/to-data": { link: "/data" },
  "/data/dir-link": { link: "sub/./" },
  "/data/sub": "directory",
  "/data/loop": { link: "loop" },
  "/data/to-root": { link: "/" },
  "/data/via-file": { link: "file/x" },
});

function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (isKeonError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("resolveInRoot", () => {
  test("a plain path lands under the root", () => {
    expect(resolveInRoot(ROOT, "/data/file", tree, { followLast: true })).toEqual({ containerPath: "/data/file", hostPath: `${ROOT}/data/file`, kind: "file" });
  });

  test("an absolute symlink escaping with .. is clamped to the container root", () => {
    const r = resolveInRoot(ROOT, "/data/abs-escape", tree, { followLast: true });
    expect(r).toEqual({ containerPath: "/etc/shadow", hostPath: `${ROOT}/etc/shadow`, kind: "file" });
  });

  test("a relative symlink climbing past / stays at the container root", () => {
    expect(resolveInRoot(ROOT, "/data/rel-escape", tree, { followLast: true }).hostPath).toBe(`${ROOT}/etc/shadow`);
  });

  test("every path read stays under the root", () => {
    for (const path of ["/data/abs-escape", "/data/rel-escape", "/data/to-root/etc", "/data/to-data/to-data/file"]) {
      resolveInRoot(ROOT, path, tree, { followLast: true });
    }
    expect(tree.reads.every((p) => p === ROOT || p.startsWith(`${ROOT}/`))).toBe(true);
  });

  test("symlinks in leading components are followed; the last one only when asked", () => {
    expect(resolveInRoot(ROOT, "/data/to-data/file", tree, { followLast: false }).hostPath).toBe(`${ROOT}/data/file`);
    expect(resolveInRoot(ROOT, "/data/abs-escape", tree, { followLast: false })).toEqual({ containerPath: "/data/abs-escape", hostPath: `${ROOT}/data/abs-escape`, kind: "symlink" });
    expect(resolveInRoot(ROOT, "/data/dir-link", tree, { followLast: true })).toEqual({ containerPath: "/data/sub", hostPath: `${ROOT}/data/sub`, kind: "directory" });
    expect(resolveInRoot(ROOT, "/data/to-root", tree, { followLast: true })).toEqual({ containerPath: "/", hostPath: ROOT, kind: "directory" });
  });

  test("a missing last component comes back without a kind; a missing parent is NOT_FOUND naming it", () => {
    expect(resolveInRoot(ROOT, "/data/new", tree, { followLast: true })).toEqual({ containerPath: "/data/new", hostPath: `${ROOT}/data/new`, kind: undefined });
    expect(refusal(() => resolveInRoot(ROOT, "/nope/new", tree, { followLast: true }))).toEqual({ code: "NOT_FOUND", message: "'/nope' does not exist in the container (resolving '/nope/new')" });
  });

  test("a file in the middle, a loop, a relative or escaping request are refused", () => {
    expect(refusal(() => resolveInRoot(ROOT, "/data/file/x", tree, { followLast: true })).message).toContain("'/data/file' is not a directory");
    expect(refusal(() => resolveInRoot(ROOT, "/data/via-file", tree, { followLast: true })).message).toContain("'/data/file' is not a directory");
    expect(refusal(() => resolveInRoot(ROOT, "/data/loop", tree, { followLast: true })).message).toContain("too many symbolic links");
    expect(refusal(() => resolveInRoot(ROOT, "data/file", tree, { followLast: true })).message).toContain("must be absolute");
    expect(refusal(() => resolveInRoot(ROOT, "/data/../../etc/shadow", tree, { followLast: true })).message).toContain("escapes the container's root");
  });
});

describe("requestedComponents", () => {
  test("drops empty and . parts and folds .. inside the root", () => {
    expect(requestedComponents("//data/./sub/../file/")).toEqual(["data", "file"]);
    expect(requestedComponents("/")).toEqual([]);
  });
});
