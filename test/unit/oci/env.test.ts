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

  test("git{} becomes git's own environment after the image's; the container's env still wins", () => {
    const git = {
      author: { name: "Ada", email: "ada@example.com" },
      committer: { name: "Bob", email: "bob@example.com" },
      signingKey: "/run/secrets/key", sign: ["commits" as const, "tags" as const], allowedSigners: "/run/secrets/allowed",
    };
    const spec = buildOciSpec(container({ git, env: ["GIT_COMMITTER_NAME=Carol"] }), ctx(), image({ env: ["GIT_AUTHOR_NAME=image"] }), host());
    expect(spec.process.env).toEqual([
      ...KEON, DEFAULT_PATH_ENV,
      "GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com", "GIT_COMMITTER_NAME=Carol", "GIT_COMMITTER_EMAIL=bob@example.com",
      "GIT_CONFIG_COUNT=5",
      "GIT_CONFIG_KEY_0=gpg.format", "GIT_CONFIG_VALUE_0=ssh",
      "GIT_CONFIG_KEY_1=user.signingkey", "GIT_CONFIG_VALUE_1=/run/secrets/key",
      "GIT_CONFIG_KEY_2=commit.gpgsign", "GIT_CONFIG_VALUE_2=true",
      "GIT_CONFIG_KEY_3=tag.gpgsign", "GIT_CONFIG_VALUE_3=true",
      "GIT_CONFIG_KEY_4=gpg.ssh.allowedSignersFile", "GIT_CONFIG_VALUE_4=/run/secrets/allowed",
    ]);
    expect(buildOciSpec(container({ git: { author: { name: "A", email: "a@x" } } }), ctx(), image({ env: [] }), host()).process.env.some((e) => e.startsWith("GIT_CONFIG_COUNT"))).toBe(false);
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
