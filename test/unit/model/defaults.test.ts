import { describe, expect, test } from "bun:test";
import {
  BUILT_IN_CONTAINER_DEFAULTS, effectiveCellSpec, effectiveContainer, restartPolicyOf, spaceContainerDefaultsOf,
} from "../../../src/model/defaults.ts";
import type { ContainerSpec } from "../../../src/model/schema/container.ts";
import type { ContainerDocument } from "../../../src/model/schema/container-document.ts";
import type { SpaceContainerDefaults } from "../../../src/model/schema/space.ts";

const base: ContainerSpec = { id: "app", image: "nginx" };

/** For each field: a container value, a space value, and the zero values that count as unset on the container. */
const FIELDS: Array<{
  field: keyof SpaceContainerDefaults;
  container: unknown;
  space: unknown;
  unset: unknown[];
  /** Zero values that are set (they replace the space default). */
  setZero: unknown[];
}> = [
  { field: "user", container: "1000:1000", space: "nobody", unset: [undefined, ""], setZero: [] },
  { field: "readOnlyRootFilesystem", container: false, space: true, unset: [undefined], setZero: [false] },
  { field: "capabilities", container: { add: ["NET_ADMIN"] }, space: { drop: ["ALL"] }, unset: [undefined], setZero: [{}] },
  { field: "securityOpts", container: ["seccomp=unconfined"], space: ["no-new-privileges"], unset: [undefined, []], setZero: [] },
  { field: "tmpfs", container: [{ path: "/run" }], space: [{ path: "/tmp", sizeBytes: 1024 }], unset: [undefined, []], setZero: [] },
  { field: "resources", container: { pidsLimit: 10 }, space: { memoryLimitBytes: 1 << 20 }, unset: [undefined], setZero: [{}] },
];

const withField = (field: string, value: unknown): ContainerSpec =>
  (value === undefined ? { ...base } : { ...base, [field]: value }) as ContainerSpec;

describe.each(FIELDS)("space default for $field", ({ field, container, space, unset, setZero }) => {
  const defaults = { [field]: space } as SpaceContainerDefaults;

  test("set on the container only: kept", () => {
    expect(effectiveContainer(withField(field, container), {})[field]).toEqual(container as never);
    expect(effectiveContainer(withField(field, container))[field]).toEqual(container as never);
  });
  test("set on the space only: inherited", () => {
    expect(effectiveContainer(base, defaults)[field]).toEqual(space as never);
  });
  test("set on both: the container wins outright (no union)", () => {
    expect(effectiveContainer(withField(field, container), defaults)[field]).toEqual(container as never);
  });
  test("set on neither: stays unset (built-in default applies later)", () => {
    expect(effectiveContainer(base, {})[field]).toBeUndefined();
    expect(field in effectiveContainer(base, {})).toBe(false);
  });
  test.each(unset.map((v) => [JSON.stringify(v) ?? "undefined", v]))("container value %s counts as unset", (_label, value) => {
    expect(effectiveContainer(withField(field, value), defaults)[field]).toEqual(space as never);
  });
  test.each(setZero.map((v) => [JSON.stringify(v), v]))("container value %s counts as set", (_label, value) => {
    expect(effectiveContainer(withField(field, value), defaults)[field]).toEqual(value as never);
  });
  test.each(unset.filter((v) => v !== undefined).map((v) => [JSON.stringify(v), v]))("an empty space value %s is no default", (_label, value) => {
    expect(effectiveContainer(withField(field, container), { [field]: value } as SpaceContainerDefaults)[field]).toEqual(container as never);
    expect(effectiveContainer(base, { [field]: value } as SpaceContainerDefaults)[field]).toBeUndefined();
  });
  test("idempotent", () => {
    for (const start of [base, withField(field, container), ...unset.map((v) => withField(field, v))]) {
      const once = effectiveContainer(start, defaults);
      expect(effectiveContainer(once, defaults)).toEqual(once);
    }
  });
});

describe("effectiveContainer", () => {
  const defaults: SpaceContainerDefaults = {
    user: "1000", readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] },
    securityOpts: ["no-new-privileges"], tmpfs: [{ path: "/tmp", options: ["noexec"] }], resources: { pidsLimit: 64 },
  };

  test("fills every unset isolation field and leaves the rest alone", () => {
    const container: ContainerSpec = { id: "app", image: "nginx", args: ["-g"], restartPolicy: "always" };
    expect(effectiveContainer(container, defaults)).toEqual({ ...container, ...defaults });
  });

  test("does not modify or alias its inputs", () => {
    const container: ContainerSpec = { id: "app", capabilities: { add: ["NET_RAW"] } };
    const before = structuredClone({ container, defaults });
    const out = effectiveContainer(container, defaults);
    out.tmpfs![0]!.options!.push("nosuid");
    out.capabilities!.add!.push("SYS_TIME");
    out.resources!.pidsLimit = 1;
    expect({ container, defaults }).toEqual(before);
  });

  test("idempotent with every field at once", () => {
    const once = effectiveContainer({ id: "a", user: "", securityOpts: [], readOnlyRootFilesystem: false }, defaults);
    expect(effectiveContainer(once, defaults)).toEqual(once);
    expect(once.readOnlyRootFilesystem).toBe(false);
    expect(once.user).toBe("1000");
  });

  test("works on container documents' specs (placement kept)", () => {
    const spec: ContainerDocument["spec"] = { id: "c", realmId: "r", spaceId: "s", stackId: "t", cellId: "c" };
    const out: ContainerDocument["spec"] = effectiveContainer(spec, { user: "1" });
    expect(out).toEqual({ ...spec, user: "1" });
  });
});

describe("cell and space helpers", () => {
  test("effectiveCellSpec merges every container", () => {
    const spec = effectiveCellSpec(
      { realmId: "r", spaceId: "s", stackId: "t", containers: [{ id: "a" }, { id: "b", user: "2" }] },
      { user: "1" },
    );
    expect(spec.containers.map((c) => c.user)).toEqual(["1", "2"]);
  });
  test("spaceContainerDefaultsOf", () => {
    expect(spaceContainerDefaultsOf({ spec: { defaults: { container: { user: "1" } } } })).toEqual({ user: "1" });
    expect(spaceContainerDefaultsOf({ spec: {} })).toBeUndefined();
    expect(spaceContainerDefaultsOf(undefined)).toBeUndefined();
  });
});

describe("built-in defaults", () => {
  test("restartPolicy: empty or absent means never", () => {
    expect(restartPolicyOf({})).toBe("never");
    expect(restartPolicyOf({ restartPolicy: "" })).toBe("never");
    expect(restartPolicyOf({ restartPolicy: "on-failure" })).toBe("on-failure");
  });
  test("documented and frozen", () => {
    expect(BUILT_IN_CONTAINER_DEFAULTS.readOnlyRootFilesystem).toBe(false);
    expect(Object.isFrozen(BUILT_IN_CONTAINER_DEFAULTS)).toBe(true);
  });
});
