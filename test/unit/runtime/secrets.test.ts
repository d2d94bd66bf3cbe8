import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isKeonError } from "../../../src/model/errors.ts";
import { resolveSecrets, type SecretValueSource } from "../../../src/runtime/secrets.ts";

const scope = { realm: "r", space: "s", stack: "t", cell: "c" };
const source: SecretValueSource = {
  secretData: (ref) => (ref.name === "db" && ref.realm === "r" ? "db-value" : undefined),
  containerSecret: (containerId, name) => (containerId === "app" && name === "API" ? "api-value" : undefined),
};
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("resolveSecrets", () => {
  test("without mountPath a secret is an env var; with one, a read-only bind of a file under the cell's secrets dir", () => {
    const resolved = resolveSecrets("/run/keon", scope, {
      id: "app",
      secrets: [
        { name: "API", fromEnv: "HOST_API" },
        { name: "db", secretRef: { name: "db", realm: "r" }, mountPath: "/run/db" },
      ],
    }, source);
    expect(resolved.env).toEqual([{ name: "API", value: "api-value" }]);
    expect(resolved.files).toEqual([{ hostPath: "/run/keon/secrets/r/s/t/c/app/db", mountPath: "/run/db", value: "db-value" }]);
    expect(resolved.mounts).toEqual([{ source: "/run/keon/secrets/r/s/t/c/app/db", destination: "/run/db", readOnly: true }]);
  });

  test("a missing value is SECRET_NOT_FOUND naming the field, never a value", () => {
    let error: unknown;
    try {
      resolveSecrets("/k", scope, { id: "app", secrets: [{ name: "x", secretRef: { name: "nope", realm: "r" } }] }, source);
    } catch (e) {
      error = e;
    }
    expect(isKeonError(error, "SECRET_NOT_FOUND")).toBe(true);
    expect((error as Error).message).toContain("secrets[0]");
  });

  test("a fromFile value the store does not hold is read from the host file it names", () => {
    const dir = mkdtempSync("/tmp/keon-unit-secrets-");
    dirs.push(dir);
    const file = join(dir, "token");
    writeFileSync(file, "from-file");
    const resolved = resolveSecrets("/k", scope, { id: "other", secrets: [{ name: "TOKEN", fromFile: file }] }, source);
    expect(resolved.env).toEqual([{ name: "TOKEN", value: "from-file" }]);
  });
});
