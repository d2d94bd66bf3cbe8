/**
 * @module
 * Worker entry of the manifest parser pool (manifest-parser.ts): parses one
 * body per message, off the main thread, so a document that is costly to
 * read (deep, wide, full of aliases) delays only its own request. Answers
 * are plain data: the documents, or the KeonError's code, message and details.
 */
import { KeonError } from "../model/errors.ts";
import { parseManifestWithWarnings } from "../model/manifest.ts";
import type { ParseReply, ParseRequest } from "./manifest-parser.ts";

declare const self: Worker;

function invalidJson(error: unknown): KeonError {
  const message = `request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`;
  return new KeonError("INVALID_DOCUMENT", message, { cause: error, details: { issues: [{ path: "", message }] } });
}

function parse(request: ParseRequest): ParseReply {
  try {
    if (request.json) {
      try {
        JSON.parse(request.text);
      } catch (error) {
        throw invalidJson(error);
      }
    }
    const parsed = parseManifestWithWarnings(request.text);
    return { id: request.id, ok: true, documents: parsed.documents, warnings: parsed.warnings };
  } catch (error) {
    if (error instanceof KeonError) return { id: request.id, ok: false, error: error.toJSON() };
    // A stack overflow or a bug in the parser: a refusal of this body, never a crash of the pool.
    const message = `cannot read the manifest: ${error instanceof Error ? error.message.slice(0, 200) : String(error)}`;
    return { id: request.id, ok: false, error: { code: "INVALID_DOCUMENT", message, details: { issues: [{ path: "", message }] } } };
  }
}

self.onmessage = (event: MessageEvent<ParseRequest>) => {
  self.postMessage(parse(event.data));
};
