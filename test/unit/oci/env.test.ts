import { describe, expect, test } from "bun:test";
import { DEFAULT_PATH_ENV } from "../../../src/oci/defaults.ts";
import { mergeEnv } from "../../../src/oci/env.ts";
import { buildOciSpec } from "../../../src/oci/spec.ts";
import { container, ctx, host, image } from "./fixtures.ts";

const KEON = [
  "KEON_REALM=acme",
  "KEON_SPACE=prod",
  "KEON_STACK=shop",
  "KEON_CELL_NAME=web",
  "KEON_CONTAINER_ID=app",
];

describe("process.env", () => {
  test("Keon's variables first, then PATH, then the image's, then the user's", () => {
    const spec = buildOciSpec(
      container({ env: ["USER_VAR=u"] }),
      ctx(),
      image({ env: ["PATH=/usr/bin:/bin", "IMG=i"] }),
      host(),
    );
    expect(spec.process.env).toEqual([...KEON, "PATH=/usr/bin:/bin", "IMG=i", "USER_VAR=u"]);
  });

  test("KEON_CELL_PROFILE_NAME only when the cell came from a profile", () => {
    const withProfile = buildOciSpec(container(), ctx({ cellProfileName: "dev" }), image({ env: [] }), host());
    expect(withProfile.process.env).toEqual([...KEON, "KEON_CELL_PROFILE_NAME=dev", DEFAULT_PATH_ENV]);
    const without = buildOciSpec(container(), ctx({ cellProfileName: "" }), image({ env: [] }), host());
    expect(without.process.env.some((e) => e.startsWith("KEON_CELL_PROFILE_NAME="))).toBe(false);
  });

  test("later sources win the value, the first position stays", () => {
    const spec = buildOciSpec(
      container({ env: ["A=user", "KEON_SPACE=mine", "PATH=/opt/bin"] }),
      ctx(),
      image({ env: ["A=image", "B=image"] }),
      host(),
    );
    expect(spec.process.env).toEqual([
      "KEON_REALM=acme",
      "KEON_SPACE=mine",
      "KEON_STACK=shop",
      "KEON_CELL_NAME=web",
      "KEON_CONTAINER_ID=app",
      "PATH=/opt/bin",
      "A=user",
      "B=image",
    ]);
  });

  test("a duplicate within the user's env keeps the last value", () => {
    const spec = buildOciSpec(container({ env: ["X=1", "Y=2", "X=3"] }), ctx(), image({ env: [] }), host());
    expect(spec.process.env.slice(-2)).toEqual(["X=3", "Y=2"]);
  });

  test("default PATH when neither image nor user sets one", () => {
    const spec = buildOciSpec(container(), ctx(), image({ env: undefined }), host());
    expect(spec.process.env).toContain(DEFAULT_PATH_ENV);
  });

  test("values may contain '=' and be empty", () => {
    const spec = buildOciSpec(container({ env: ["Q=a=b", "E="] }), ctx(), image({ env: [] }), host());
    expect(spec.process.env.slice(-2)).toEqual(["Q=a=b", "E="]);
  });

  test("secret env vars come after the image's and lose to the user's", () => {
    const spec = buildOciSpec(
      container({ env: ["TOKEN=override"] }),
      ctx({ secretEnv: [{ name: "DB_PASSWORD", value: "s3cret" }, { name: "TOKEN", value: "t" }] }),
      image({ env: ["DB_PASSWORD=fromimage"] }),
      host(),
    );
    expect(spec.process.env.slice(-2)).toEqual(["DB_PASSWORD=s3cret", "TOKEN=override"]);
  });

  test("mergeEnv keeps an image entry without '=' as written", () => {
    expect(mergeEnv(["A=1", "BARE"], ["BARE=2"])).toEqual(["A=1", "BARE=2"]);
    expect(mergeEnv(["BARE"])).toEqual(["BARE"]);
  });
});
