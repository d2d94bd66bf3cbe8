/**
 * @module
 * A realm on the host: its containerd namespace (labelled as Keon's) and its
 * cgroup subtree under Keon's cgroup root.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { listImages, removeImage } from "../containerd/image-store.ts";
import { KeonError } from "../model/errors.ts";
import { cgroupPathOf, realmNamespace } from "../model/derived-ids.ts";
import { mayUseNamespace, namespaceOwnerOf, ownsContainer } from "../model/ownership.ts";
import type { RealmDocument } from "../model/schema/realm.ts";
import { ensureCgroupLevel, removeCgroupLevel, type CgroupLevelStatus } from "./cgroup-levels.ts";
import { removeContainerRecord } from "./container-build.ts";
import { cellsRootOf } from "./run-layout.ts";
import { stopTask } from "./task-control.ts";
import type { RuntimeContext } from "./runtime-context.ts";
import { purgeSpace } from "./space-ops.ts";

/** containerd namespace labels that mark a namespace as Keon's (purge only ever touches those). */
export const MANAGED_LABEL = "io.keon.managed";

export interface RealmStatus extends CgroupLevelStatus {
  namespace: string;
  containerdNamespaceReady: boolean;
}

export function realmNamespaceOf(ctx: RuntimeContext, realm: Pick<RealmDocument, "metadata" | "spec">): string {
  return realmNamespace(realm.spec, realm.metadata.name, ctx.config.namespaceSuffix);
}

export async function ensureRealm(ctx: RuntimeContext, realm: RealmDocument): Promise<RealmStatus> {
  const namespace = realmNamespaceOf(ctx, realm);
  // Never relabel (and so adopt, then purge) a namespace another realm owns.
  const existing = await ctx.containerd.namespaces.find(namespace);
  if (existing !== null && !mayUseNamespace(existing.labels, realm.metadata.name)) {
    throw new KeonError("CONFLICT", `containerd namespace ${namespace} belongs to realm ${namespaceOwnerOf(existing.labels)}`, {
      details: { realm: realm.metadata.name, namespace, owner: namespaceOwnerOf(existing.labels) },
    });
  }
  await ctx.containerd.namespaces.ensure(namespace, { [MANAGED_LABEL]: "true", "io.keon.realm": realm.metadata.name });
  const cgroup = await ensureCgroupLevel(ctx, cgroupPathOf({ root: ctx.config.cgroupRoot, realm: realm.metadata.name }));
  return { ...cgroup, namespace, containerdNamespaceReady: true };
}

export interface DeleteOptions {
  /** Delete children too; without it a parent with children is refused (HAS_DEPENDENTS). */
  cascade?: boolean;
}

/** Spaces of the realm that hold a network (the subnet record names them). */
function spacesOf(ctx: RuntimeContext, realm: string): string[] {
  return Object.keys(ctx.network.subnets.list())
    .filter((key) => key.startsWith(`${realm}/`))
    .map((key) => key.slice(realm.length + 1));
}

/**
 * Deletes the realm's namespace and cgroups. Children are whatever the host
 * still shows: containers in the namespace, spaces with a network. They are
 * refused unless `cascade`; with it, everything goes (images of the namespace too,
 * since containerd refuses to delete a namespace that holds any).
 */
export async function deleteRealm(ctx: RuntimeContext, realm: RealmDocument, options: DeleteOptions = {}): Promise<void> {
  const namespace = realmNamespaceOf(ctx, realm);
  const name = realm.metadata.name;
  const found = await ctx.containerd.namespaces.find(namespace);
  // A namespace another realm owns is left alone entirely: its containers, snapshots and images are not ours.
  const ours = found !== null && mayUseNamespace(found.labels, name);
  const client = ctx.containerd.withNamespace(namespace);
  const ownContainers = async () => (ours ? (await client.containers.list()).filter((c) => ownsContainer(c.labels, name)) : []);
  const containers = await ownContainers();
  const spaces = spacesOf(ctx, name);
  if ((containers.length > 0 || spaces.length > 0) && options.cascade !== true) {
    throw new KeonError("HAS_DEPENDENTS", `realm ${name} still has ${containers.length} container(s) and ${spaces.length} space(s); delete them first or cascade`, {
      details: { realm: name, containers: containers.length, spaces },
    });
  }
  for (const space of spaces) await purgeSpace(ctx, { realm: name, space, namespace });
  if (ours) {
    // Whatever purgeSpace did not find through a space (a container of a space with no network); only records labelled as this realm's.
    for (const container of await ownContainers()) {
      await stopTask(client, container.id, 0);
      await removeContainerRecord(client, container.id);
    }
    // Records Keon did not make (someone's `ctr run` in this namespace) stay, and so do the images and the namespace they need.
    const foreign = (await client.containers.list()).length;
    if (foreign === 0) {
      for (const image of await listImages(client)) await removeImage(client, image.name);
      await client.namespaces.delete(namespace);
    }
  }
  await removeCgroupLevel(ctx, cgroupPathOf({ root: ctx.config.cgroupRoot, realm: name }));
  rmSync(join(cellsRootOf(ctx.config.runPath), name), { recursive: true, force: true });
}

/** A realm with records half gone: delete with cascade is already exhaustive. */
export async function purgeRealm(ctx: RuntimeContext, realm: RealmDocument): Promise<void> {
  await deleteRealm(ctx, realm, { cascade: true });
}
