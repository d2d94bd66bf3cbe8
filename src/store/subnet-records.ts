/**
 * @module
 * Subnet allocations in the state database. The pool is shared by every
 * realm and each realm has its own Worker thread with its own connection:
 * {@link SqliteSubnetStore.atomically} runs a load-decide-save in one
 * IMMEDIATE transaction, so two Workers can never take the same block.
 * Implements network's SubnetStore without importing it (store imports only model).
 */
import type { Database } from "bun:sqlite";
import { storeOp } from "./store-error.ts";

export class SqliteSubnetStore {
  constructor(
    private readonly db: Database,
    private readonly transaction: <T>(fn: () => T) => T,
  ) {}

  load(): Record<string, string> {
    return storeOp("reading subnet allocations", () =>
      Object.fromEntries(
        this.db
          .query<{ space_key: string; cidr: string }, []>("SELECT space_key, cidr FROM subnet_allocations ORDER BY space_key")
          .all()
          .map((r) => [r.space_key, r.cidr]),
      ),
    );
  }

  save(allocations: Record<string, string>): void {
    this.transaction(() => {
      this.db.run("DELETE FROM subnet_allocations");
      const insert = this.db.query<never, { key: string; cidr: string }>("INSERT INTO subnet_allocations (space_key, cidr) VALUES ($key, $cidr)");
      for (const [key, cidr] of Object.entries(allocations)) insert.run({ key, cidr });
    });
  }

  atomically<T>(fn: () => T): T {
    return this.transaction(fn);
  }
}

/** Small key-value facts about the host keond last ran on (its boot id). */
export class HostFacts {
  constructor(private readonly db: Database) {}

  get(key: string): string | undefined {
    return storeOp(`reading host fact ${key}`, () =>
      this.db.query<{ value: string }, { key: string }>("SELECT value FROM host_facts WHERE key = $key").get({ key })?.value,
    );
  }

  set(key: string, value: string): void {
    storeOp(`writing host fact ${key}`, () =>
      this.db
        .query<never, { key: string; value: string }>(
          "INSERT INTO host_facts (key, value) VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .run({ key, value }),
    );
  }
}
