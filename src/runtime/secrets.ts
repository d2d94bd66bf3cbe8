/**
 * @module
 * Container secrets at start time. The value comes from the store (a Secret
 * document's data for `secretRef`; the value the API resolved at apply time
 * for `fromFile`/`fromEnv`), and goes either into the process env or into a
 * 0400 file on a tmpfs under the run path, bind-mounted read-only. The tmpfs
 * keeps values off the disk. Values are never logged, labelled or returned:
 * only their paths and names leave this module.
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KeonError } from "../model/errors.ts";
import type { ContainerSpec } from "../model/schema/container.ts";
import { runChecked } from "../network/run-command.ts";
import type { ResolvedBindMount, SecretEnvVar } from "../oci/inputs.ts";
import { cellSecretsDirOf, containerSecretsDirOf, secretsRootOf, type CellScope } from "./run-layout.ts";

export interface SecretScopeRef {
  name: string;
  realm: string;
  space?: string | undefined;
  stack?: string | undefined;
  cell?: string | undefined;
}

/** Where values come from; Store.readSecretValue backs it in keond (store-secret-source.ts). */
export interface SecretValueSource {
  secretData(ref: SecretScopeRef): string | undefined;
  containerSecret(containerId: string, name: string): string | undefined;
}

export interface SecretFile {
  /** Host path on the secrets tmpfs. */
  hostPath: string;
  mountPath: string;
  value: string;
}

export interface ResolvedSecrets {
  env: SecretEnvVar[];
  files: SecretFile[];
  mounts: ResolvedBindMount[];
}

function valueOf(source: SecretValueSource | undefined, container: ContainerSpec, index: number): string {
  const secret = container.secrets![index]!;
  const field = `secrets[${index}]`;
  let value: string | undefined;
  if (secret.secretRef !== undefined) {
    value = source?.secretData(secret.secretRef);
  } else {
    value = source?.containerSecret(container.id, secret.name);
    // A fromFile value not resolved at apply time is read now, from the host file it names.
    if (value === undefined && secret.fromFile !== undefined) {
      try {
        value = readFileSync(secret.fromFile, "utf8");
      } catch (cause) {
        throw new KeonError("SECRET_NOT_FOUND", `container ${container.id} ${field}.fromFile: cannot read ${secret.fromFile}`, {
          cause,
          details: { container: container.id, field: `${field}.fromFile` },
        });
      }
    }
  }
  if (value === undefined) {
    const what = secret.secretRef ? `Secret ${secret.secretRef.name} of realm ${secret.secretRef.realm}` : `the value of '${secret.name}'`;
    throw new KeonError("SECRET_NOT_FOUND", `container ${container.id} ${field}: ${what} is not stored`, {
      details: { container: container.id, field, secret: secret.name },
    });
  }
  return value;
}

/** Resolves a container's secrets into env vars and file binds (files are written by writeSecretFiles). */
export function resolveSecrets(runPath: string, scope: CellScope, container: ContainerSpec, source: SecretValueSource | undefined): ResolvedSecrets {
  const resolved: ResolvedSecrets = { env: [], files: [], mounts: [] };
  (container.secrets ?? []).forEach((secret, index) => {
    const value = valueOf(source, container, index);
    if (secret.mountPath === undefined) {
      resolved.env.push({ name: secret.name, value });
      return;
    }
    const hostPath = join(containerSecretsDirOf(runPath, scope, container.id), secret.name);
    resolved.files.push({ hostPath, mountPath: secret.mountPath, value });
    resolved.mounts.push({ source: hostPath, destination: secret.mountPath, readOnly: true });
  });
  return resolved;
}

function isMountPoint(path: string): boolean {
  const mountinfo = readFileSync("/proc/self/mountinfo", "utf8");
  return mountinfo.split("\n").some((line) => line.split(" ")[4] === path);
}

/** Mounts the secrets tmpfs once; idempotent. noexec: nothing there is ever run. */
export async function ensureSecretsTmpfs(runPath: string): Promise<string> {
  const dir = secretsRootOf(runPath);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!isMountPoint(dir)) {
    await runChecked(["mount", "-t", "tmpfs", "-o", "mode=0700,nosuid,nodev,noexec,size=16m", "keon-secrets", dir], { timeoutMs: 10_000 });
  }
  return dir;
}

/** For daemon shutdown and test teardown: unmount the tmpfs (the values vanish with it). */
export async function unmountSecretsTmpfs(runPath: string): Promise<void> {
  const dir = secretsRootOf(runPath);
  if (isMountPoint(dir)) await runChecked(["umount", dir], { timeoutMs: 10_000 });
  rmSync(dir, { recursive: true, force: true });
}

/** Writes each file 0400, owned by the container's user so a non-root process can read it. */
export async function writeSecretFiles(runPath: string, files: readonly SecretFile[], owner: { uid: number; gid: number }): Promise<void> {
  if (files.length === 0) return;
  await ensureSecretsTmpfs(runPath);
  for (const file of files) {
    const dir = join(file.hostPath, "..");
    mkdirSync(dir, { recursive: true, mode: 0o711 });
    rmSync(file.hostPath, { force: true });
    // "wx": a file that appeared since the rm is not ours to overwrite; chmod because umask may narrow the mode.
    writeFileSync(file.hostPath, file.value, { mode: 0o400, flag: "wx" });
    chmodSync(file.hostPath, 0o400);
    chownSync(file.hostPath, owner.uid, owner.gid);
  }
}

export function removeCellSecrets(runPath: string, scope: CellScope): void {
  rmSync(cellSecretsDirOf(runPath, scope), { recursive: true, force: true });
}
