/**
 * @module
 * Separates write-only values from a document before it is stored.
 *
 * Three kinds of value never live in a stored spec: a Secret's `spec.data`,
 * a realm's registry passwords, and the resolved values of container secrets
 * given by `fromFile`/`fromEnv` (the spec holds only the reference; the value
 * is handed to `put` beside the document). Each value goes into a named
 * *slot* of its resource in the secret table. Pure: no database here.
 */
import { KeonError } from "../model/errors.ts";
import type { ContainerSpec } from "../model/schema/container.ts";
import type { Document } from "../model/schema/document.ts";

/** Slot of a Secret document's `spec.data`. */
export const SECRET_DATA_SLOT = "data";

/** Slot of one registry password; the entry is identified by (serverAddress, username). */
export function registryPasswordSlot(serverAddress: string | undefined, username: string): string {
  return JSON.stringify(["registry", serverAddress ?? "", username]);
}

/** Slot of the resolved value of container secret `name` of container `containerId`. */
export function containerSecretSlot(containerId: string, name: string): string {
  return JSON.stringify(["container", containerId, name]);
}

/** A container secret's value, resolved by the caller from `fromFile`/`fromEnv`. */
export interface ContainerSecretValue {
  containerId: string;
  name: string;
  value: string;
}

export interface SplitDocument {
  /** The spec as it is stored and shown: no write-only value left in it. */
  spec: unknown;
  /** Values this put supplies, by slot. */
  provided: Map<string, string>;
  /** Slots the stripped spec can still own; a stored slot outside this set is stale and removed. */
  slots: Set<string>;
}

/** Container secrets that carry a value of their own (a secretRef borrows a Secret's value instead). */
function valueSlotsOf(containers: readonly ContainerSpec[]): Set<string> {
  const slots = new Set<string>();
  for (const container of containers) {
    for (const secret of container.secrets ?? []) {
      if (secret.secretRef === undefined) slots.add(containerSecretSlot(container.id, secret.name));
    }
  }
  return slots;
}

function containerValues(
  kind: string,
  slots: Set<string>,
  values: readonly ContainerSecretValue[],
): Map<string, string> {
  const provided = new Map<string, string>();
  for (const { containerId, name, value } of values) {
    const slot = containerSecretSlot(containerId, name);
    if (!slots.has(slot)) {
      throw new KeonError(
        "INVALID_DOCUMENT",
        `${kind} has no container secret '${name}' taking a value in container '${containerId}' (secretRef entries take theirs from the Secret)`,
      );
    }
    provided.set(slot, value);
  }
  return provided;
}

/**
 * Split `document` into the spec to store and the write-only values it (or
 * `containerSecretValues`) carries. A value that is absent is simply not
 * provided: the stored one is kept, which is what lets a document read back
 * from the API (which never shows values) be applied again unchanged.
 */
export function splitSecrets(document: Document, containerSecretValues: readonly ContainerSecretValue[] = []): SplitDocument {
  switch (document.kind) {
    case "Secret": {
      const { data, ...rest } = document.spec;
      rejectContainerValues(document.kind, containerSecretValues);
      return {
        spec: rest,
        provided: data === undefined ? new Map() : new Map([[SECRET_DATA_SLOT, data]]),
        slots: new Set([SECRET_DATA_SLOT]),
      };
    }
    case "Realm": {
      rejectContainerValues(document.kind, containerSecretValues);
      const credentials = document.spec.registryCredentials;
      if (credentials === undefined) return { spec: document.spec, provided: new Map(), slots: new Set() };
      const provided = new Map<string, string>();
      const slots = new Set<string>();
      const stripped = credentials.map(({ password, ...entry }) => {
        const slot = registryPasswordSlot(entry.serverAddress, entry.username);
        if (slots.has(slot)) {
          // Two entries with one identity would make "keep the stored password" ambiguous.
          throw new KeonError(
            "INVALID_DOCUMENT",
            `realm '${document.metadata.name}' lists registry credentials for user '${entry.username}' at '${entry.serverAddress ?? "(any server)"}' twice`,
          );
        }
        slots.add(slot);
        if (password !== undefined) provided.set(slot, password);
        return entry;
      });
      return { spec: { ...document.spec, registryCredentials: stripped }, provided, slots };
    }
    case "Cell": {
      const slots = valueSlotsOf(document.spec.containers);
      return { spec: document.spec, provided: containerValues("Cell", slots, containerSecretValues), slots };
    }
    case "Container": {
      const slots = valueSlotsOf([document.spec]);
      return { spec: document.spec, provided: containerValues("Container", slots, containerSecretValues), slots };
    }
    case "Space":
    case "Stack":
    case "Volume":
    case "CellBlueprint":
    case "CellConfig":
      rejectContainerValues(document.kind, containerSecretValues);
      return { spec: document.spec, provided: new Map(), slots: new Set() };
  }
}

function rejectContainerValues(kind: string, values: readonly ContainerSecretValue[]): void {
  if (values.length > 0) {
    throw new KeonError("INVALID_DOCUMENT", `a ${kind} has no containers, so it takes no container secret values`);
  }
}
