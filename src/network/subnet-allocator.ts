/**
 * @module
 * Subnet allocation with persistence: the pure decisions of subnet-pool.ts
 * applied to a record kept by a small injected store. Each call loads,
 * decides and saves, so the record on disk is the only state.
 *
 * Callers must serialise calls: the pool is shared by every realm, and two
 * workers allocating at once through a file store could both take the same
 * block. Allocate from one place (the daemon's main thread at space create),
 * or give a store whose load/save run inside one transaction (SQLite).
 */
import { readFileSync } from "node:fs";
import { KeonError } from "../model/errors.ts";
import { writeFileAtomic } from "../support/atomic-file.ts";
import { parseCidr } from "./cidr.ts";
import {
  allocateSubnet, DEFAULT_SUBNET_POOL, parseSubnetPool, releaseSubnet,
  type SubnetAllocations, type SubnetPool, type SubnetPoolConfig,
} from "./subnet-pool.ts";

/** Where allocations persist: `{spaceKey: cidr}`. */
export interface SubnetStore {
  load(): Record<string, string>;
  save(allocations: Record<string, string>): void;
  /** Runs a load-decide-save as one unit against other processes or threads (SQLite: one IMMEDIATE transaction). */
  atomically?<T>(fn: () => T): T;
}

export class SubnetAllocator {
  readonly pool: SubnetPool;

  /** Throws INVALID_CONFIGURATION for an unusable pool, before anything is allocated. */
  constructor(
    private readonly store: SubnetStore,
    config: SubnetPoolConfig = DEFAULT_SUBNET_POOL,
  ) {
    this.pool = parseSubnetPool(config);
  }

  /**
   * The subnet of `key` (e.g. spaceKeyOf(realm, space)), allocating the
   * lowest free block on first use. `avoid` adds blocks to skip this time
   * (the host's current routes); an existing allocation is never moved.
   */
  allocate(key: string, avoid: readonly string[] = []): string {
    const pool = avoid.length === 0 ? this.pool : { ...this.pool, reserved: [...this.pool.reserved, ...avoid.map((c, i) => parseCidr(c, `avoid[${i}]`))] };
    return this.atomically(() => {
      const allocation = allocateSubnet(pool, this.store.load(), key);
      if (allocation.created) this.store.save(allocation.allocations);
      return allocation.cidr;
    });
  }

  /** Frees the subnet of `key` (space deleted); returns it, or undefined when it held none. */
  release(key: string): string | undefined {
    return this.atomically(() => {
      const { allocations, released } = releaseSubnet(this.store.load(), key);
      if (released !== undefined) this.store.save(allocations);
      return released;
    });
  }

  private atomically<T>(fn: () => T): T {
    return this.store.atomically === undefined ? fn() : this.store.atomically(fn);
  }

  lookup(key: string): string | undefined {
    return this.store.load()[key];
  }

  list(): SubnetAllocations {
    return this.store.load();
  }
}

const FILE_VERSION = 1;

/**
 * The record as one JSON file (`{version, allocations}`) under the run path,
 * replaced atomically on every save. An absent file is an empty record.
 */
export class JsonFileSubnetStore implements SubnetStore {
  constructor(readonly path: string) {}

  load(): Record<string, string> {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw new KeonError("STORE_ERROR", `cannot read the subnet record ${this.path}: ${(error as Error).message}`, { cause: error });
    }
    let parsed: { version?: unknown; allocations?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch (cause) {
      throw new KeonError("STORE_ERROR", `the subnet record ${this.path} is not JSON: ${(cause as Error).message}`, { cause });
    }
    const allocations = parsed.allocations;
    if (
      parsed.version !== FILE_VERSION || allocations === null || typeof allocations !== "object" || Array.isArray(allocations) ||
      !Object.values(allocations).every((v) => typeof v === "string")
    ) {
      throw new KeonError("STORE_ERROR", `the subnet record ${this.path} has an unknown layout (want {version: ${FILE_VERSION}, allocations: {key: cidr}})`);
    }
    return { ...(allocations as Record<string, string>) };
  }

  save(allocations: Record<string, string>): void {
    // Sorted keys: the same record always gives the same bytes.
    const sorted = Object.fromEntries(Object.entries(allocations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    try {
      writeFileAtomic(this.path, `${JSON.stringify({ version: FILE_VERSION, allocations: sorted }, null, 2)}\n`);
    } catch (cause) {
      throw new KeonError("STORE_ERROR", `cannot write the subnet record ${this.path}: ${(cause as Error).message}`, { cause });
    }
  }
}
