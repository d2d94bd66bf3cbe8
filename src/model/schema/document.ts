/** @module Any v1beta1 document, discriminated by `kind`. */
import * as v from "./valibot-strict.ts";
import { cellBlueprintDocumentSchema, cellConfigDocumentSchema } from "./blueprint.ts";
import { cellDocumentSchema, cellStatusSchema } from "./cell.ts";
import { containerDocumentSchema } from "./container-document.ts";
import { realmDocumentSchema, realmStatusSchema } from "./realm.ts";
import { secretDocumentSchema } from "./secret.ts";
import { spaceDocumentSchema, spaceStatusSchema } from "./space.ts";
import { stackDocumentSchema, stackStatusSchema } from "./stack.ts";
import { containerStatusSchema } from "./container.ts";
import { volumeDocumentSchema } from "./volume.ts";

export const DOCUMENT_SCHEMAS = {
  Realm: realmDocumentSchema,
  Space: spaceDocumentSchema,
  Stack: stackDocumentSchema,
  Cell: cellDocumentSchema,
  Container: containerDocumentSchema,
  Secret: secretDocumentSchema,
  Volume: volumeDocumentSchema,
  CellBlueprint: cellBlueprintDocumentSchema,
  CellConfig: cellConfigDocumentSchema,
} as const;

export type DocumentKind = keyof typeof DOCUMENT_SCHEMAS;
export const DOCUMENT_KINDS = Object.keys(DOCUMENT_SCHEMAS) as DocumentKind[];

export const documentSchema = v.variant("kind", [
  realmDocumentSchema,
  spaceDocumentSchema,
  stackDocumentSchema,
  cellDocumentSchema,
  containerDocumentSchema,
  secretDocumentSchema,
  volumeDocumentSchema,
  cellBlueprintDocumentSchema,
  cellConfigDocumentSchema,
]);

export type Document = v.InferOutput<typeof documentSchema>;
export type DocumentOf<K extends DocumentKind> = Extract<Document, { kind: K }>;

/** What keond writes as each kind's `status` (ignored on input): for references such as `keon explain cell.status`. */
export const STATUS_SCHEMAS = {
  Realm: realmStatusSchema,
  Space: spaceStatusSchema,
  Stack: stackStatusSchema,
  Cell: cellStatusSchema,
  Container: containerStatusSchema,
} as const satisfies Partial<Record<DocumentKind, unknown>>;
