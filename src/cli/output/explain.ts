/**
 * @module
 * `keon explain`'s page for one field, in kubectl explain's layout: the
 * field, its type, whether it is required, its default and allowed values,
 * its description, then its own fields. Pure.
 */
import type { FieldInfo } from "../../model/schema-fields.ts";

const show = (value: string): string => (value === "" ? '"" (empty)' : value);

export function renderExplain(info: FieldInfo): string {
  const [kind, ...rest] = info.path.split(".");
  const lines = [`KIND:     ${kind}`];
  if (rest.length > 0) lines.push(`FIELD:    ${rest.join(".")} <${info.type}>`);
  else lines.push(`TYPE:     ${info.type}`);
  if (rest.length > 0) lines.push(`REQUIRED: ${info.required ? "yes" : "no"}`);
  if (info.allowed !== undefined) lines.push(`ALLOWED:  ${info.allowed.map(show).join(", ")}`);
  if (info.default !== undefined) lines.push(`DEFAULT:  ${JSON.stringify(info.default)}`);
  if (info.description !== undefined) lines.push("", "DESCRIPTION:", `  ${info.description}`);
  if (info.fields.length > 0) {
    lines.push("", "FIELDS:");
    const width = Math.max(...info.fields.map((f) => f.name.length));
    for (const field of info.fields) {
      lines.push(`  ${field.name.padEnd(width)}  <${field.type}>${field.required ? "  -required-" : ""}`);
      if (field.description !== undefined) lines.push(`      ${field.description}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
