import { describe, expect, test } from "bun:test";
import { KeonError } from "../../../src/model/errors.ts";
import { MAX_MANIFEST_BYTES, parseManifest, type ManifestIssue } from "../../../src/model/manifest.ts";

function manifestError(text: string, options = {}): KeonError {
  try {
    parseManifest(text, options);
  } catch (error) {
    if (error instanceof KeonError) return error;
    throw error;
  }
  throw new Error("expected parseManifest to throw");
}
const issuesOf = (error: KeonError) => error.issues as ManifestIssue[];

/** The shape kukeon users write: the whole hierarchy in one file, zero values included. */
const KUKEON_MANIFEST = `# shop: one realm, one space, one stack, one cell
apiVersion: v1beta1
kind: Realm
metadata:
  name: main
  labels:
    team: shop
spec:
  namespace: main.kukeon.io
  registryCredentials:
    - username: robot
      password: hunter2
      serverAddress: registry.example.com
---
apiVersion: v1beta1
kind: Space
metadata:
  name: default
spec:
  realmId: main
  cniConfigPath: /opt/cni/net.d/default.conflist
  network:
    egress:
      default: deny
      allow:
        - host: registry.example.com
          ports: [443]
        - cidr: 10.88.0.0/16
  defaults:
    container:
      readOnlyRootFilesystem: true
      capabilities:
        drop: [ALL]
      securityOpts: [no-new-privileges]
---
apiVersion: v1beta1
kind: Stack
metadata:
  name: shop
spec:
  id: shop
  realmId: main
  spaceId: default
---
apiVersion: v1beta1
kind: Secret
metadata:
  name: db-password
  realm: main
  space: default
spec:
  data: s3cr3t
---
apiVersion: v1beta1
kind: Volume
metadata:
  name: pgdata
  realm: main
  space: default
  stack: shop
spec:
  reclaimPolicy: Retain
---
apiVersion: v1beta1
kind: Cell
metadata:
  name: web
  labels:
    app: web
  annotations:
    owner: "ops@example.com"
spec:
  id: web
  realmId: main
  spaceId: default
  stackId: shop
  rootContainerId: ""
  autoDelete: false
  tty:
    default: shell
  containers:
    - id: nginx
      realmId: main
      spaceId: default
      stackId: shop
      cellId: web
      image: docker.io/library/nginx:1.27
      command: ""
      args: []
      env: ["NGINX_PORT=80"]
      ports: ["8080:80/tcp"]
      volumes:
        - source: /srv/www
          target: /usr/share/nginx/html
          readOnly: true
        - kind: tmpfs
          target: /var/cache/nginx
          sizeBytes: 67108864
      networks: []
      networksAliases: [www]
      privileged: false
      restartPolicy: always
      restartBackoffSeconds: 2
    - id: db
      image: docker.io/library/postgres:16
      env: ["PGDATA=/var/lib/postgresql/data"]
      volumes:
        - kind: volume
          target: /var/lib/postgresql/data
          volumeRef: {name: pgdata, realm: main, space: default, stack: shop}
      secrets:
        - name: POSTGRES_PASSWORD
          secretRef: {name: db-password, realm: main, space: default}
        - name: tls
          fromFile: /etc/keon/tls.pem
          mountPath: /run/secrets/tls.pem
      resources: {memoryLimitBytes: 536870912, pidsLimit: 512}
      restartPolicy: on-failure
      restartMaxRetries: 5
    - id: shell
      image: docker.io/library/busybox:1.36
      command: /bin/sh
      attachable: true
      tty:
        prompt: "shop$ "
        onInit:
          - script: echo ready
            runOn: start
status:
  state: Ready
  readyObserved: true
`;

describe("parseManifest", () => {
  test("a kukeon-style hierarchy manifest parses, in order", () => {
    const docs = parseManifest(KUKEON_MANIFEST);
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      "Realm/main", "Space/default", "Stack/shop", "Secret/db-password", "Volume/pgdata", "Cell/web",
    ]);
    const cell = docs[5]!;
    if (cell.kind !== "Cell") throw new Error("not a cell");
    expect(cell.spec.containers.map((c) => c.id)).toEqual(["nginx", "db", "shell"]);
    expect(cell.spec.containers[1]!.secrets?.[0]?.secretRef).toEqual({ name: "db-password", realm: "main", space: "default" });
    expect("status" in cell).toBe(false);
  });

  test("empty documents and comments are skipped and not counted", () => {
    const text = "# nothing\n---\n---\n# still nothing\n---\nkind: Realm\nmetadata: {name: a}\n---\n\n---\nkind: Realm\nmetadata: {name: B}\n";
    const error = manifestError(text);
    expect(issuesOf(error)).toEqual([
      { document: 1, kind: "Realm", name: "B", path: "metadata.name", message: "must be lowercase", line: 12, column: 12 },
    ]);
    expect(error.message).toContain("document 2 (Realm 'B', from line 11)");
  });

  test("an empty manifest yields no documents", () => {
    expect(parseManifest("")).toEqual([]);
    expect(parseManifest("# only a comment\n---\n")).toEqual([]);
  });

  test("every issue of every document is collected, with index, kind and line", () => {
    const text = [
      "kind: Realm\nmetadata: {name: ok}",
      "kind: Cell\nmetadata: {name: web}\nspec:\n  realmId: main\n  spaceId: d\n  stackId: s\n  containers:\n    - id: a\n      imagee: nginx",
      "kind: Gizmo\nmetadata: {name: g}",
      "kind: Space\nmetadata: {name: s}\nspec: {}",
    ].join("\n---\n");
    const issues = issuesOf(manifestError(text));
    expect(issues.map((i) => [i.document, i.kind, i.path, i.line])).toEqual([
      [1, "Cell", "spec.containers[0].imagee", 12],
      [2, "Gizmo", "kind", 14],
      [3, "Space", "spec.realmId", 19],
    ]);
    expect(manifestError(text).message).toMatch(/^manifest has 3 issues in 3 documents: document 2 \(Cell 'web', from line 4\)/);
  });

  test("a missing field points at its parent's line", () => {
    const text = "kind: Cell\nmetadata: {name: web}\nspec:\n  realmId: main\n  stackId: s\n";
    expect(issuesOf(manifestError(text))).toEqual([
      { document: 0, kind: "Cell", name: "web", path: "spec.spaceId", message: "required field missing", line: 3, column: 1 },
    ]);
  });

  test("YAML syntax errors report their line and count as a document", () => {
    const text = "kind: Realm\nmetadata: {name: a}\n---\nkind: Realm\nmetadata: {name: [b\n---\nkind: Realm\nmetadata: {name: C}\n";
    const issues = issuesOf(manifestError(text));
    expect(issues[0]).toMatchObject({ document: 1, path: "" });
    expect(issues[0]!.message).toStartWith("YAML syntax error:");
    expect(issues[0]!.line).toBeGreaterThanOrEqual(5);
    expect(issues.at(-1)).toMatchObject({ document: 2, path: "metadata.name", line: 8 });
  });

  test("duplicate keys are an error, not a silent overwrite", () => {
    const issues = issuesOf(manifestError("kind: Realm\nmetadata: {name: a}\nmetadata: {name: b}\n"));
    expect(issues[0]!.message).toContain("unique");
    expect(issues[0]!.line).toBe(3);
  });

  test("anchors and merge keys work as in kukeon", () => {
    const text = `kind: Cell
metadata: {name: web}
spec:
  realmId: main
  spaceId: d
  stackId: s
  containers:
    - &base {id: a, image: busybox, env: ["A=1"]}
    - <<: *base
      id: b
`;
    const [cell] = parseManifest(text);
    expect(cell?.kind === "Cell" && cell.spec.containers[1]).toEqual({ id: "b", image: "busybox", env: ["A=1"] });
  });

  test("0755 is octal, as in kukeon's go-yaml; 0o755 and 755 keep their YAML 1.2 meaning", () => {
    const text = `kind: Cell
metadata: {name: web}
spec:
  realmId: main
  spaceId: d
  stackId: s
  containers:
    - id: a
      volumes:
        - {kind: tmpfs, target: /a, mode: 0755}
        - {kind: tmpfs, target: /b, mode: 0o1777}
        - {kind: tmpfs, target: /c, mode: 755}
      env: ["X=0755"]
`;
    const [cell] = parseManifest(text);
    if (cell?.kind !== "Cell") throw new Error("not a cell");
    expect(cell.spec.containers[0]!.volumes!.map((v) => v.mode)).toEqual([0o755, 0o1777, 755]);
    expect(cell.spec.containers[0]!.env).toEqual(["X=0755"]);
  });

  test("an alias bomb is refused", () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [name, prev] of [["b", "a"], ["c", "b"], ["d", "c"], ["e", "d"], ["f", "e"], ["g", "f"]]) {
      lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(",")}]`);
    }
    const issues = issuesOf(manifestError(lines.join("\n")));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toContain("YAML bomb");
  });

  test("input over the size cap is refused before parsing", () => {
    const error = manifestError("#".repeat(MAX_MANIFEST_BYTES + 1));
    expect(error.code).toBe("INVALID_DOCUMENT");
    expect(error.message).toContain(`limit is ${MAX_MANIFEST_BYTES}`);
    expect(manifestError("kind: Realm\n", { maxBytes: 4 }).issues[0]!.message).toContain("limit is 4");
  });

  test("the size cap counts bytes, not characters", () => {
    expect(manifestError("# ééé", { maxBytes: 6 }).code).toBe("INVALID_DOCUMENT");
  });
});

describe("JSON manifests", () => {
  const realm = { apiVersion: "v1beta1", kind: "Realm", metadata: { name: "main" } };
  const space = { kind: "Space", metadata: { name: "default" }, spec: { realmId: "main" } };

  test("a single object", () => {
    expect(parseManifest(JSON.stringify(realm)).map((d) => d.kind)).toEqual(["Realm"]);
  });

  test("an array of objects", () => {
    expect(parseManifest(JSON.stringify([realm, space], null, 2)).map((d) => d.kind)).toEqual(["Realm", "Space"]);
  });

  test("a List of items", () => {
    expect(parseManifest(JSON.stringify({ kind: "List", items: [realm, space] })).map((d) => d.kind)).toEqual(["Realm", "Space"]);
  });

  test("errors inside an array name the item's index and line", () => {
    const text = JSON.stringify([realm, { ...space, spec: { realmId: "main", bogus: 1 } }], null, 2);
    expect(issuesOf(manifestError(text))).toEqual([
      { document: 1, kind: "Space", name: "default", path: "spec.bogus", message: "unknown field", line: 16, column: 7 },
    ]);
  });

  test("a List with extra fields or no items is refused", () => {
    expect(issuesOf(manifestError(JSON.stringify({ kind: "List", items: [realm], extra: 1 })))[0]).toMatchObject({ path: "extra", message: "unknown field" });
    expect(issuesOf(manifestError(JSON.stringify({ kind: "List" })))[0]).toMatchObject({ path: "items" });
  });

  test("JSON syntax errors report a line", () => {
    const issues = issuesOf(manifestError('{\n  "kind": "Realm",\n  "metadata": {"name": "a"\n'));
    expect(issues[0]!.message).toStartWith("YAML syntax error:");
    expect(issues[0]!.line).toBeNumber();
  });
});
