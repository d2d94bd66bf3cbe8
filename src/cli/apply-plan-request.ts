/**
 * @module
 * Asking keond what an apply would do (`POST /v1/apply?dryRun=true`), for
 * `diff`, `apply --dry-run` and `edit`: the same body and error mapping as
 * a real apply, so a preview fails exactly where the apply would.
 */
import type { ApplyPlan } from "../api/apply-plan.ts";
import type { ApiClient } from "./client.ts";
import { joinSources, type ManifestSource } from "./manifest-input.ts";

export async function requestPlan(client: ApiClient, sources: readonly ManifestSource[]): Promise<ApplyPlan> {
  return await client.json<ApplyPlan>("POST", "/v1/apply", {
    body: joinSources(sources),
    headers: { "content-type": "application/yaml" },
    query: { dryRun: "true" },
  });
}
