/**
 * @module
 * One container of a cell, from its effective spec to a containerd record:
 * resolve volumes and secrets, clone its repos, gather host facts and the image config, build
 * the OCI spec, then create the record with its rootfs snapshot, or update
 * the spec of an existing one (a restart after stop: the root's pid, hence the
 * namespace paths, changed; the writable layer stays).
 */
import type { ContainerdClient } from "../containerd/client.ts";
import { createContainerWithRootfs } from "../containerd/container-rootfs.ts";
import { readImageConfig } from "../containerd/image-config.ts";
import { findImage } from "../containerd/image-store.ts";
import { isKeonError, KeonError } from "../model/errors.ts";
import { containerCgroupPathOf } from "../model/derived-ids.ts";
import type { ContainerSpec } from "../model/schema/container.ts";
import { buildOciSpec, buildRootContainerSpec, type CellContext, type OciSpec } from "../oci/spec.ts";
import { chownSync, existsSync, mkdirSync } from "node:fs";
import { needsTtyWrapper } from "../oci/tty-wrapper.ts";
import { containerTtyDirOf } from "./run-layout.ts";
import { etcPathsOf, type EtcPaths } from "./cell-etc.ts";
import { containerdIdOf, keonLabels, type CellLayout, type CellTarget } from "./cell-target.ts";
import { ensurePauseRootfs, PAUSE_BINARY_IN_ROOTFS } from "./pause-rootfs.ts";
import { join } from "node:path";
import type { RuntimeContext } from "./runtime-context.ts";
import { ensureRepos, handOverRepos } from "./repos.ts";
import { resolveSecrets, writeSecretFiles } from "./secrets.ts";
import { stopTask } from "./task-control.ts";
import { resolveVolumes } from "./volumes.ts";

/** A hostNetwork container sees the host's own /etc files (those the host has), read-only. */
function hostEtcPaths(): Partial<EtcPaths> & { etcReadOnly: true } {
  const paths: Partial<EtcPaths> & { etcReadOnly: true } = { etcReadOnly: true };
  if (existsSync(HOST_ETC.hostsPath)) paths.hostsPath = HOST_ETC.hostsPath;
  if (existsSync(HOST_ETC.hostnamePath)) paths.hostnamePath = HOST_ETC.hostnamePath;
  if (existsSync(HOST_ETC.resolvConfPath)) paths.resolvConfPath = HOST_ETC.resolvConfPath;
  return paths;
}

const HOST_ETC: EtcPaths = { hostsPath: "/etc/hosts", hostnamePath: "/etc/hostname", resolvConfPath: "/etc/resolv.conf" };

export interface BuiltContainer {
  containerdId: string;
  spec: OciSpec;
  /** Image name and chain ID for the rootfs; absent for the pause root. */
  image?: { name: string; chainId: string };
}

function baseContext(ctx: RuntimeContext, layout: CellLayout, containerId: string): CellContext {
  return {
    ...layout.scope,
    containerId,
    cgroupsPath: containerCgroupPathOf({ root: ctx.config.cgroupRoot, ...layout.scope, container: containerId }),
    nestedCgroupRuntime: layout.spec.nestedCgroupRuntime === true,
    rootfsPath: "rootfs",
  };
}

/** Keon's pause root: catatonit from a directory under the run path, no image. */
export async function buildPauseRoot(ctx: RuntimeContext, layout: CellLayout): Promise<BuiltContainer> {
  const rootfs = ensurePauseRootfs(ctx.config.runPath, ctx.config.catatonit);
  const spec = buildRootContainerSpec({ ...baseContext(ctx, layout, layout.rootId), rootfsPath: rootfs }, await ctx.hostFacts([]));
  return { containerdId: containerdIdOf(layout.scope, layout.rootId), spec };
}

/**
 * A container of the spec (a workload, or the cell's own root when
 * `rootTaskPid` is undefined). Secret files are written here, after the spec
 * says which user reads them.
 */
export async function buildContainer(
  ctx: RuntimeContext,
  target: CellTarget,
  layout: CellLayout,
  container: ContainerSpec,
  rootTaskPid: number | undefined,
): Promise<BuiltContainer> {
  const index = layout.spec.containers.findIndex((c) => c.id === container.id);
  const field = `spec.containers[${index}]`;
  if (container.image === undefined || container.image === "") {
    throw new KeonError("INVALID_DOCUMENT", `${field}.image: container ${container.id} names no image`, { details: { field: `${field}.image` } });
  }
  const client = ctx.containerd.withNamespace(target.namespace);
  const image = await readImageConfig(client, container.image);
  const volumeSources = resolveVolumes(ctx.config.runPath, container, field);
  const secrets = resolveSecrets(ctx.config.runPath, layout.scope, container, target.secrets);
  const repos = await ensureRepos(ctx.config.runPath, layout.scope, container, target.secrets);
  const etc = container.hostNetwork === true ? hostEtcPaths() : etcPathsOf(ctx.config.runPath, layout.scope, container.id);
  const cellContext: CellContext = {
    ...baseContext(ctx, layout, container.id),
    ...(rootTaskPid === undefined ? {} : { rootTaskPid, shimGroup: containerdIdOf(layout.scope, layout.rootId) }),
    ...etc,
    volumeSources,
    extraMounts: [...secrets.mounts, ...repos.mounts],
    secretEnv: secrets.env,
    ...(needsTtyWrapper(container) ? { ttyStateDir: containerTtyDirOf(ctx.config.runPath, layout.scope, container.id) } : {}),
    // The pause root's copy of catatonit: named by its digest, so an upgrade never swaps it under a running container.
    ...(container.attachable === true ? { terminalInit: join(ensurePauseRootfs(ctx.config.runPath, ctx.config.catatonit), PAUSE_BINARY_IN_ROOTFS) } : {}),
  };
  const spec = buildOciSpec(
    container,
    cellContext,
    { entrypoint: image.entrypoint, cmd: image.cmd, env: image.env, user: image.user, workingDir: image.workingDir },
    await ctx.hostFacts(container.devices ?? []),
  );
  await writeSecretFiles(ctx.config.runPath, secrets.files, spec.process.user);
  await handOverRepos(repos.fresh, spec.process.user);
  if (cellContext.ttyStateDir !== undefined) ensureTtyStateDir(cellContext.ttyStateDir, spec.process.user);
  return { containerdId: containerdIdOf(layout.scope, container.id), spec, image: { name: image.name, chainId: image.chainId } };
}

/** The wrapper's state directory, owned by the process's user, who writes its gates and log there. */
function ensureTtyStateDir(dir: string, owner: { uid: number; gid: number }): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chownSync(dir, owner.uid, owner.gid);
}

/** Creates the record (and rootfs snapshot), or replaces the spec of the existing one. Returns whether it was created. */
export async function ensureContainerRecord(
  client: ContainerdClient,
  built: BuiltContainer,
  labels: Record<string, string>,
): Promise<boolean> {
  try {
    await client.containers.get(built.containerdId);
    await client.containers.updateSpec(built.containerdId, built.spec);
    return false;
  } catch (error) {
    if (!isKeonError(error, "NOT_FOUND")) throw error;
  }
  if (built.image === undefined) {
    await client.containers.create({ id: built.containerdId, spec: built.spec, labels });
  } else {
    await createContainerWithRootfs(client, { id: built.containerdId, spec: built.spec, image: built.image.name, chainId: built.image.chainId, labels });
  }
  return true;
}

/**
 * Deletes a container's task (killed first, whatever its state: created,
 * running, paused or stopped), then its record and snapshot; each already
 * gone is fine. A task left behind a deleted record would keep its shim and
 * its cgroup busy with no record to find it by.
 */
export async function removeContainerRecord(client: ContainerdClient, containerdId: string): Promise<void> {
  await stopTask(client, containerdId, 0);
  await client.containers.delete(containerdId).catch(ignoreNotFound);
  await client.snapshots.remove(containerdId).catch(ignoreNotFound);
}

function ignoreNotFound(error: unknown): void {
  if (!isKeonError(error, "NOT_FOUND")) throw error;
}

/** The images of `containers` (as their specs name them) the namespace holds no record of. */
export async function missingImages(client: ContainerdClient, containers: readonly ContainerSpec[]): Promise<string[]> {
  const names = [...new Set(containers.map((c) => c.image).filter((i): i is string => i !== undefined && i !== ""))];
  const missing: string[] = [];
  for (const name of names) if ((await findImage(client, name)) === null) missing.push(name);
  return missing;
}

/**
 * IMAGE_NOT_FOUND naming every image of the cell its realm does not hold,
 * and how to get it: checked before a start touches anything, so a cell
 * waiting for its image attaches no network and creates no record.
 */
export async function refuseMissingImages(client: ContainerdClient, containers: readonly ContainerSpec[], realm: string): Promise<void> {
  const missing = await missingImages(client, containers);
  if (missing.length === 0) return;
  throw new KeonError(
    "IMAGE_NOT_FOUND",
    `image ${missing.join(", ")} is not in realm ${realm} (containerd namespace ${client.namespace}): import it with 'keon image import FILE --realm ${realm}'`,
    { details: { images: missing, realm, namespace: client.namespace } },
  );
}

export { keonLabels };
