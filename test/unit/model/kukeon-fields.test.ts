import { describe, expect, test } from "bun:test";
import { parseManifestWithWarnings } from "../../../src/model/manifest.ts";
import { parseDocument } from "../../../src/model/parse.ts";
import { repoUrlProblem, redactUrl, localRepoPath } from "../../../src/model/repo-url.ts";
import { secretRealmIssues } from "../../../src/model/secret-realms.ts";
import { policyIssues } from "../../../src/model/policy.ts";
import { cellInput, issuesOf } from "./fixtures.ts";

describe("legacy kukeon fields", () => {
  test("tty.profile, metadata.description and a Volume's metadata.cell are left out with a warning naming each", () => {
    const text = [
      "kind: Cell\nmetadata: {name: web, description: old}\nspec: {realmId: r, spaceId: s, stackId: t, containers: [{id: a, image: b, attachable: true, tty: {profile: dev, prompt: '$ '}}]}",
      "kind: Volume\nmetadata: {name: v, realm: r, space: s, stack: t, cell: web}\nspec: {}",
    ].join("\n---\n");
    const { documents, warnings } = parseManifestWithWarnings(text);
    expect(warnings.map((w) => [w.document, w.path, w.line])).toEqual([
      [0, "metadata.description", 2], [0, "spec.containers[0].tty.profile", 3], [1, "metadata.cell", 6],
    ]);
    expect(warnings[1]!.message).toContain("CellBlueprint");
    const cell = documents[0] as { metadata: Record<string, unknown>; spec: { containers: Array<{ tty?: Record<string, unknown> }> } };
    expect(cell.metadata["description"]).toBeUndefined();
    expect(cell.spec.containers[0]!.tty).toEqual({ prompt: "$ " });
    expect((documents[1]!.metadata as Record<string, unknown>)["cell"]).toBeUndefined();
  });
  test("every other unknown field stays an error", () => {
    expect(issuesOf({ ...cellInput(), metadata: { name: "web", descripton: "typo" } })).toEqual(["metadata.descripton: unknown field"]);
    expect(issuesOf(cellInput([{ id: "a", image: "b", tty: { profil: "x" } }]))).toEqual(["spec.containers[0].tty.profil: unknown field"]);
  });
  test("cniConfigPath, repos, git and provenance are accepted and kept", () => {
    const doc = parseDocument(cellInput([{
      id: "a", image: "b", cniConfigPath: "/etc/cni/net.d",
      repos: [{ name: "app", url: "https://example.com/app.git", target: "/w/app", branch: "main", required: true }],
      git: { author: { name: "A", email: "a@x" }, sign: ["commits"], signingKey: "/k" },
    }], { provenance: { kind: "CellConfig", ref: { name: "p", realm: "r" }, params: { X: "1" } } })) as { spec: Record<string, any> };
    expect(doc.spec["containers"][0].repos[0].branch).toBe("main");
    expect(doc.spec["provenance"].ref).toEqual({ name: "p", realm: "r" });
    expect(issuesOf(cellInput([{ id: "a", image: "b", git: { sign: ["commits"] } }]))).toEqual(["spec.containers[0].git.sign: signing needs git.signingKey (the key's path in the container)"]);
  });
});

describe("secret references across realms", () => {
  const cell = (realm: string) => parseDocument(cellInput([{ id: "a", image: "b", secrets: [{ name: "T", secretRef: { name: "t", realm } }], repos: [{ name: "r", target: "/r", url: "https://x/y", secretRef: { name: "t", realm } }] }]));
  test("the container's own realm and the system realm pass; another realm is refused at each reference", () => {
    expect(secretRealmIssues(cell("main"), "kuke-system")).toEqual([]);
    expect(secretRealmIssues(cell("kuke-system"), "kuke-system")).toEqual([]);
    expect(secretRealmIssues(cell("other"), "kuke-system").map((i) => i.path)).toEqual(["spec.containers[0].secrets[0].secretRef.realm", "spec.containers[0].repos[0].secretRef.realm"]);
    expect(secretRealmIssues(cell("kuke-system"), "platform").length).toBe(2);
  });
});

describe("repository URLs", () => {
  test("remote transports and local paths; helper transports refused; credentials redacted", () => {
    for (const ok of ["https://github.com/a/b.git", "ssh://git@h/x", "git@github.com:a/b.git", "file:///srv/x.git", "/srv/x.git"]) expect(repoUrlProblem(ok)).toBeUndefined();
    for (const bad of ["ext::sh -c id", "fd::17", "relative/path", "file://../x"]) expect(repoUrlProblem(bad)).toBeDefined();
    expect(localRepoPath("file:///srv/a%20b.git")).toBe("/srv/a b.git");
    expect(redactUrl("https://user:tok@host/x.git")).toBe("https://host/x.git");
  });
  test("a local repository is a host path under the realm's policy", () => {
    const doc = parseDocument(cellInput([{ id: "a", image: "b", repos: [{ name: "r", target: "/r", url: "file:///srv/git/x.git" }] }]));
    const context = { level: "baseline" as const, realm: "main", hostPathPrefixes: [] as string[], secretFileDirs: [] };
    expect(policyIssues(doc, context).map((i) => i.path)).toEqual(["spec.containers[0].repos[0].url"]);
    expect(policyIssues(doc, { ...context, hostPathPrefixes: ["/srv/git"] })).toEqual([]);
  });
});
