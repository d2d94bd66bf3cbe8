import { describe, expect, test } from "bun:test";
import { KeonError } from "../../../src/model/errors.ts";
import { formatReference, imageNameCandidates, normalizeImageName, parseReference } from "../../../src/model/image-reference.ts";

const DIGEST = `sha256:${"a".repeat(64)}`;

describe("image references", () => {
  test.each([
    ["busybox", "docker.io/library/busybox:latest"],
    ["busybox:1.36", "docker.io/library/busybox:1.36"],
    ["library/busybox", "docker.io/library/busybox:latest"],
    ["someone/app:v1", "docker.io/someone/app:v1"],
    ["index.docker.io/library/busybox", "docker.io/library/busybox:latest"],
    ["docker.io/busybox", "docker.io/library/busybox:latest"],
    ["quay.io/org/app", "quay.io/org/app:latest"],
    ["localhost/app", "localhost/app:latest"],
    ["localhost:5000/app:x", "localhost:5000/app:x"],
    ["127.0.0.1:5000/a/b/c:tag-1.2_3", "127.0.0.1:5000/a/b/c:tag-1.2_3"],
    ["[::1]:5000/app", "[::1]:5000/app:latest"],
    [`busybox@${DIGEST}`, `docker.io/library/busybox@${DIGEST}`],
    [`reg.example:443/app:v2@${DIGEST}`, `reg.example:443/app:v2@${DIGEST}`],
    ["my.registry/a__b/c-d/e.f", "my.registry/a__b/c-d/e.f:latest"],
  ])("%s → %s", (input, expected) => {
    expect(formatReference(parseReference(input))).toBe(expected);
  });

  test("parts", () => {
    expect(parseReference(`127.0.0.1:5000/x/y:t@${DIGEST}`)).toEqual({ domain: "127.0.0.1:5000", path: "x/y", tag: "t", digest: DIGEST });
    expect(parseReference(`x@${DIGEST}`).tag).toBeUndefined();
  });

  test("a name resolves as written first, then normalised; an invalid one only as written", () => {
    expect(imageNameCandidates("busybox")).toEqual(["busybox", "docker.io/library/busybox:latest"]);
    expect(imageNameCandidates("docker.io/library/busybox:latest")).toEqual(["docker.io/library/busybox:latest"]);
    expect(imageNameCandidates("Not A Ref")).toEqual(["Not A Ref"]);
    expect(normalizeImageName("127.0.0.1:5000/app")).toBe("127.0.0.1:5000/app:latest");
    expect(normalizeImageName("Busybox")).toBeUndefined();
  });

  test.each([
    ["", "empty"],
    ["Busybox", "bad path component"],
    ["busybox:", "bad tag"],
    ["busybox:-x", "bad tag"],
    ["a b", "whitespace"],
    ["reg.io/", "no repository path"],
    ["reg.io/a//b", "bad path component"],
    ["busybox@sha256:xyz", "bad digest"],
    ["-reg.io/a", "bad registry host"],
    [`reg.io/${"a".repeat(300)}`, "longer than"],
  ])("'%s' is refused (%s)", (input, why) => {
    let error: unknown;
    try {
      parseReference(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KeonError);
    expect((error as KeonError).code).toBe("INVALID_NAME");
    expect((error as KeonError).message).toContain(why);
  });

  test("digests other than sha256 are unsupported, not invalid", () => {
    expect(() => parseReference(`a@sha512:${"b".repeat(128)}`)).toThrow(/only sha256/);
  });
});
