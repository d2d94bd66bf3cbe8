import { describe, expect, test } from "bun:test";
import { isKeonError } from "../../../src/model/errors.ts";
import {
  cellDirOf, cellRecordPathOf, containerEtcDirOf, containerLogPathOf, containerSecretsDirOf, previousLogPathOf, volumeDirOf,
} from "../../../src/runtime/run-layout.ts";

const scope = { realm: "r", space: "s", stack: "t", cell: "c" };

describe("run layout", () => {
  test("a cell's files sit under its scope; logs and the record never collide with a container directory", () => {
    expect(cellDirOf("/run/keon", scope)).toBe("/run/keon/cells/r/s/t/c");
    expect(containerEtcDirOf("/run/keon", scope, "app")).toBe("/run/keon/cells/r/s/t/c/app");
    expect(containerLogPathOf("/run/keon", scope, "app")).toBe("/run/keon/cells/r/s/t/c/app.log");
    expect(previousLogPathOf(containerLogPathOf("/run/keon", scope, "app"))).toBe("/run/keon/cells/r/s/t/c/app.previous.log");
    expect(cellRecordPathOf("/run/keon", scope)).toBe("/run/keon/cells/r/s/t/c/cell.json");
    expect(containerSecretsDirOf("/run/keon", scope, "app")).toBe("/run/keon/secrets/r/s/t/c/app");
  });

  test("volumes: one directory per scope, the name prefixed so it never equals a scope directory", () => {
    expect(volumeDirOf("/k", { realm: "r" }, "data")).toBe("/k/volumes/r/_data");
    expect(volumeDirOf("/k", { realm: "r", space: "s" }, "data")).toBe("/k/volumes/r/s/_data");
    expect(volumeDirOf("/k", { realm: "r", space: "s", stack: "t" }, "data")).toBe("/k/volumes/r/s/t/_data");
  });

  test("a name that could traverse a path is refused", () => {
    let error: unknown;
    try {
      containerEtcDirOf("/k", scope, "../etc");
    } catch (e) {
      error = e;
    }
    expect(isKeonError(error, "INVALID_NAME")).toBe(true);
  });
});
