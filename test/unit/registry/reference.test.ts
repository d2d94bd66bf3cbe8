import { describe, expect, test } from "bun:test";
import { parseReference } from "../../../src/model/image-reference.ts";
import { apiHostOf, manifestSelector } from "../../../src/registry/reference.ts";

const DIGEST = `sha256:${"a".repeat(64)}`;

describe("registry API names", () => {
  test("a pinned digest wins over the tag when asking for the manifest", () => {
    expect(manifestSelector(parseReference(`r.io/a:t@${DIGEST}`))).toBe(DIGEST);
    expect(manifestSelector(parseReference("r.io/a:t"))).toBe("t");
  });

  test("Docker Hub is asked at registry-1.docker.io", () => {
    expect(apiHostOf("docker.io")).toBe("registry-1.docker.io");
    expect(apiHostOf("127.0.0.1:5000")).toBe("127.0.0.1:5000");
  });
});
