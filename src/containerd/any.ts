/**
 * @module
 * `google.protobuf.Any` values as containerd uses them: OCI runtime specs and
 * process specs travel as JSON under typeurl names, everything else as
 * protobuf messages named by their full protobuf name.
 */
import { KeonError } from "../model/errors.ts";
import type { Any, AnyInput } from "./generated/google-protobuf.ts";

/** typeurl of an OCI runtime spec in Containers.Create (containerd's typeurl registry name). */
export const OCI_SPEC_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
/** typeurl of an OCI process spec in Tasks.Exec. */
export const OCI_PROCESS_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Process";

/** An Any carrying `value` as JSON, the way containerd's typeurl stores Go structs it registered as JSON. */
export function jsonAny(typeUrl: string, value: unknown): AnyInput {
  return { type_url: typeUrl, value: Buffer.from(JSON.stringify(value)) };
}

/** Parse the JSON inside an Any, checking its type URL. */
export function decodeJsonAny(any: Any | null, expectedTypeUrl: string): unknown {
  if (any === null) throw new KeonError("CONTAINERD_ERROR", `expected ${expectedTypeUrl}, got no value`);
  if (any.type_url !== expectedTypeUrl) {
    throw new KeonError("CONTAINERD_ERROR", `expected ${expectedTypeUrl}, got ${any.type_url}`);
  }
  try {
    return JSON.parse(any.value.toString("utf8"));
  } catch (cause) {
    throw new KeonError("CONTAINERD_ERROR", `invalid JSON in ${any.type_url}`, { cause });
  }
}

/**
 * The protobuf message name in a type URL. containerd's typeurl names
 * protobuf messages by their full name, with or without a `host/` prefix
 * (`containerd.events.TaskExit`, `type.googleapis.com/x.Y`).
 */
export function messageNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
}
