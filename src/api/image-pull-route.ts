/**
 * @module
 * `POST /v1/realms/{realm}/images/pull` with `{"reference": "busybox"}`
 * (and optionally `"platform": "linux/arm64"`; default this host's):
 * pulls into the realm's containerd namespace with the realm's registry
 * credentials (realm-pull.ts).
 *
 * A bad reference or an unknown realm is answered with the usual error
 * envelope. Otherwise the answer is 200 with newline-delimited JSON, one
 * object a line, as the pull goes: `{"type":"resolved",…}`, `{"type":
 * "layer",…}`, `{"type":"unpack",…}`, and finally `{"type":"done","image":
 * {…}}` or `{"type":"error","error":{code,message,details}}`.
 */
import type { Hono } from "hono";
import type { Logger } from "pino";
import { KeonError } from "../model/errors.ts";
import type { Platform } from "../containerd/platform.ts";
import { parsePlatform } from "../registry/platform-choice.ts";
import { formatReference, parseReference } from "../model/image-reference.ts";
import type { PullProgress, PulledImage } from "../registry/pull.ts";
import { requireRealmNamespace } from "./cell-lookup.ts";
import { pullIntoRealm, type RealmPullDeps } from "./realm-pull.ts";

export interface ImagePullRouteDeps extends RealmPullDeps {
  log: Logger;
}

export type PullStreamLine = PullProgress | { type: "done"; image: PulledImage } | { type: "error"; error: ReturnType<KeonError["toJSON"]> };

const MAX_BODY_BYTES = 64 * 1024;

async function requestOf(request: Request): Promise<{ reference: string; platform: Platform | undefined }> {
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) throw invalid("body", `larger than ${MAX_BODY_BYTES} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalid("", 'the body must be JSON: {"reference": "IMAGE"}');
  }
  const { reference, platform } = (body ?? {}) as { reference?: unknown; platform?: unknown };
  if (typeof reference !== "string" || reference === "") throw invalid("reference", "must be a non-empty string");
  if (platform !== undefined && typeof platform !== "string") throw invalid("platform", "must be a string like linux/arm64");
  return { reference, platform: platform === undefined ? undefined : parsePlatform(platform) };
}

function invalid(path: string, message: string): KeonError {
  return new KeonError("INVALID_DOCUMENT", `${path === "" ? "" : `${path}: `}${message}`, { details: { issues: [{ path, message }] } });
}

export function registerImagePullRoute(app: Hono, deps: ImagePullRouteDeps): void {
  app.post("/v1/realms/:realm/images/pull", async (c) => {
    const realm = c.req.param("realm");
    requireRealmNamespace(deps.cells, realm);
    const { reference, platform } = await requestOf(c.req.raw);
    const name = formatReference(parseReference(reference)); // INVALID_NAME before any streaming
    const encoder = new TextEncoder();
    const started = performance.now();
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        let open = true;
        const send = (line: PullStreamLine): void => {
          if (!open) return;
          try {
            controller.enqueue(encoder.encode(`${JSON.stringify(line)}\n`));
          } catch {
            open = false; // the client went away; the pull goes on (others may share it)
          }
        };
        try {
          const image = await pullIntoRealm(deps, realm, name, { ...(platform === undefined ? {} : { platform }), onProgress: send });
          deps.log.info({ realm, image: image.name, digest: image.digest, bytes: image.bytesFetched, ms: Math.round(performance.now() - started) }, "image pulled");
          send({ type: "done", image });
        } catch (error) {
          const keonError = error instanceof KeonError ? error : new KeonError("INTERNAL", "pull failed");
          // Messages name the user at most, never a password (registry-client.ts).
          deps.log.warn({ realm, image: name, code: keonError.code, message: keonError.message }, "image pull failed");
          send({ type: "error", error: keonError.toJSON() });
        } finally {
          if (open) controller.close();
        }
      },
    });
    return new Response(stream, { status: 200, headers: { "content-type": "application/x-ndjson", "cache-control": "no-store" } });
  });
}
