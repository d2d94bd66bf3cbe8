/** Builders of valid documents for the model tests; each test changes one thing. */
import { checkDocument } from "../../../src/model/parse.ts";
import { formatPath } from "../../../src/model/field-path.ts";

type Json = Record<string, unknown>;

export function cellInput(containers: Json[] = [{ id: "app", image: "docker.io/library/nginx:1.27" }], spec: Json = {}): Json {
  return {
    apiVersion: "v1beta1",
    kind: "Cell",
    metadata: { name: "web", labels: { tier: "front" } },
    spec: { realmId: "main", spaceId: "default", stackId: "shop", containers, ...spec },
  };
}

export function containerDocInput(spec: Json = {}): Json {
  return {
    kind: "Container",
    metadata: { name: "sidecar" },
    spec: { realmId: "main", spaceId: "default", stackId: "shop", cellId: "web", image: "busybox", ...spec },
  };
}

export function withContainer(fields: Json): Json {
  return cellInput([{ id: "app", image: "nginx", ...fields }]);
}

/** `path: message` of every issue, for compact assertions. */
export function issuesOf(input: unknown): string[] {
  return checkDocument(input).issues.map((i) => `${formatPath(i.segments)}: ${i.message}`);
}

export function pathsOf(input: unknown): string[] {
  return checkDocument(input).issues.map((i) => formatPath(i.segments));
}
