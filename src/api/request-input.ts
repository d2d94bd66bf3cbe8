/**
 * @module
 * Reading what a request carries: its body (capped, decoded, parsed as YAML
 * or JSON documents) and its query parameters. Every refusal is a KeonError
 * that names the parameter or field, so the client knows what to fix.
 */
import type { Context } from "hono";
import { KeonError } from "../model/errors.ts";
import { MAX_MANIFEST_BYTES, type ParsedManifest } from "../model/manifest.ts";
import { nameProblem } from "../model/names.ts";
import type { Document } from "../model/schema/document.ts";
import { sharedManifestParser, type ManifestParser } from "./manifest-parser.ts";

/** The API's body cap; the manifest parser's own cap is the same, so a body it accepts is never refused here. */
export const MAX_BODY_BYTES = MAX_MANIFEST_BYTES;
/** The longest `?wait`: long enough for an image pull, short enough that a forgotten client goes away. */
export const MAX_WAIT_SECONDS = 600;

export function invalidRequest(field: string, message: string, extra: Record<string, unknown> = {}): KeonError {
  return new KeonError("INVALID_REQUEST", `${field}: ${message}`, {
    details: { field, issues: [{ path: field, message }], ...extra },
  });
}

function tooLarge(size: number | undefined): KeonError {
  const got = size === undefined ? "more than that" : `${size} bytes`;
  return new KeonError("PAYLOAD_TOO_LARGE", `request body is ${got}; the limit is ${MAX_BODY_BYTES} bytes`, {
    details: { limit: MAX_BODY_BYTES, ...(size === undefined ? {} : { size }) },
  });
}

/**
 * The body as text, refused with PAYLOAD_TOO_LARGE past the cap without
 * reading further (Content-Length is checked first, the stream counted
 * anyway, since a chunked body has none).
 */
export async function readBodyText(request: Request, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(Number(declared));
  if (request.body === null) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(undefined);
    }
    chunks.push(value);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
  } catch (error) {
    throw new KeonError("INVALID_DOCUMENT", "request body is not valid UTF-8", {
      cause: error,
      details: { issues: [{ path: "", message: "request body is not valid UTF-8" }] },
    });
  }
}

function isJson(contentType: string | null | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || type.endsWith("+json");
}

/**
 * Every document of the body: JSON when the Content-Type says so, YAML
 * otherwise. JSON is first checked by the JSON parser (so YAML-only syntax is
 * refused), then read by the manifest parser like YAML (JSON is YAML 1.2),
 * which gives issues their line numbers and validates every document. Both
 * run in the parser pool (manifest-parser.ts), never on the main thread.
 */
export async function readDocuments(c: Context, parser: ManifestParser = sharedManifestParser()): Promise<Document[]> {
  return (await readDocumentsWithWarnings(c, parser)).documents;
}

/** The body's documents and the warnings of the legacy fields they carried (left out). */
export async function readDocumentsWithWarnings(c: Context, parser: ManifestParser = sharedManifestParser()): Promise<ParsedManifest> {
  const text = await readBodyText(c.req.raw);
  if (text.trim() === "") {
    throw new KeonError("INVALID_DOCUMENT", "request body is empty; send a YAML or JSON document", {
      details: { issues: [{ path: "", message: "request body is empty" }] },
    });
  }
  return parser.parseWithWarnings(text, isJson(c.req.header("content-type")));
}

/** The body's single document (PUT), with the warnings of the legacy fields it carried. */
export async function readOneDocument(c: Context, parser?: ManifestParser): Promise<{ document: Document; warnings: ParsedManifest["warnings"] }> {
  const { documents, warnings } = await readDocumentsWithWarnings(c, parser);
  const [first] = documents;
  if (documents.length !== 1 || first === undefined) {
    const message = `PUT takes exactly one document (got ${documents.length}); use POST /v1/apply for several`;
    throw new KeonError("INVALID_DOCUMENT", message, { details: { issues: [{ path: "", message }] } });
  }
  return { document: first, warnings };
}

/** `?wait=<seconds>`: undefined when absent or 0; refused beyond MAX_WAIT_SECONDS. */
export function waitSecondsOf(c: Context): number | undefined {
  const raw = c.req.query("wait");
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d+(\.\d+)?$/.test(raw)) throw invalidRequest("wait", `must be a number of seconds (got '${raw.slice(0, 32)}')`);
  const seconds = Number(raw);
  if (seconds > MAX_WAIT_SECONDS) throw invalidRequest("wait", `must be at most ${MAX_WAIT_SECONDS} seconds (got ${raw})`);
  return seconds === 0 ? undefined : seconds;
}

/** A boolean query flag: absent or `false` is false; `true`, `1` or a bare `?flag` is true. */
export function flagOf(c: Context, name: string): boolean {
  const raw = c.req.query(name);
  if (raw === undefined || raw === "false" || raw === "0") return false;
  if (raw === "" || raw === "true" || raw === "1") return true;
  throw invalidRequest(name, `must be true or false (got '${raw.slice(0, 32)}')`);
}

/** A non-negative integer query parameter, or undefined when absent. */
export function integerOf(c: Context, name: string, max: number): number | undefined {
  const raw = c.req.query(name);
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) > max) {
    throw invalidRequest(name, `must be an integer from 0 to ${max} (got '${raw.slice(0, 32)}')`);
  }
  return Number(raw);
}

/** A name given in the path or query; refused with INVALID_NAME naming `field`. */
export function checkedName(field: string, value: string): string {
  const problem = nameProblem(value);
  if (problem === undefined) return value;
  throw new KeonError("INVALID_NAME", `${field}: ${problem}`, {
    details: { field, value: value.slice(0, 128), reason: problem, issues: [{ path: field, message: problem }] },
  });
}

/** An optional name query parameter (a filter). */
export function nameQueryOf(c: Context, field: string): string | undefined {
  const raw = c.req.query(field);
  if (raw === undefined || raw === "") return undefined;
  return checkedName(field, raw);
}
