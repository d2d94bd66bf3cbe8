/**
 * @module
 * The etcd client the fleet uses: the npm `etcd3` package (it rides on the
 * same @grpc/grpc-js as Keon's containerd client), with a deadline on every
 * unary call, and the few reads and writes the fleet needs in one place. A
 * failure to reach etcd or to commit (no quorum) becomes FLEET_UNAVAILABLE.
 */
import { readFileSync } from "node:fs";
import { handleWhen, noop, retry } from "cockatiel";
import { Etcd3, isRecoverableError, type IOptions } from "etcd3";
import { KeonError } from "../model/errors.ts";

export interface EtcdSettings {
  endpoints: readonly string[];
  /** PEM files; all empty for plain HTTP. */
  tls: { caFile: string; certFile: string; keyFile: string };
  callTimeoutMs: number;
}

export interface KeyValue {
  key: string;
  value: string;
  modRevision: string;
  createRevision: string;
  /** How many times the key was written since it was created. */
  version: number;
  /** The attached lease in decimal ("0": none). */
  lease: string;
}

export interface Snapshot {
  /** The store revision the read saw: every key as of one moment. */
  revision: string;
  kvs: KeyValue[];
}

export function connectEtcd(settings: EtcdSettings): Etcd3 {
  const secure = settings.tls.caFile !== "";
  const hosts = settings.endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `${secure ? "https" : "http"}://${e}`));
  const options: IOptions = {
    hosts,
    dialTimeout: settings.callTimeoutMs,
    faultHandling: {
      // No per-member circuit breaker: etcd3's opens on a member that times out
      // because the cluster lost its quorum, and then even its status (how
      // fencing tells "no quorum" from "cut off") is not asked any more.
      host: () => noop,
      // A call that fails on one member is tried again on the others.
      global: retry(handleWhen(isRecoverableError), { maxAttempts: settings.endpoints.length }),
    },
    // Streams (watch, keepalive) live long; every unary call gets the deadline.
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + settings.callTimeoutMs }),
    ...(secure
      ? {
          credentials: {
            rootCertificate: readFileSync(settings.tls.caFile),
            ...(settings.tls.certFile === "" ? {} : { certChain: readFileSync(settings.tls.certFile), privateKey: readFileSync(settings.tls.keyFile) }),
          },
        }
      : {}),
  };
  return new Etcd3(options);
}

export function fleetUnavailable(what: string, cause: unknown): KeonError {
  if (cause instanceof KeonError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new KeonError("FLEET_UNAVAILABLE", `${what}: etcd did not answer or has no quorum (${detail})`, { cause, details: { etcd: detail } });
}

/** Every key under `prefix` at one revision. */
export async function readPrefix(client: Etcd3, prefix: string): Promise<Snapshot> {
  try {
    const answer = await client.getAll().prefix(prefix).exec();
    return {
      revision: String(answer.header.revision),
      kvs: answer.kvs.map((kv) => ({ key: kv.key.toString(), value: kv.value.toString(), modRevision: String(kv.mod_revision), createRevision: String(kv.create_revision), version: Number(kv.version), lease: String(kv.lease) })),
    };
  } catch (cause) {
    throw fleetUnavailable(`reading ${prefix}`, cause);
  }
}

/** JSON values of the keys under `prefix`, by the rest of their key. */
export function valuesUnder<T>(snapshot: Snapshot, prefix: string): Map<string, { value: T; modRevision: string }> {
  const out = new Map<string, { value: T; modRevision: string }>();
  for (const kv of snapshot.kvs) {
    if (!kv.key.startsWith(prefix)) continue;
    out.set(kv.key.slice(prefix.length), { value: JSON.parse(kv.value) as T, modRevision: kv.modRevision });
  }
  return out;
}

/** Puts `value` at `key` if its mod revision is still `modRevision` ("0": absent); false when another write came first. */
export async function compareAndPut(client: Etcd3, key: string, modRevision: string, value: string): Promise<boolean> {
  try {
    const answer = await client.if(key, "Mod", "==", modRevision).then(client.put(key).value(value)).commit();
    return answer.succeeded;
  } catch (cause) {
    throw fleetUnavailable(`writing ${key}`, cause);
  }
}

export async function compareAndDelete(client: Etcd3, key: string, modRevision: string): Promise<boolean> {
  try {
    const answer = await client.if(key, "Mod", "==", modRevision).then(client.delete().key(key)).commit();
    return answer.succeeded;
  } catch (cause) {
    throw fleetUnavailable(`deleting ${key}`, cause);
  }
}
