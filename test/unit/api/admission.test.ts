/**
 * Admission at the door: what containerd or the runtime would refuse later
 * is refused by the API before anything is stored, naming the field.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { C, K, call, cellDoc, containerDoc, jsonRequest, makeApi, realmDoc, seedHierarchy, snapshot, spaceDoc, stackDoc, type TestApi } from "./helpers.ts";

let api: TestApi;
beforeEach(async () => {
  api = makeApi();
  await seedHierarchy(api, false);
});
afterEach(() => api.close());

const name63 = "c".repeat(63);
const cellPath = (name: string) => `${K}/cells/${name}`;
const apply = (documents: unknown[]) => call(api, "/v1/apply", jsonRequest("POST", documents));
const withPorts = (name: string, ...ports: string[]) => cellDoc(name, [{ id: "app", image: "busybox:1", ports }]);

describe("containerd ID length", () => {
  test("a valid 63-character cell name whose containerd IDs exceed 76 characters is a 400 naming metadata.name and the length", async () => {
    const before = snapshot(api.store);
    const answer = await call(api, cellPath(name63), jsonRequest("PUT", cellDoc(name63)));
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe("INVALID_DOCUMENT");
    const [issue] = answer.body.error.details.issues;
    expect(issue.path).toBe("metadata.name");
    // default_shop_<63 c>_root: 7 + 1 + 4 + 1 + 63 + 1 + 4
    expect(issue.message).toContain("would be 81 characters");
    expect(issue.message).toContain("at most 76");
    expect(snapshot(api.store)).toBe(before);
    expect(api.dispatch.calls).toEqual([]);
  });

  test("a cell name that fits with its containers is stored", async () => {
    // default_shop_<58 c>_app: 7 + 1 + 4 + 1 + 58 + 1 + 3 = 75; the supplied root is 76.
    const name = "c".repeat(58);
    const answer = await call(api, cellPath(name), jsonRequest("PUT", cellDoc(name)));
    expect(answer.status).toBe(201);
  });

  test("a container id that makes its ID too long is named by its own field", async () => {
    const cell = cellDoc("web", [{ id: "app", image: "busybox:1" }, { id: "x".repeat(63), image: "busybox:1" }]);
    const answer = await call(api, C, jsonRequest("PUT", cell));
    expect(answer.status).toBe(400);
    expect(answer.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual(["spec.containers[1].id"]);
    // default_shop_web_<63 x>: 17 + 63
    expect(answer.body.error.details.issues[0].message).toContain("would be 80 characters");
  });

  test("a Container document whose name makes its ID too long is a 400 naming metadata.name", async () => {
    await call(api, C, jsonRequest("PUT", cellDoc()));
    const long = "s".repeat(63);
    const answer = await call(api, `${C}/containers/${long}`, jsonRequest("PUT", containerDoc(long)));
    expect(answer.status).toBe(400);
    expect(answer.body.error.details.issues[0].path).toBe("metadata.name");
    expect(api.store.list("Container")).toEqual([]);
  });

  test("in an apply, the issue names the document", async () => {
    const answer = await apply([realmDoc(), cellDoc(name63)]);
    expect(answer.status).toBe(400);
    expect(answer.body.error.details.issues).toHaveLength(1);
    expect(answer.body.error.details.issues[0].document).toBe(1);
    expect(answer.body.error.details.issues[0].path).toBe("metadata.name");
    expect(api.store.list("Cell")).toEqual([]);
  });
});

describe("image", () => {
  test("an empty image is a 400 naming spec.containers[i].image; nothing is stored", async () => {
    const before = snapshot(api.store);
    const cell = cellDoc("web", [{ id: "app", image: "busybox:1" }, { id: "side", image: "" }]);
    const answer = await call(api, C, jsonRequest("PUT", cell));
    expect(answer.status).toBe(400);
    expect(answer.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual(["spec.containers[1].image"]);
    expect(answer.body.error.message).toContain("spec.containers[1].image");
    expect(snapshot(api.store)).toBe(before);
  });

  test("a missing or blank image is refused too; a Container document names spec.image", async () => {
    const missing = await call(api, C, jsonRequest("PUT", cellDoc("web", [{ id: "app" }])));
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.issues[0].path).toBe("spec.containers[0].image");
    await call(api, C, jsonRequest("PUT", cellDoc()));
    const blank = await call(api, `${C}/containers/sidecar`, jsonRequest("PUT", containerDoc("sidecar", "web", { image: "  " })));
    expect(blank.status).toBe(400);
    expect(blank.body.error.details.issues[0].path).toBe("spec.image");
  });
});

describe("host ports", () => {
  test("a host port another cell publishes is a 409 naming the port and that cell; nothing is stored", async () => {
    expect((await call(api, cellPath("web"), jsonRequest("PUT", withPorts("web", "8080:80")))).status).toBe(201);
    const before = snapshot(api.store);
    const answer = await call(api, cellPath("api"), jsonRequest("PUT", withPorts("api", "8080:8080")));
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe("CONFLICT");
    expect(answer.body.error.message).toContain("0.0.0.0:8080/tcp");
    expect(answer.body.error.message).toContain("main/default/shop/web");
    expect(answer.body.error.details.conflictsWith).toEqual({ realm: "main", space: "default", stack: "shop", name: "web" });
    expect(answer.body.error.details.port).toEqual({ hostIP: "0.0.0.0", hostPort: 8080, protocol: "tcp" });
    expect(answer.body.error.details.issues[0].path).toBe("spec.containers[0].ports[0]");
    expect(snapshot(api.store)).toBe(before);
  });

  test("another protocol or another host address does not conflict; every-address does", async () => {
    expect((await call(api, cellPath("web"), jsonRequest("PUT", withPorts("web", "127.0.0.1:8080:80")))).status).toBe(201);
    expect((await call(api, cellPath("udp"), jsonRequest("PUT", withPorts("udp", "8080:80/udp")))).status).toBe(201);
    expect((await call(api, cellPath("other-ip"), jsonRequest("PUT", withPorts("other-ip", "127.0.0.2:8080:80")))).status).toBe(201);
    const every = await call(api, cellPath("every"), jsonRequest("PUT", withPorts("every", "8080:80")));
    expect(every.status).toBe(409);
  });

  test("re-applying the same cell does not conflict with itself", async () => {
    expect((await call(api, C, jsonRequest("PUT", withPorts("web", "8080:80")))).status).toBe(201);
    expect((await call(api, C, jsonRequest("PUT", withPorts("web", "8080:80")))).status).toBe(200);
    const again = await apply([withPorts("web", "8080:80", "9090:90")]);
    expect(again.status).toBe(200);
  });

  test("the documents of one apply are checked against each other; the later one is refused naming the earlier", async () => {
    const answer = await apply([withPorts("web", "8080:80"), withPorts("api", "8080:81")]);
    expect(answer.status).toBe(409);
    expect(answer.body.error.details.document).toBe(1);
    expect(answer.body.error.details.conflictsWith.name).toBe("web");
    expect(api.store.list("Cell")).toEqual([]);
  });

  test("a Container document's ports count for its cell, in the store and in the same apply", async () => {
    expect((await call(api, C, jsonRequest("PUT", cellDoc()))).status).toBe(201);
    expect((await call(api, `${C}/containers/sidecar`, jsonRequest("PUT", containerDoc("sidecar", "web", { ports: ["5353:53/udp"] })))).status).toBe(201);
    const clash = await call(api, cellPath("dns"), jsonRequest("PUT", cellDoc("dns", [{ id: "app", image: "busybox:1", ports: ["5353:53/udp"] }])));
    expect(clash.status).toBe(409);
    expect(clash.body.error.details.conflictsWith.name).toBe("web");
    const both = await apply([withPorts("db", "6000:60"), containerDoc("extra", "web", { ports: ["6000:61"] })]);
    expect(both.status).toBe(409);
    expect(both.body.error.details.issues[0].path).toBe("spec.ports[0]");
  });

  test("cells in other realms hold host ports too: the host is shared", async () => {
    expect((await call(api, C, jsonRequest("PUT", withPorts("web", "8080:80")))).status).toBe(201);
    const other = [
      realmDoc("second"),
      spaceDoc("default", "second"),
      { ...stackDoc("shop"), spec: { realmId: "second", spaceId: "default" } },
      { ...withPorts("web", "8080:80"), spec: { ...withPorts("web", "8080:80").spec, realmId: "second" } },
    ];
    const answer = await apply(other);
    expect(answer.status).toBe(409);
    expect(answer.body.error.details.conflictsWith.realm).toBe("main");
  });

  test("two entries of one cell on the same host port are a 409 naming the later field", async () => {
    const cell = cellDoc("web", [{ id: "app", image: "busybox:1", ports: ["8080:80"] }, { id: "side", image: "busybox:1", ports: ["8080:81"] }]);
    const answer = await call(api, C, jsonRequest("PUT", cell));
    expect(answer.status).toBe(409);
    expect(answer.body.error.details.issues[0].path).toBe("spec.containers[1].ports[0]");
  });
});

test("a Space with more egress rules than keond's maxEgressRules is a 400 naming spec.network.egress.allow; nothing stored", async () => {
  const api = makeApi({ maxEgressRules: 3 });
  const space = (rules: number) => ({
    kind: "Space",
    metadata: { name: "tight" },
    spec: { realmId: "main", network: { egress: { default: "deny", allow: Array.from({ length: rules }, (_, i) => ({ cidr: `10.${i}.0.0/16` })) } } },
  });
  expect((await call(api, "/v1/realms/main", jsonRequest("PUT", { kind: "Realm", metadata: { name: "main" }, spec: {} }))).status).toBe(201);
  const refused = await call(api, "/v1/realms/main/spaces/tight", jsonRequest("PUT", space(4)));
  expect(refused.status).toBe(400);
  expect(refused.body.error.details.issues).toEqual([{ path: "spec.network.egress.allow", message: "4 egress rules; this keond allows at most 3 (maxEgressRules)" }]);
  expect(api.store.get("Space", { realm: "main", name: "tight" })).toBeUndefined();
  expect((await call(api, "/v1/realms/main/spaces/tight", jsonRequest("PUT", space(3)))).status).toBe(201);
});
