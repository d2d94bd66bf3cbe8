/**
 * @module
 * `POST /v1/apply`: a multi-document YAML or JSON manifest, applied all or
 * nothing.
 *
 * 1. Every document is validated first; any invalid one is a 400 listing
 *    each issue with its field path and document index, and nothing is stored.
 * 2. The documents are stored in dependency order (Realm, Space, Stack,
 *    Secret, Volume, Cell, Container) in one transaction.
 * 3. A resource whose parent is neither stored nor in the same manifest
 *    fails the whole request (404 with the parent kind's code and the
 *    document's index), as does any conflict (409). Choice: a request that
 *    could only be half-done is refused outright, so `failed` never appears
 *    in a successful answer; the summary keeps the field for clients that
 *    count it.
 * 4. The workers of every created or updated resource are told; with
 *    `?wait` the answer comes once every resource of the manifest settled.
 * 5. `?dryRun=true` does 1–3 and stores nothing: the answer is the plan
 *    (apply-plan.ts), what each document would do to what runs.
 *
 * `?fleet=true` stores the documents in the fleet instead (fleet-routes.ts).
 */
import { Hono } from "hono";
import { KeonError } from "../model/errors.ts";
import type { ApiDeps } from "./deps.ts";
import { planApply } from "./apply-plan.ts";
import { flagOf, invalidRequest, readDocumentsWithWarnings, waitSecondsOf } from "./request-input.ts";
import type { ManifestWarning } from "../model/manifest.ts";
import { writeToFleet } from "./fleet-routes.ts";
import { notifyChanged, writeOptionsOf } from "./resource-handlers.ts";
import { realmOf, storeDocuments, type WriteResult } from "./resource-writes.ts";
import { identityOf, requireRealms } from "./identity.ts";
import { keyOf } from "../store/index.ts";
import { all, settled, waitUntil } from "./wait.ts";

export interface ApplyResultEntry {
  kind: string;
  name: string;
  scope: { realm: string; space: string; stack: string; cell: string };
  result: "created" | "updated" | "unchanged" | "failed";
  generation: number;
  /** 0-based position of the document in the manifest. */
  document: number;
}

export interface ApplyResponse {
  results: ApplyResultEntry[];
  summary: { created: number; updated: number; unchanged: number; failed: number };
  /** Legacy kukeon fields the documents carried, accepted and left out; absent when there were none. */
  warnings?: ManifestWarning[];
}

export function applyResponse(written: readonly WriteResult[], warnings: readonly ManifestWarning[] = []): ApplyResponse {
  const summary = { created: 0, updated: 0, unchanged: 0, failed: 0 };
  const results = written.map((w) => {
    summary[w.result] += 1;
    return {
      kind: w.kind,
      name: w.key.name,
      scope: { realm: w.key.realm ?? "", space: w.key.space ?? "", stack: w.key.stack ?? "", cell: w.key.cell ?? "" },
      result: w.result,
      generation: w.generation,
      document: w.index,
    };
  });
  return warnings.length === 0 ? { results, summary } : { results, summary, warnings: [...warnings] };
}

export function applyRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  app.post("/v1/apply", async (c) => {
    const wait = waitSecondsOf(c);
    const dryRun = flagOf(c, "dryRun");
    const { documents, warnings } = await readDocumentsWithWarnings(c, deps.manifestParser);
    if (documents.length === 0) {
      const message = "the manifest holds no documents";
      throw new KeonError("INVALID_DOCUMENT", message, { details: { issues: [{ path: "", message }] } });
    }
    if (flagOf(c, "fleet")) {
      if (dryRun) throw invalidRequest("fleet", "?fleet stores into etcd; ?dryRun works on this node's store");
      return c.json(applyResponse(await writeToFleet(deps, c.req.raw, documents, wait), warnings));
    }
    // A config may bind a blueprint of another realm: a token must be allowed that realm too.
    requireRealms(identityOf(c.req.raw), documents.flatMap((d) => [realmOf(d.kind, keyOf(d)), ...(d.kind === "CellConfig" ? [d.spec.blueprint.realm] : [])]));
    const options = writeOptionsOf(deps);
    if (dryRun) return c.json(planApply(deps.store, documents, options));
    const written = storeDocuments(deps.store, documents, options);
    notifyChanged(deps, written.filter((w) => w.result !== "unchanged"));
    if (wait !== undefined) {
      const conditions = written.map((w) => () => settled(deps.store, w.kind, w.key));
      await waitUntil(deps.bus, all(conditions), wait, c.req.raw.signal);
    }
    return c.json(applyResponse(written, warnings));
  });
  return app;
}
