/**
 * Issue 13, admission per realm through the API: a refused document is 403
 * FORBIDDEN naming the field and the level; a privileged realm may; the
 * level comes from keond's configuration only; host paths are judged after
 * symlinks are resolved; the demo's cell passes baseline.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AdmissionPolicy } from "../../../src/api/deps.ts";
import { loadConfig } from "../../../src/daemon/config.ts";
import type { PolicyLevel } from "../../../src/model/policy.ts";
import { C, S, call, cellDoc, jsonRequest, makeApi, seedHierarchy, snapshot, spaceDoc, yamlRequest, type TestApi } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "keon-policy-test-"));
const allowed = join(dir, "allowed");
mkdirSync(join(allowed, "data"), { recursive: true });
symlinkSync("/etc", join(allowed, "escape"));

const policy = (level: PolicyLevel): AdmissionPolicy => ({ levelOf: () => level, hostPathPrefixes: [allowed], secretFileDirs: [] });
const cellWith = (container: Record<string, unknown>) => cellDoc("web", [{ id: "app", image: "busybox:1", ...container }]);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("admission policy through the API", () => {
  let api: TestApi;
  afterEach(() => api.close());

  test("a realm without a configured level is baseline: hostNetwork is 403 naming the field and the level, nothing stored", async () => {
    api = makeApi();
    await seedHierarchy(api, false);
    const before = snapshot(api.store);
    const answer = await call(api, C, jsonRequest("PUT", cellWith({ hostNetwork: true, privileged: true })));
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe("FORBIDDEN");
    expect(answer.body.error.details.level).toBe("baseline");
    expect(answer.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual(["spec.containers[0].privileged", "spec.containers[0].hostNetwork"]);
    expect(answer.body.error.message).toContain("policy level 'baseline' of realm 'main'");
    expect(snapshot(api.store)).toBe(before);
    expect(api.dispatch.calls).toEqual([]);
  });

  test("a privileged realm may use every field", async () => {
    api = makeApi({ policy: policy("privileged") });
    await seedHierarchy(api, false);
    const answer = await call(api, C, jsonRequest("PUT", cellWith({
      privileged: true, hostNetwork: true, hostPID: true, devices: ["/dev/fuse"], capabilities: { add: ["SYS_ADMIN"] },
      securityOpts: ["seccomp=unconfined"], volumes: [{ source: "/etc", target: "/host-etc" }], secrets: [{ name: "T", fromFile: "/etc/hostname" }],
    })));
    expect(answer.status).toBe(201);
  });

  test("a space default that adds a capability is judged in every cell it merges into", async () => {
    api = makeApi();
    await seedHierarchy(api, false);
    expect((await call(api, S, jsonRequest("PUT", spaceDoc("default", "main", { defaults: { container: { capabilities: { add: ["SYS_ADMIN"] } } } })))).status).toBe(200);
    const answer = await call(api, C, jsonRequest("PUT", cellDoc()));
    expect(answer.status).toBe(403);
    expect(answer.body.error.details.issues[0].path).toBe("spec.containers[0].capabilities.add[0]");
  });

  test("a host bind is judged where its symlinks lead", async () => {
    api = makeApi({ policy: policy("baseline") });
    await seedHierarchy(api, false);
    const escape = await call(api, C, jsonRequest("PUT", cellWith({ volumes: [{ source: join(allowed, "escape"), target: "/x" }] })));
    expect(escape.status).toBe(403);
    expect(escape.body.error.details.issues[0]).toMatchObject({ path: "spec.containers[0].volumes[0].source" });
    expect(escape.body.error.details.issues[0].message).toContain("resolved: /etc");
    const inside = await call(api, C, jsonRequest("PUT", cellWith({ volumes: [{ source: join(allowed, "data"), target: "/x" }] })));
    expect(inside.status).toBe(201);
  });

  test("an apply with a refused document stores nothing and names the document", async () => {
    api = makeApi();
    await seedHierarchy(api, false);
    const before = snapshot(api.store);
    const body = [cellDoc("ok"), cellDoc("bad", [{ id: "app", image: "b", hostPID: true }])].map((d) => JSON.stringify(d)).join("\n---\n");
    const answer = await call(api, "/v1/apply", yamlRequest("POST", body));
    expect(answer.status).toBe(403);
    expect(answer.body.error.details.issues[0]).toMatchObject({ document: 1, path: "spec.containers[0].hostPID" });
    expect(snapshot(api.store)).toBe(before);
  });

  test("no document can raise its realm's level: a Realm has no such field", async () => {
    api = makeApi();
    const answer = await call(api, "/v1/realms/main", jsonRequest("PUT", { kind: "Realm", metadata: { name: "main" }, spec: { policy: "privileged" } }));
    expect(answer.status).toBe(400);
    expect(answer.body.error.details.issues[0].path).toBe("spec.policy");
  });

  test("the demo's cell (busybox with a published port) passes baseline", async () => {
    api = makeApi();
    await seedHierarchy(api, false);
    const demo = cellWith({ command: "/bin/sh", args: ["-c", "nc -l -p 8080"], ports: ["127.0.0.1:8080:8080"], restartPolicy: "always" });
    expect((await call(api, C, jsonRequest("PUT", demo))).status).toBe(201);
  });
});

describe("the operator sets the levels", () => {
  let file: string;
  beforeAll(() => {
    file = join(dir, "keond.yaml");
    writeFileSync(file, "policy:\n  default: restricted\n  realms: {default: privileged, ci: baseline}\n  hostPathPrefixes: [/srv/keon, /data]\n  secretFileDirs: [/etc/keon/secrets]\n");
  });

  test("keond.yaml's policy mapping and lists", () => {
    const config = loadConfig(["--config", file], {});
    expect(config.policy).toEqual({
      default: "restricted", realms: { default: "privileged", ci: "baseline" }, hostPathPrefixes: ["/srv/keon", "/data"], secretFileDirs: ["/etc/keon/secrets"],
    });
  });

  test("flags override the file; a bad level is refused naming the setting", () => {
    expect(loadConfig(["--config", file, "--policy-realms", "default=baseline"], {}).policy.realms).toEqual({ default: "baseline" });
    expect(() => loadConfig(["--policy-default", "open"], {}, { defaultConfigFile: join(dir, "absent.yaml") })).toThrow(/policy.default/);
    expect(() => loadConfig(["--policy-realms", "a=root"], {}, { defaultConfigFile: join(dir, "absent.yaml") })).toThrow(/policy.realms/);
  });
});
