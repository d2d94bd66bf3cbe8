import { describe, expect, test } from "bun:test";
import { OCI_SPEC_TYPE_URL, decodeJsonAny, jsonAny, messageNameOf } from "../../../src/containerd/any.ts";
import { isKeonError } from "../../../src/model/errors.ts";

describe("Any values", () => {
  test("JSON Anys round-trip and check their type URL", () => {
    const spec = { ociVersion: "1.0.2-dev", process: { args: ["/bin/true"] } };
    const any = jsonAny(OCI_SPEC_TYPE_URL, spec);
    const decoded = { type_url: any.type_url ?? "", value: Buffer.from(any.value as Buffer) };
    expect(decodeJsonAny(decoded, OCI_SPEC_TYPE_URL)).toEqual(spec);
    expect(isKeonError(catching(() => decodeJsonAny(decoded, "other/type")), "CONTAINERD_ERROR")).toBe(true);
    expect(isKeonError(catching(() => decodeJsonAny(null, OCI_SPEC_TYPE_URL)), "CONTAINERD_ERROR")).toBe(true);
  });

  test("invalid JSON is a CONTAINERD_ERROR", () => {
    const bad = { type_url: OCI_SPEC_TYPE_URL, value: Buffer.from("{not json") };
    expect(isKeonError(catching(() => decodeJsonAny(bad, OCI_SPEC_TYPE_URL)), "CONTAINERD_ERROR")).toBe(true);
  });

  test("message names come with or without a host prefix", () => {
    expect(messageNameOf("containerd.events.TaskExit")).toBe("containerd.events.TaskExit");
    expect(messageNameOf("type.googleapis.com/containerd.events.TaskOOM")).toBe("containerd.events.TaskOOM");
  });
});

function catching(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
