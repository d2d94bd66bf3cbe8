/**
 * @module
 * Keon's state store: desired state (documents and their generations),
 * observed status, write-only secret values, restart counters and events, in
 * one SQLite file under the daemon's run path.
 *
 * Generation rule: `metadata.generation` starts at 1 and rises only when the
 * spec really changes, judged by the model's canonical equality (key order,
 * zero values written for unset fields, and the order of a cell's containers
 * do not count) plus the write-only values that belong to it. Labels and annotations update in
 * place without raising it, so a worker comparing `observedGeneration` with
 * `generation` reconciles only for changes that need it.
 */
import type { Database } from "bun:sqlite";
import { dirname, join } from "node:path";
import { isKeonError, KeonError } from "../model/errors.ts";
import type { Document, DocumentKind } from "../model/schema/document.ts";
import { canonicalJson } from "./canonical-json.ts";
import { specGenerationChanged } from "../model/diff.ts";
import { IN_MEMORY, openDatabase } from "./database.ts";
import { loadOrCreateKeys, SECRET_KEY_FILE, SecretBox } from "./secret-box.ts";
import { ApiTokens } from "./api-tokens.ts";
import { DEFAULT_MAX_EVENTS, EventLog } from "./event-log.ts";
import { matchesLabelSelector, parseLabelSelector } from "./label-selector.ts";
import { migrate, schemaVersion } from "./migrations.ts";
import {
  childScope, describeKey, keyOf, notFoundCode, OWN_LEVEL, SCOPE_LEVELS, toStoredKey,
  type ResourceKey, type ScopeLevel, type StoredKey,
} from "./resource-key.ts";
import { RestartCounters } from "./restart-counters.ts";
import {
  containerSecretSlot, registryPasswordSlot, SECRET_DATA_SLOT, splitSecrets, type ContainerSecretValue,
} from "./secret-values.ts";
import { storeOp } from "./store-error.ts";
import { CellSnapshots } from "./cell-snapshots.ts";
import { CellForks } from "./cell-forks.ts";
import { RetainedSnapshots } from "./retained-snapshots.ts";
import { FreezeIntents } from "./freeze-intents.ts";
import { RunIntents } from "./run-intents.ts";
import { HostFacts, SqliteSubnetStore } from "./subnet-records.ts";
import {
  KINDS_WITH_STATUS, RESOURCE_COLUMNS, toResourceKey, toStoredResource, type ResourceRow, type StoredResource,
} from "./stored-resource.ts";

export interface StoreOptions {
  /** How long a write waits for another connection (a realm Worker) to finish; default 5000. */
  busyTimeoutMs?: number;
  /** Events kept; older ones are pruned on append. Default 10000. */
  maxEvents?: number;
  /** Clock for createdAt/updatedAt and event times (tests pin it). */
  now?: () => Date;
  /** The secret key file (secret-box.ts); default `secret-keys` beside the database. An in-memory store uses a key of its own. */
  secretKeyFile?: string;
}

export interface PutOptions {
  /** Values of `fromFile`/`fromEnv` container secrets, resolved by the caller; stored apart from the spec. */
  containerSecretValues?: readonly ContainerSecretValue[];
}

export interface PutResult {
  result: "created" | "updated" | "unchanged";
  generation: number;
}

export interface ListFilter {
  /**
   * Scope filters: only resources inside this realm/space/stack/cell. For a
   * hierarchy kind its own level names the resource itself, so
   * `list("Space", {realm: "r", space: "s"})` finds space s. '' means "unset".
   */
  realm?: string;
  space?: string;
  stack?: string;
  cell?: string;
  /** `a=b,c!=d,e,!f`; see label-selector.ts. */
  labelSelector?: string;
}

export interface ResourceRef {
  kind: DocumentKind;
  key: ResourceKey;
}

/** Names one write-only value. Only the runtime reads these, through {@link Store.readSecretValue}. */
export type SecretValueRef =
  | { type: "secretData"; key: ResourceKey }
  | { type: "registryPassword"; realm: string; serverAddress?: string; username: string }
  | { type: "containerSecret"; kind: "Cell" | "Container"; key: ResourceKey; containerId: string; name: string };

type KeyParams = StoredKey & { kind: string };

const KEY_WHERE = "kind = $kind AND realm = $realm AND space = $space AND stack = $stack AND cell = $cell AND name = $name";

/** GCM's additional data for a value: its row, so a sealed value moved to another row does not open. */
function secretBinding(resourceId: number, slot: string): string {
  return `${resourceId}\0${slot}`;
}

function isThenable(value: unknown): boolean {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

function labelsOf(document: Document): Record<string, string> {
  return document.metadata.labels ?? {};
}

function annotationsOf(document: Document): Record<string, string> {
  return document.kind === "Cell" ? (document.metadata.annotations ?? {}) : {};
}

export class Store {
  readonly path: string;
  /** Files found with a mode looser than 0600 and tightened on open (for the daemon to log). */
  readonly tightenedModes: readonly string[];
  readonly restarts: RestartCounters;
  readonly events: EventLog;
  readonly intents: RunIntents;
  readonly freezes: FreezeIntents;
  readonly snapshots: CellSnapshots;
  /** Snapshots kept past their cell's deletion for the cells using their images. */
  readonly retainedSnapshots: RetainedSnapshots;
  readonly forks: CellForks;
  readonly subnets: SqliteSubnetStore;
  readonly hostFacts: HostFacts;
  readonly tokens: ApiTokens;
  private readonly db: Database;
  private readonly now: () => Date;
  private readonly box: SecretBox;

  /** Open (creating and migrating as needed) the store at `path`, or ":memory:". */
  constructor(path: string, options: StoreOptions = {}) {
    const maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
    if (!Number.isInteger(maxEvents) || maxEvents < 1) {
      throw new KeonError("INVALID_CONFIGURATION", `maxEvents must be a positive integer, got ${maxEvents}`);
    }
    this.path = path;
    this.now = options.now ?? (() => new Date());
    const opened = openDatabase(path, options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs });
    this.db = opened.db;
    const tightened = [...opened.tightened];
    try {
      migrate(this.db, path);
      if (path === IN_MEMORY) {
        this.box = SecretBox.ephemeral();
      } else {
        const keyFile = options.secretKeyFile ?? join(dirname(path), SECRET_KEY_FILE);
        const loaded = loadOrCreateKeys(keyFile);
        if (loaded.tightened) tightened.push(keyFile);
        this.box = new SecretBox(loaded.keys);
      }
      this.resealSecrets();
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.tightenedModes = tightened;
    this.restarts = new RestartCounters(this.db, (kind, key) => this.resourceId(kind, key), this.now);
    this.events = new EventLog(this.db, maxEvents, this.now);
    this.intents = new RunIntents(this.db, (key) => this.resourceId("Cell", key), this.now);
    this.freezes = new FreezeIntents(this.db, (key) => this.resourceId("Cell", key), this.now);
    this.retainedSnapshots = new RetainedSnapshots(this.db, (realm) => this.resourceId("Realm", { name: realm }), (key) => this.resourceId("Cell", key), this.now);
    this.snapshots = new CellSnapshots(this.db, (key) => this.resourceId("Cell", key), this.now, this.retainedSnapshots);
    this.forks = new CellForks(this.db, this.now);
    this.subnets = new SqliteSubnetStore(this.db, (fn) => this.transaction(fn));
    this.hostFacts = new HostFacts(this.db);
    this.tokens = new ApiTokens(this.db, this.now);
  }

  close(): void {
    this.db.close();
  }

  schemaVersion(): number {
    return storeOp("reading the schema version", () => schemaVersion(this.db));
  }

  /**
   * Run `fn` in one IMMEDIATE transaction (a savepoint when nested). IMMEDIATE
   * takes the write lock up front: a deferred transaction that reads and then
   * writes fails with SQLITE_BUSY at once, without waiting, when a Worker's
   * connection wrote in between. `fn` must be synchronous; a promise would
   * commit before its work ran, so one is refused (and rolled back).
   */
  transaction<T>(fn: () => T): T {
    return storeOp("transaction", () =>
      this.db
        .transaction(() => {
          const result = fn();
          if (isThenable(result)) {
            throw new KeonError("INTERNAL", "a store transaction callback must be synchronous; it returned a promise");
          }
          return result;
        })
        .immediate(),
    );
  }

  /**
   * Store a document as the desired state. Write-only values are moved to the
   * secret table in the same transaction; a value the document omits keeps the
   * stored one. Refused with CONFLICT while deletion of the resource is pending.
   */
  put(document: Document, options: PutOptions = {}): PutResult {
    const kind = document.kind;
    const key = toStoredKey(kind, keyOf(document));
    const split = splitSecrets(document, options.containerSecretValues);
    const spec = JSON.stringify(split.spec);
    const labels = canonicalJson(labelsOf(document));
    const annotations = canonicalJson(annotationsOf(document));
    return this.transaction(() => {
      const now = this.now().toISOString();
      const row = this.selectRow(kind, key);
      if (row === null) {
        const inserted = this.db
          .query<{ id: number }, KeyParams & { spec: string; labels: string; annotations: string; now: string }>(
            `INSERT INTO resources (kind, realm, space, stack, cell, name, spec, labels, annotations, generation, created_at, updated_at)
             VALUES ($kind, $realm, $space, $stack, $cell, $name, $spec, $labels, $annotations, 1, $now, $now)
             RETURNING id`,
          )
          .get({ kind, ...key, spec, labels, annotations, now });
        if (inserted === null) throw new KeonError("INTERNAL", "resource insert returned no row");
        for (const [slot, value] of split.provided) this.writeSecret(inserted.id, slot, value);
        return { result: "created", generation: 1 };
      }
      if (row.deletion_requested === 1) {
        throw new KeonError("CONFLICT", `${describeKey(kind, key)} is being deleted; apply it again once it is gone`);
      }
      const stored = new Map(
        this.db
          .query<{ slot: string; value: string }, { id: number }>("SELECT slot, value FROM secret_values WHERE resource_id = $id")
          .all({ id: row.id })
          .map((s) => [s.slot, this.box.open(s.value, secretBinding(row.id, s.slot))] as const),
      );
      const changedValues = [...split.provided].filter(([slot, value]) => stored.get(slot) !== value);
      const staleSlots = [...stored.keys()].filter((slot) => !split.slots.has(slot));
      const specChanged =
        specGenerationChanged({ kind, spec: JSON.parse(row.spec) }, { kind, spec: split.spec }) ||
        changedValues.length > 0 ||
        staleSlots.length > 0;
      const metadataChanged = labels !== row.labels || annotations !== row.annotations;
      if (!specChanged && !metadataChanged) return { result: "unchanged", generation: row.generation };
      const generation = specChanged ? row.generation + 1 : row.generation;
      this.db
        .query<never, { id: number; spec: string; labels: string; annotations: string; generation: number; now: string }>(
          `UPDATE resources SET spec = $spec, labels = $labels, annotations = $annotations,
             generation = $generation, updated_at = $now WHERE id = $id`,
        )
        .run({ id: row.id, spec: specChanged ? spec : row.spec, labels, annotations, generation, now });
      for (const [slot, value] of changedValues) this.writeSecret(row.id, slot, value);
      for (const slot of staleSlots) {
        this.db
          .query<never, { id: number; slot: string }>("DELETE FROM secret_values WHERE resource_id = $id AND slot = $slot")
          .run({ id: row.id, slot });
      }
      return { result: "updated", generation };
    });
  }

  get<K extends DocumentKind>(kind: K, key: ResourceKey): StoredResource<K> | undefined {
    const stored = toStoredKey(kind, key);
    return storeOp(`reading ${describeKey(kind, key)}`, () => {
      const row = this.selectRow(kind, stored);
      return row === null ? undefined : toStoredResource<K>(row);
    });
  }

  /** Resources of `kind` within the filter's scope and matching its label selector, in key order. */
  list<K extends DocumentKind>(kind: K, filter: ListFilter = {}): StoredResource<K>[] {
    const selector = parseLabelSelector(filter.labelSelector ?? "");
    const where = ["kind = $kind"];
    const params: Record<string, string> = { kind };
    for (const level of SCOPE_LEVELS) {
      const value = filter[level];
      if (value === undefined) continue;
      where.push(`${OWN_LEVEL[kind] === level ? "name" : level} = $${level}`);
      params[level] = value;
    }
    return storeOp(`listing ${kind} resources`, () =>
      this.db
        .query<ResourceRow, Record<string, string>>(
          `SELECT ${RESOURCE_COLUMNS} FROM resources WHERE ${where.join(" AND ")} ORDER BY realm, space, stack, cell, name`,
        )
        .all(params)
        .filter((row) => matchesLabelSelector(selector, JSON.parse(row.labels) as Record<string, string>))
        .map((row) => toStoredResource<K>(row)),
    );
  }

  /**
   * Remove a resource with its secret values and restart counters (cascade).
   * Returns false when it was already gone, which is not an error: teardown is
   * idempotent. Callers check {@link children} first where a cascade matters.
   */
  delete(kind: DocumentKind, key: ResourceKey): boolean {
    const stored = toStoredKey(kind, key);
    return storeOp(`deleting ${describeKey(kind, key)}`, () =>
      this.db.query<never, KeyParams>(`DELETE FROM resources WHERE ${KEY_WHERE}`).run({ kind, ...stored }).changes > 0,
    );
  }

  /** Mark a resource for deletion (its worker tears it down, then calls delete). False when absent. */
  requestDeletion(kind: DocumentKind, key: ResourceKey): boolean {
    const stored = toStoredKey(kind, key);
    return storeOp(`requesting deletion of ${describeKey(kind, key)}`, () =>
      this.db
        .query<never, KeyParams & { now: string }>(
          `UPDATE resources SET deletion_requested = 1, updated_at = $now WHERE ${KEY_WHERE}`,
        )
        .run({ kind, ...stored, now: this.now().toISOString() }).changes > 0,
    );
  }

  /**
   * The resources directly inside this one: a realm's spaces and realm-scoped
   * secrets and volumes, a space's stacks, a stack's cells, a cell's Container
   * documents and cell-scoped secrets. Empty for kinds that contain nothing.
   */
  children(kind: DocumentKind, key: ResourceKey): ResourceRef[] {
    const scope = childScope(kind, toStoredKey(kind, key));
    if (scope === undefined) return [];
    return storeOp(`listing what ${describeKey(kind, key)} contains`, () =>
      this.db
        .query<StoredKey & { kind: DocumentKind }, Record<ScopeLevel, string>>(
          `SELECT kind, realm, space, stack, cell, name FROM resources
           WHERE realm = $realm AND space = $space AND stack = $stack AND cell = $cell ORDER BY kind, name`,
        )
        .all(scope)
        .map((row) => ({ kind: row.kind, key: toResourceKey(row) })),
    );
  }

  /**
   * Write observed status together with the generation it reflects. Returns
   * false when the resource is gone (a worker finishing after a delete). An
   * observedGeneration beyond the stored generation means the worker acted on
   * a different incarnation (deleted and re-created meanwhile): CONFLICT.
   */
  setStatus(kind: DocumentKind, key: ResourceKey, status: Record<string, unknown>, observedGeneration: number): boolean {
    if (!KINDS_WITH_STATUS.has(kind)) {
      throw new KeonError("UNSUPPORTED", `a ${kind} has no status`);
    }
    if (!Number.isInteger(observedGeneration) || observedGeneration < 0) {
      throw new KeonError("INTERNAL", `observedGeneration must be a non-negative integer, got ${observedGeneration}`);
    }
    const stored = toStoredKey(kind, key);
    // observedGeneration has its own column; keeping it out of the JSON leaves one source of truth.
    const { observedGeneration: _ignored, ...rest } = status;
    return this.transaction(() => {
      const row = this.selectRow(kind, stored);
      if (row === null) return false;
      if (observedGeneration > row.generation) {
        throw new KeonError(
          "CONFLICT",
          `${describeKey(kind, key)} is at generation ${row.generation}; status for generation ${observedGeneration} belongs to another incarnation`,
        );
      }
      this.db
        .query<never, { id: number; status: string; observed: number }>(
          "UPDATE resources SET status = $status, observed_generation = $observed WHERE id = $id",
        )
        .run({ id: row.id, status: JSON.stringify(rest), observed: observedGeneration });
      return true;
    });
  }

  /**
   * setStatus for the incarnation the caller read: false (nothing written)
   * when the row is gone, or was deleted and created again meanwhile.
   */
  setStatusIfCurrent(kind: DocumentKind, key: ResourceKey, status: Record<string, unknown>, observedGeneration: number): boolean {
    try {
      return this.setStatus(kind, key, status, observedGeneration);
    } catch (error) {
      if (isKeonError(error, "CONFLICT")) return false;
      throw error;
    }
  }

  /**
   * The one way a write-only value leaves the store; for the runtime only
   * (container secrets, image pulls). Never call it to answer a client.
   */
  readSecretValue(ref: SecretValueRef): string | undefined {
    const [kind, key, slot] = ((): [DocumentKind, ResourceKey, string] => {
      switch (ref.type) {
        case "secretData":
          return ["Secret", ref.key, SECRET_DATA_SLOT];
        case "registryPassword":
          return ["Realm", { name: ref.realm }, registryPasswordSlot(ref.serverAddress, ref.username)];
        case "containerSecret":
          return [ref.kind, ref.key, containerSecretSlot(ref.containerId, ref.name)];
      }
    })();
    const stored = toStoredKey(kind, key);
    return storeOp(`reading a secret value of ${describeKey(kind, key)}`, () => {
      const row = this.db
        .query<{ value: string; id: number }, KeyParams & { slot: string }>(
          `SELECT v.value, r.id FROM secret_values AS v JOIN resources AS r ON r.id = v.resource_id
           WHERE r.kind = $kind AND r.realm = $realm AND r.space = $space AND r.stack = $stack
             AND r.cell = $cell AND r.name = $name AND v.slot = $slot`,
        )
        .get({ kind, ...stored, slot });
      return row === null ? undefined : this.box.open(row.value, secretBinding(row.id, slot));
    });
  }

  /** Like get, but a missing resource is the kind's NOT_FOUND error (REALM_NOT_FOUND, CELL_NOT_FOUND…). */
  getOrThrow<K extends DocumentKind>(kind: K, key: ResourceKey): StoredResource<K> {
    const found = this.get(kind, key);
    if (found === undefined) throw new KeonError(notFoundCode(kind), `${describeKey(kind, key)} not found`);
    return found;
  }

  private selectRow(kind: DocumentKind, key: StoredKey): ResourceRow | null {
    return this.db.query<ResourceRow, KeyParams>(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE ${KEY_WHERE}`).get({ kind, ...key });
  }

  private resourceId(kind: DocumentKind, key: ResourceKey): number | undefined {
    const stored = toStoredKey(kind, key);
    return this.db.query<{ id: number }, KeyParams>(`SELECT id FROM resources WHERE ${KEY_WHERE}`).get({ kind, ...stored })?.id;
  }

  /** Sealed before it reaches SQLite: the clear value is never in a page, the WAL or a journal. */
  private writeSecret(resourceId: number, slot: string, value: string): void {
    this.db
      .query<never, { id: number; slot: string; value: string }>(
        `INSERT INTO secret_values (resource_id, slot, value, sealed) VALUES ($id, $slot, $value, 1)
         ON CONFLICT (resource_id, slot) DO UPDATE SET value = excluded.value, sealed = 1`,
      )
      .run({ id: resourceId, slot, value: this.box.seal(value, secretBinding(resourceId, slot)) });
  }

  /**
   * Seals what a store before migration 4 kept in clear, and reseals what an
   * old key sealed (a rotation), in one transaction; then truncates the WAL,
   * whose frames still held the old bytes (secure_delete zeroes the pages).
   */
  private resealSecrets(): void {
    const resealed = this.transaction(() => {
      const rows = this.db
        .query<{ resource_id: number; slot: string; value: string; sealed: number }, []>("SELECT resource_id, slot, value, sealed FROM secret_values")
        .all()
        .filter((r) => r.sealed === 0 || !this.box.isCurrent(r.value));
      for (const r of rows) {
        const binding = secretBinding(r.resource_id, r.slot);
        this.writeSecret(r.resource_id, r.slot, r.sealed === 0 ? r.value : this.box.open(r.value, binding));
      }
      return rows.length;
    });
    if (resealed > 0 && this.path !== IN_MEMORY) this.db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  }
}
