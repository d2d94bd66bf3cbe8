/**
 * `-o yaml` must apply back unchanged: what is printed is exactly a user's
 * document (no status, generation or containerd IDs), and the model parses
 * it to the same canonical document as the stored one.
 */
import { describe, expect, test } from "bun:test";
import { toJson, toYaml, userDocument } from "../../../../src/cli/output/documents.ts";
import { canonicalEqual } from "../../../../src/model/canonical.ts";
import { parseManifest } from "../../../../src/model/manifest.ts";
import { parseDocument } from "../../../../src/model/parse.ts";

const storedCell = {
  apiVersion: "v1beta1",
  kind: "Cell",
  metadata: { name: "web", generation: 4, labels: { app: "web" }, annotations: { note: "x" } },
  spec: {
    id: "web", realmId: "default", spaceId: "default", stackId: "default",
    containers: [
      { id: "app", containerdId: "default_default_web_app", image: "busybox", command: "/bin/sh", args: ["-c", "sleep 1d"], env: ["A=1"], ports: ["8080:80"], volumes: [{ kind: "tmpfs", target: "/scratch", mode: 493 }] },
    ],
  },
  status: { state: "Ready", observedGeneration: 4, network: { ip: "10.0.0.2" }, containers: [{ name: "app", state: "Ready", restartCount: 2 }] },
};

describe("documents as users write them", () => {
  test("server-owned fields are dropped, everything else kept in order", () => {
    const doc = userDocument(storedCell);
    expect(doc).not.toHaveProperty("status");
    expect(doc["metadata"]).toEqual({ name: "web", labels: { app: "web" }, annotations: { note: "x" } });
    expect(JSON.stringify(doc)).not.toContain("containerdId");
    expect(Object.keys(doc)).toEqual(["apiVersion", "kind", "metadata", "spec"]);
    // The input is untouched.
    expect(storedCell.status.state).toBe("Ready");
    expect(storedCell.spec.containers[0]?.containerdId).toBe("default_default_web_app");
  });

  test("yaml and json output parse back to the same document", () => {
    const expected = parseDocument(storedCell);
    const fromYaml = parseManifest(toYaml([userDocument(storedCell)]));
    expect(fromYaml).toHaveLength(1);
    expect(canonicalEqual(fromYaml[0], expected)).toBe(true);
    // An octal-looking mode must not come back as another number (go-yaml reads 0755 as octal).
    expect(toYaml([userDocument(storedCell)])).toContain("mode: 493");
    const fromJson = parseManifest(toJson([userDocument(storedCell)], false));
    expect(canonicalEqual(fromJson[0], expected)).toBe(true);
  });

  test("several documents: a YAML stream and a JSON List, both accepted by apply", () => {
    const realm = { apiVersion: "v1beta1", kind: "Realm", metadata: { name: "r", generation: 1 }, spec: {}, status: { state: "Ready" } };
    const docs = [userDocument(realm), userDocument(storedCell)];
    expect(toYaml(docs)).toContain("\n---\n");
    expect(parseManifest(toYaml(docs)).map((d) => d.kind)).toEqual(["Realm", "Cell"]);
    expect(parseManifest(toJson(docs, true)).map((d) => d.kind)).toEqual(["Realm", "Cell"]);
  });

  test("long strings are not folded", () => {
    const long = { ...storedCell, metadata: { name: "web", annotations: { a: "x ".repeat(100) } } };
    expect(toYaml([userDocument(long)]).split("\n").some((l) => l.length > 150)).toBe(true);
  });
});
