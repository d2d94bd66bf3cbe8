/**
 * @module
 * Generates TypeScript types for containerd's gRPC API into
 * src/containerd/generated/, one file per protobuf package, from the same
 * .proto files and loader options the client uses at run time
 * (src/containerd/proto-files.ts). Re-run with `bun run gen:containerd-types`
 * after the containerd -dev package changes; the output is committed.
 *
 * How: the protos are loaded into a protobufjs Root with proto-loader's own
 * loader (the function `loadSync` uses internally, so resolution and include
 * paths are identical) and the resolved reflection tree is walked. No
 * dependency beyond @grpc/proto-loader is needed.
 *
 * For each message `Foo` two types are emitted:
 * - `Foo`: what a decoded message looks like with PROTO_LOADER_OPTIONS
 *   (defaults on: scalars always present, absent sub-messages are null,
 *   repeated fields [] and maps {}; 64-bit integers as number; enums as
 *   their names; bytes as Buffer).
 * - `FooInput`: what may be passed to serialize (every field optional;
 *   64-bit integers as number or string; enums as name or number).
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type * as Protobuf from "protobufjs";
// proto-loader's internal loader: the exact Root that `loadSync` builds from.
import { loadProtosWithOptionsSync } from "@grpc/proto-loader/build/src/util.js";
import {
  DEFAULT_PROTO_ROOT,
  PROTO_LOADER_OPTIONS,
  containerdProtoFiles,
  protoIncludeDirs,
} from "../src/containerd/proto-files.ts";

/** KEON_GEN_OUT_DIR lets a test generate elsewhere and compare with the committed files. */
const OUT_DIR = process.env["KEON_GEN_OUT_DIR"] ?? join(import.meta.dir, "../src/containerd/generated");

/** Packages whose every message is emitted: they travel inside `Any` values. */
const ANY_PAYLOAD_PACKAGES = new Set([
  "containerd.events",
  "containerd.runc.v1",
  "io.containerd.cgroups.v1",
  "io.containerd.cgroups.v2",
]);

type Reflected = Protobuf.Type | Protobuf.Enum;

interface TypeEntry {
  /** Full protobuf name without the leading dot: `containerd.types.Mount`. */
  fullName: string;
  /** Package the type is declared in: `containerd.types`. */
  pkg: string;
  /** TypeScript name inside its package file; nesting joined with `_`. */
  localName: string;
  reflected: Reflected;
}

// protobufjs classes are reached through the loaded objects, not imported,
// so the script needs only proto-loader at run time.
const isType = (o: Protobuf.ReflectionObject): o is Protobuf.Type => "fieldsArray" in o && "oneofsArray" in o;
const isEnum = (o: Protobuf.ReflectionObject): o is Protobuf.Enum => "valuesById" in o;
const isService = (o: Protobuf.ReflectionObject): o is Protobuf.Service => "methodsArray" in o;
const hasNested = (o: Protobuf.ReflectionObject): o is Protobuf.Namespace => "nestedArray" in o;

function entryOf(reflected: Reflected): TypeEntry {
  const path: string[] = [];
  let node: Protobuf.ReflectionObject | null = reflected;
  while (node !== null && (isType(node) || isEnum(node))) {
    path.unshift(node.name);
    node = node.parent;
  }
  const pkg = node === null ? "" : node.fullName.replace(/^\./, "");
  return { fullName: reflected.fullName.replace(/^\./, ""), pkg, localName: path.join("_"), reflected };
}

function collect(root: Protobuf.Root): { services: Protobuf.Service[]; types: Map<string, TypeEntry> } {
  const services: Protobuf.Service[] = [];
  const types = new Map<string, TypeEntry>();
  const walk = (ns: Protobuf.ReflectionObject): void => {
    if (isService(ns)) services.push(ns);
    if (isType(ns) || isEnum(ns)) {
      const entry = entryOf(ns);
      types.set(entry.fullName, entry);
    }
    if (hasNested(ns)) for (const child of ns.nestedArray) walk(child);
  };
  walk(root);
  return { services, types };
}

/** Only emit what the services and the Any payload packages use. */
function reachable(services: Protobuf.Service[], types: Map<string, TypeEntry>): Set<string> {
  const seen = new Set<string>();
  const visit = (reflected: Reflected | null): void => {
    if (reflected === null) return;
    const name = reflected.fullName.replace(/^\./, "");
    if (seen.has(name)) return;
    seen.add(name);
    if (isType(reflected)) for (const field of reflected.fieldsArray) visit(field.resolve().resolvedType);
  };
  for (const service of services) {
    for (const method of service.methodsArray) {
      method.resolve();
      visit(method.resolvedRequestType);
      visit(method.resolvedResponseType);
    }
  }
  for (const entry of types.values()) if (ANY_PAYLOAD_PACKAGES.has(entry.pkg)) visit(entry.reflected);
  return seen;
}

// --- emit ----------------------------------------------------------------------

const fileNameOf = (pkg: string): string => pkg.replaceAll(".", "-").replaceAll("_", "-");
const aliasOf = (pkg: string): string => pkg.replaceAll(".", "_");

const NUMBER_TYPES = new Set(["double", "float", "int32", "uint32", "sint32", "fixed32", "sfixed32"]);
const LONG_TYPES = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);

/** Source file relative to its include dir, so the output is the same on any machine. */
function sourceOf(reflected: Reflected, includeDirs: string[]): string {
  // protobufjs bundles google/protobuf well-known types without a file name.
  const file = reflected.filename ?? "protobufjs built-in google/protobuf";
  const dir = [...includeDirs].sort((a, b) => b.length - a.length).find((d) => file.startsWith(`${d}/`));
  return dir === undefined ? file : file.slice(dir.length + 1);
}

/** proto3 `optional` makes a synthetic one-field oneof; it is not a real choice. */
const isProto3Optional = (field: Protobuf.Field): boolean => field.options?.["proto3_optional"] === true;

class PackageWriter {
  readonly imports = new Set<string>();
  readonly lines: string[] = [];
  constructor(
    readonly pkg: string,
    readonly types: Map<string, TypeEntry>,
    readonly includeDirs: string[],
  ) {}

  ref(reflected: Reflected, input: boolean): string {
    const entry = this.types.get(reflected.fullName.replace(/^\./, ""));
    if (entry === undefined) throw new Error(`unknown type ${reflected.fullName}`);
    const name = isType(reflected) && input ? `${entry.localName}Input` : entry.localName;
    if (entry.pkg === this.pkg) return name;
    this.imports.add(entry.pkg);
    return `${aliasOf(entry.pkg)}.${name}`;
  }

  scalar(type: string, resolved: Reflected | null, input: boolean): string {
    if (resolved !== null) {
      if (isEnum(resolved)) return input ? `${this.ref(resolved, false)} | number` : this.ref(resolved, false);
      return this.ref(resolved, input);
    }
    if (NUMBER_TYPES.has(type)) return "number";
    if (LONG_TYPES.has(type)) return input ? "number | string" : "number";
    if (type === "bool") return "boolean";
    if (type === "string") return "string";
    if (type === "bytes") return input ? "Buffer | Uint8Array | string" : "Buffer";
    throw new Error(`unsupported field type ${type}`);
  }

  fieldType(field: Protobuf.Field, input: boolean): string {
    const resolved = field.resolve().resolvedType as Reflected | null;
    const base = this.scalar(field.type, resolved, input);
    if (field.map) return `Record<string, ${base}>`;
    if (field.repeated) return base.includes(" ") ? `(${base})[]` : `${base}[]`;
    if (resolved !== null && isType(resolved)) return `${base} | null`;
    return base;
  }

  emitMessage(entry: TypeEntry, type: Protobuf.Type): void {
    const oneofs = type.oneofsArray.filter((o) => !o.fieldsArray.every(isProto3Optional));
    this.lines.push(`/** \`${entry.fullName}\` as decoded (from ${sourceOf(type, this.includeDirs)}). */`);
    this.lines.push(`export interface ${entry.localName} {`);
    for (const field of type.fieldsArray) {
      // Defaults are filled in except for oneof members (proto3 optionals included).
      const optional = field.partOf !== null ? "?" : "";
      this.lines.push(`  ${field.name}${optional}: ${this.fieldType(field, false)};`);
    }
    for (const oneof of oneofs) {
      this.lines.push(`  ${oneof.name}?: ${oneof.fieldsArray.map((f) => JSON.stringify(f.name)).join(" | ")};`);
    }
    this.lines.push("}");
    this.lines.push(`/** \`${entry.fullName}\` as accepted for encoding. */`);
    this.lines.push(`export interface ${entry.localName}Input {`);
    for (const field of type.fieldsArray) this.lines.push(`  ${field.name}?: ${this.fieldType(field, true)};`);
    this.lines.push("}");
    this.lines.push("");
  }

  emitEnum(entry: TypeEntry, en: Protobuf.Enum): void {
    const names = Object.keys(en.values).map((name) => JSON.stringify(name));
    this.lines.push(`/** \`${entry.fullName}\` (from ${sourceOf(en, this.includeDirs)}); decoded as its value name. */`);
    this.lines.push(`export type ${entry.localName} = ${names.length === 0 ? "never" : names.join(" | ")};`);
    this.lines.push("");
  }

  render(title: string): string {
    const header = [
      "// Generated by scripts/gen-containerd-types.ts. Do not edit; re-run `bun run gen:containerd-types`.",
      `// ${title}`,
      "",
    ];
    const importLines = [...this.imports]
      .sort()
      .map((pkg) => `import type * as ${aliasOf(pkg)} from "./${fileNameOf(pkg)}.ts";`);
    return [...header, ...importLines, ...(importLines.length > 0 ? [""] : []), ...this.lines].join("\n");
  }
}

function emitServices(services: Protobuf.Service[], types: Map<string, TypeEntry>): string {
  const writer = new PackageWriter("", types, []);
  writer.lines.push(
    "/** One RPC: request/response types and whether each side streams. */",
    "export interface Rpc<Request, Response, RequestStream extends boolean, ResponseStream extends boolean> {",
    "  request: Request;",
    "  response: Response;",
    "  requestStream: RequestStream;",
    "  responseStream: ResponseStream;",
    "}",
    "",
    "/** Every containerd gRPC service by its full name, method by method. */",
    "export interface ContainerdServices {",
  );
  const sorted = [...services].sort((a, b) => a.fullName.localeCompare(b.fullName));
  for (const service of sorted) {
    writer.lines.push(`  ${JSON.stringify(service.fullName.replace(/^\./, ""))}: {`);
    for (const method of service.methodsArray) {
      if (method.resolvedRequestType === null || method.resolvedResponseType === null) {
        throw new Error(`unresolved method ${method.fullName}`);
      }
      const request = writer.ref(method.resolvedRequestType, true);
      const response = writer.ref(method.resolvedResponseType, false);
      const reqStream = method.requestStream === true;
      const resStream = method.responseStream === true;
      writer.lines.push(`    ${method.name}: Rpc<${request}, ${response}, ${reqStream}, ${resStream}>;`);
    }
    writer.lines.push("  };");
  }
  writer.lines.push("}", "");
  writer.lines.push("/** Every generated message by its full protobuf name, as decoded; types `Any` payloads. */");
  writer.lines.push("export interface ContainerdMessages {");
  for (const entry of [...types.values()].sort((a, b) => a.fullName.localeCompare(b.fullName))) {
    if (!isType(entry.reflected)) continue;
    writer.lines.push(`  ${JSON.stringify(entry.fullName)}: ${writer.ref(entry.reflected, false)};`);
  }
  writer.lines.push("}", "");
  return writer.render("Service and message maps over all packages.");
}

function main(): void {
  const protoRoot = process.env["KEON_PROTO_ROOT"] ?? DEFAULT_PROTO_ROOT;
  const files = containerdProtoFiles(protoRoot);
  const root = loadProtosWithOptionsSync(files, { ...PROTO_LOADER_OPTIONS, includeDirs: protoIncludeDirs(protoRoot) });
  const { services, types: allTypes } = collect(root);
  const keep = reachable(services, allTypes);
  const types = new Map([...allTypes].filter(([name]) => keep.has(name)));

  const byPackage = new Map<string, TypeEntry[]>();
  for (const entry of types.values()) {
    const list = byPackage.get(entry.pkg) ?? [];
    list.push(entry);
    byPackage.set(entry.pkg, list);
  }

  mkdirSync(OUT_DIR, { recursive: true });
  for (const old of readdirSync(OUT_DIR)) if (old.endsWith(".ts")) rmSync(join(OUT_DIR, old));

  for (const [pkg, entries] of [...byPackage].sort(([a], [b]) => a.localeCompare(b))) {
    const writer = new PackageWriter(pkg, types, protoIncludeDirs(protoRoot));
    for (const entry of entries) {
      if (isType(entry.reflected)) writer.emitMessage(entry, entry.reflected);
      else writer.emitEnum(entry, entry.reflected);
    }
    writeFileSync(join(OUT_DIR, `${fileNameOf(pkg)}.ts`), writer.render(`Protobuf package \`${pkg}\`.`));
  }
  writeFileSync(join(OUT_DIR, "services.ts"), emitServices(services, types));
  console.log(`generated ${byPackage.size + 1} files (${types.size} types) from ${files.length} protos into ${OUT_DIR}`);
}

main();
