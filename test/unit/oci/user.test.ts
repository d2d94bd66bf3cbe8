import { describe, expect, test } from "bun:test";
import { buildOciSpec } from "../../../src/oci/spec.ts";
import { container, ctx, host, image, refusal } from "./fixtures.ts";

const user = (u: string | undefined, img: Parameters<typeof image>[0] = {}) =>
  buildOciSpec(container({ user: u }), ctx(), image(img), host()).process.user;

describe("process.user", () => {
  test("no user anywhere: root, with root's supplementary groups", () => {
    expect(user(undefined)).toEqual({ uid: 0, gid: 0, additionalGids: [0, 10] });
    expect(user("")).toEqual({ uid: 0, gid: 0, additionalGids: [0, 10] });
  });

  test("a name: uid and primary gid from passwd, groups from membership, primary gid first", () => {
    expect(user("app")).toEqual({ uid: 1000, gid: 1001, additionalGids: [1001, 10, 29] });
  });

  test("a uid in passwd takes that user's primary gid and groups", () => {
    expect(user("1000")).toEqual({ uid: 1000, gid: 1001, additionalGids: [1001, 10, 29] });
  });

  test("a uid not in passwd runs with gid 0 and no groups", () => {
    expect(user("4321")).toEqual({ uid: 4321, gid: 0, additionalGids: [0] });
  });

  test("uid:gid", () => {
    expect(user("4321:777")).toEqual({ uid: 4321, gid: 777, additionalGids: [777] });
    expect(user("1000:50")).toEqual({ uid: 1000, gid: 50, additionalGids: [50, 10, 29] });
  });

  test("name:group and uid:group", () => {
    expect(user("app:staff")).toEqual({ uid: 1000, gid: 50, additionalGids: [50, 10, 29] });
    expect(user("4321:staff")).toEqual({ uid: 4321, gid: 50, additionalGids: [50] });
  });

  test("the container's user beats the image's", () => {
    expect(user("daemon", { user: "app" }).uid).toBe(1);
  });

  test("the image's user applies when the container has none", () => {
    expect(user(undefined, { user: "app" })).toEqual({ uid: 1000, gid: 1001, additionalGids: [1001, 10, 29] });
    expect(user(undefined, { user: "65534:65534" }).uid).toBe(65534);
  });

  test("an unknown name is refused naming user", () => {
    expect(refusal(() => user("ghost"), "user")).toContain("ghost");
  });

  test("an unknown group is refused naming user", () => {
    expect(refusal(() => user("app:ghosts"), "user")).toContain("ghosts");
  });

  test("an unknown image user is refused naming user and saying it came from the image", () => {
    expect(refusal(() => user(undefined, { user: "ghost" }), "user")).toContain("image user");
  });

  test("no /etc/passwd: numeric ids work, names are refused", () => {
    expect(user("1000", { passwd: undefined, group: undefined })).toEqual({ uid: 1000, gid: 0, additionalGids: [0] });
    expect(user("1000:1000", { passwd: undefined })).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000] });
    expect(user(undefined, { passwd: undefined, group: undefined })).toEqual({ uid: 0, gid: 0, additionalGids: [0] });
    expect(refusal(() => user("app", { passwd: undefined }), "user")).toContain("no /etc/passwd");
  });

  test("out-of-range and malformed ids are refused", () => {
    refusal(() => user("4294967295"), "user");
    refusal(() => user("1:4294967296"), "user");
    refusal(() => user(undefined, { user: ":10" }), "user");
    refusal(() => user(undefined, { user: "app:" }), "user");
  });
});
