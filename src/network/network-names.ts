/**
 * @module
 * The names a space's network goes by on the host, derived from validated
 * realm and space names only. Each one is bounded because a kernel or a
 * plugin limits it: IFNAMSIZ (15 chars) for the bridge, and the 255-byte
 * iptables comment `name: "<network>" id: "<containerID>"` that the bridge
 * and portmap plugins write for every attachment.
 */
import { createHash } from "node:crypto";
import { KeonError } from "../model/errors.ts";
import { validateName } from "../model/names.ts";

/** Linux IFNAMSIZ is 16 bytes with the NUL. */
export const MAX_BRIDGE_NAME_LENGTH = 15;
/** Network names up to this length are used as is; longer ones are shortened with a hash. */
const READABLE_NETWORK_NAME_MAX = 60;
/** A shortened network name is always exactly this long, so it never equals a readable one. */
const SHORTENED_NETWORK_NAME_LENGTH = 64;
/**
 * CNI container IDs up to this length are used as is; longer ones are cut to
 * exactly this length with a hash. With a 64-character network name the
 * plugins' comment (`dnat name: "…" id: "…"`) stays under 255 bytes.
 */
export const MAX_CNI_CONTAINER_ID_LENGTH = 128;

/** libcni's rule for network names and container IDs. */
const CNI_IDENTIFIER = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The key of a space in the subnet record and in hashes: `/` never occurs in a name. */
export function spaceKeyOf(realm: string, space: string): string {
  return `${validateName("realm", realm)}/${validateName("space", space)}`;
}

/**
 * `kn` + 13 hex digits of sha256(realm/space): 15 characters, deterministic,
 * and distinct for distinct spaces as far as 52 bits of hash go. A readable
 * name cannot fit: realm and space are up to 63 characters each.
 */
export function bridgeNameOf(realm: string, space: string): string {
  return `kn${sha256Hex(spaceKeyOf(realm, space)).slice(0, 13)}`;
}

/**
 * `keon.<realm>.<space>` when that is at most 60 characters (readable in
 * iptables comments and host-local's directory), else its first 50
 * characters, a dot and 13 hex digits of the hash (64 in all). `.` never
 * occurs in a name, so the readable form is unambiguous; the lengths differ,
 * so the two forms never collide.
 */
export function networkNameOf(realm: string, space: string): string {
  const key = spaceKeyOf(realm, space);
  const readable = `keon.${realm}.${space}`;
  if (readable.length <= READABLE_NETWORK_NAME_MAX) return readable;
  return `${readable.slice(0, SHORTENED_NETWORK_NAME_LENGTH - 14)}.${sha256Hex(key).slice(0, 13)}`;
}

/**
 * The container ID given to CNI for an attachment: `id` itself when at most
 * 128 characters, else a prefix of it and a hash (exactly 128). Idempotent,
 * so callers may pass either form (GC's live sets, detach). Throws
 * INVALID_CONFIGURATION for an ID CNI refuses (libcni's pattern).
 */
export function cniContainerIdOf(id: string): string {
  if (!CNI_IDENTIFIER.test(id)) {
    throw new KeonError("INVALID_CONFIGURATION", `'${id.slice(0, 80)}' is not a valid CNI container ID (letters, digits, '_', '.', '-')`, {
      details: { containerId: id.slice(0, 256) },
    });
  }
  if (id.length <= MAX_CNI_CONTAINER_ID_LENGTH) return id;
  return `${id.slice(0, MAX_CNI_CONTAINER_ID_LENGTH - 17)}.${sha256Hex(id).slice(0, 16)}`;
}

/** True when `value` follows libcni's rule for network names and container IDs. */
export function isCniIdentifier(value: string): boolean {
  return CNI_IDENTIFIER.test(value);
}

/** True for a bridge name bridgeNameOf gives (any keond's: the name carries no instance). */
export function isBridgeName(name: string): boolean {
  return /^kn[0-9a-f]{13}$/.test(name);
}
