/**
 * @module
 * Write-only values at rest: every Secret value, registry password and
 * container secret value is sealed with AES-256-GCM before it reaches the
 * database (issue 13: `grep` of state.db and its WAL found them in clear).
 *
 * The keys live outside the database, in a 0600 file beside it
 * (`secret-keys`): one key per line, `<id> <base64 of 32 bytes>`. The first
 * line is the current key, which seals; every line can open. Rotation: put
 * a new key on the first line, restart keond (at open the store reseals
 * every value that is not under the current key), then drop the old line.
 * The file is generated with one random key on first start.
 *
 * A sealed value is `<key id>:<iv>:<ciphertext and tag>` (base64), bound by
 * GCM's additional data to its row (resource id and slot), so a value
 * copied onto another row does not open there.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, closeSync, existsSync, openSync, readFileSync, statSync, writeSync, constants } from "node:fs";
import { KeonError } from "../model/errors.ts";

export const SECRET_KEY_FILE = "secret-keys";
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export interface SecretKey {
  id: string;
  key: Buffer;
}

/** Parses the key file's text; the first key is the current one. */
export function parseKeyFile(text: string, path: string): SecretKey[] {
  const keys: SecretKey[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const [id, encoded, extra] = line.split(/\s+/);
    const key = encoded === undefined ? undefined : Buffer.from(encoded, "base64");
    if (id === undefined || !KEY_ID.test(id) || key === undefined || key.length !== KEY_BYTES || extra !== undefined) {
      throw new KeonError("INVALID_CONFIGURATION", `${path} line ${i + 1}: expected '<id> <base64 of ${KEY_BYTES} bytes>' (the key itself is not shown)`);
    }
    if (keys.some((k) => k.id === id)) throw new KeonError("INVALID_CONFIGURATION", `${path} line ${i + 1}: key id '${id}' is used twice`);
    keys.push({ id, key });
  });
  if (keys.length === 0) throw new KeonError("INVALID_CONFIGURATION", `${path} holds no key`);
  return keys;
}

/** A fresh key line: an id from the time (so rotations sort) and 32 random bytes. */
export function newKeyLine(now = new Date()): string {
  const id = `k${now.toISOString().replace(/[-:TZ.]/g, "").slice(0, 14)}`;
  return `${id} ${randomBytes(KEY_BYTES).toString("base64")}\n`;
}

/**
 * The keys of `path`, generating the file (0600, created exclusively, so
 * keond and a Worker opening at once agree on one key) when it is absent.
 * A file readable by group or others is tightened, like the database.
 */
export function loadOrCreateKeys(path: string): { keys: SecretKey[]; tightened: boolean } {
  if (!existsSync(path)) {
    try {
      const fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
      try {
        writeSync(fd, newKeyLine());
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new KeonError("STORE_ERROR", `cannot create the secret key file ${path}: ${(error as Error).message}`, { cause: error });
      }
    }
  }
  let tightened = false;
  if ((statSync(path).mode & 0o077) !== 0) {
    chmodSync(path, 0o600);
    tightened = true;
  }
  return { keys: parseKeyFile(readFileSync(path, "utf8"), path), tightened };
}

export class SecretBox {
  private readonly byId: Map<string, Buffer>;
  readonly currentId: string;

  constructor(keys: readonly SecretKey[]) {
    if (keys.length === 0) throw new KeonError("INVALID_CONFIGURATION", "no secret key");
    this.currentId = keys[0]!.id;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** A box with one random key that lives as long as the process (an in-memory store). */
  static ephemeral(): SecretBox {
    return new SecretBox([{ id: "memory", key: randomBytes(KEY_BYTES) }]);
  }

  seal(plaintext: string, binding: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.byId.get(this.currentId)!, iv);
    cipher.setAAD(Buffer.from(binding, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `${this.currentId}:${iv.toString("base64")}:${body.toString("base64")}`;
  }

  open(sealed: string, binding: string): string {
    const [id, iv, body] = sealed.split(":");
    const key = id === undefined ? undefined : this.byId.get(id);
    if (key === undefined || iv === undefined || body === undefined) {
      throw new KeonError("STORE_ERROR", `a secret value is sealed with key '${id ?? "?"}', which the secret key file does not hold`);
    }
    const bytes = Buffer.from(body, "base64");
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64"));
      decipher.setAAD(Buffer.from(binding, "utf8"));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)), decipher.final()]).toString("utf8");
    } catch (cause) {
      throw new KeonError("STORE_ERROR", `a secret value does not open with key '${id}' (altered, or moved to another row)`, { cause });
    }
  }

  /** Whether `sealed` is under the current key (else it is resealed at open). */
  isCurrent(sealed: string): boolean {
    return sealed.startsWith(`${this.currentId}:`);
  }
}
