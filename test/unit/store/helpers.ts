/**
 * @module
 * Shared by the store tests: temp directories that are always removed, and
 * documents built through the real schema (so defaults are applied exactly as
 * the API would apply them before calling the store).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { documentSchema, type Document, type DocumentKind, type DocumentOf } from "../../../src/model/schema/document.ts";

const created: string[] = [];

/** A fresh directory under /tmp with a prefix that names its owner. */
export function makeTempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "keon-store-test-"));
  created.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function doc<K extends DocumentKind>(raw: { kind: K } & Record<string, unknown>): DocumentOf<K> {
  return v.parse(documentSchema, { apiVersion: "v1beta1", ...raw }) as DocumentOf<K>;
}

export function realm(name: string, spec: Record<string, unknown> = {}, labels?: Record<string, string>) {
  return doc({ kind: "Realm", metadata: { name, ...(labels ? { labels } : {}) }, spec });
}

export function space(realmId: string, name: string, labels?: Record<string, string>) {
  return doc({ kind: "Space", metadata: { name, ...(labels ? { labels } : {}) }, spec: { realmId } });
}

export function stack(realmId: string, spaceId: string, name: string) {
  return doc({ kind: "Stack", metadata: { name }, spec: { realmId, spaceId } });
}

export function cell(
  realmId: string,
  spaceId: string,
  stackId: string,
  name: string,
  options: { containers?: Record<string, unknown>[]; labels?: Record<string, string>; annotations?: Record<string, string> } = {},
) {
  return doc({
    kind: "Cell",
    metadata: {
      name,
      ...(options.labels ? { labels: options.labels } : {}),
      ...(options.annotations ? { annotations: options.annotations } : {}),
    },
    spec: { realmId, spaceId, stackId, containers: options.containers ?? [{ id: "app", image: "busybox:1" }] },
  });
}

export function container(realmId: string, spaceId: string, stackId: string, cellId: string, name: string, spec: Record<string, unknown> = {}) {
  return doc({
    kind: "Container",
    metadata: { name },
    spec: { id: name, image: "busybox:1", realmId, spaceId, stackId, cellId, ...spec },
  });
}

export function secret(scope: { realm: string; space?: string; stack?: string; cell?: string }, name: string, data?: string) {
  return doc({ kind: "Secret", metadata: { name, ...scope }, spec: data === undefined ? {} : { data } });
}

export function volume(scope: { realm: string; space?: string; stack?: string }, name: string) {
  return doc({ kind: "Volume", metadata: { name, ...scope }, spec: { reclaimPolicy: "Retain" } });
}

export type { Document };
