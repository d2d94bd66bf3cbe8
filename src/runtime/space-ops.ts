/**
 * @module
 * A space on the host: its CNI network (subnet from the pool, conflist, the
 * bridge the plugin creates on first ADD) and its cgroup level.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { KeonError } from "../model/errors.ts";
import { ensureSpaceEgress, removeSpaceEgress, type EgressReport } from "../network/egress.ts";
import { hostIpv4RoutesWithDevices } from "../network/host-routes.ts";
import { isBridgeName } from "../network/network-names.ts";
import { cgroupPathOf } from "../model/derived-ids.ts";
import type { SpaceDocument } from "../model/schema/space.ts";
import { removeSpaceNetwork } from "../network/gc.ts";
import { bridgeNameOf, networkNameOf, spaceKeyOf } from "../network/network-names.ts";
import { purgeCellRemains } from "./cell-purge.ts";
import { ensureCgroupLevel, removeCgroupLevel, type CgroupLevelStatus } from "./cgroup-levels.ts";
import { spaceCellsDirOf } from "./run-layout.ts";
import type { RuntimeContext } from "./runtime-context.ts";
import { cellAddressesOf, egressHostOf, ensureSpaceNetwork, type SpaceNetwork } from "./space-network.ts";

export interface SpaceStatus extends CgroupLevelStatus {
  network: Omit<SpaceNetwork, "conflist"> & { egress: EgressReport };
}

/**
 * The network (subnet, conflist), then its policy in nftables (one
 * transaction, @cells rebuilt from the CNI result cache: drift repaired,
 * strays removed), then the cgroup level. The space is Ready only after the
 * policy is in force, and its cells wait for Ready: fail-closed.
 */
export async function ensureSpace(ctx: RuntimeContext, space: SpaceDocument): Promise<SpaceStatus> {
  const realm = space.spec.realmId;
  const { conflist, ...network } = await ensureSpaceNetwork(ctx, realm, space.metadata.name);
  const host = egressHostOf(ctx);
  // Every Keon space on the host is isolated too, another keond's included (its pool may differ from ours).
  const keonBridgeRoutes = (await hostIpv4RoutesWithDevices()).filter((r) => r.dst !== "default" && r.dev !== undefined && isBridgeName(r.dev)).map((r) => r.dst);
  const egress = await ensureSpaceEgress({ ...host, isolated: [...host.isolated, ...keonBridgeRoutes] }, {
    realm,
    space: space.metadata.name,
    subnet: network.subnet,
    policy: space.spec.network?.egress,
    cells: () => cellAddressesOf(ctx, conflist),
  });
  const cgroup = await ensureCgroupLevel(ctx, cgroupPathOf({ root: ctx.config.cgroupRoot, realm, space: space.metadata.name }));
  return { ...cgroup, network: { ...network, egress } };
}

export interface SpaceRef {
  realm: string;
  space: string;
  /** The realm's containerd namespace. */
  namespace: string;
}

/** Cells of the space that have anything on the host: containers (by ID prefix) or a cell directory. */
async function cellsOnHost(ctx: RuntimeContext, ref: SpaceRef): Promise<{ stack: string; cell: string }[]> {
  const found = new Map<string, { stack: string; cell: string }>();
  const client = ctx.containerd.withNamespace(ref.namespace);
  if ((await ctx.containerd.namespaces.find(ref.namespace)) !== null) {
    for (const container of await client.containers.list()) {
      const [space, stack, cell] = container.id.split("_");
      if (space === ref.space && stack && cell) found.set(`${stack}/${cell}`, { stack, cell });
    }
  }
  const dir = spaceCellsDirOf(ctx.config.runPath, ref.realm, ref.space);
  if (existsSync(dir)) {
    for (const stack of readdirSync(dir)) {
      for (const cell of readdirSync(`${dir}/${stack}`)) found.set(`${stack}/${cell}`, { stack, cell });
    }
  }
  return [...found.values()];
}

export async function deleteSpace(ctx: RuntimeContext, ref: SpaceRef, options: { cascade?: boolean } = {}): Promise<void> {
  const cells = await cellsOnHost(ctx, ref);
  if (cells.length > 0 && options.cascade !== true) {
    throw new KeonError("HAS_DEPENDENTS", `space ${ref.realm}/${ref.space} still has ${cells.length} cell(s); delete them first or cascade`, {
      details: { realm: ref.realm, space: ref.space, cells: cells.map((c) => `${c.stack}/${c.cell}`) },
    });
  }
  await purgeSpace(ctx, ref);
}

/**
 * Everything of the space, even with its records half gone: its cells' remains,
 * the network (DEL of every cached attachment, host-local's directory, leftover
 * nat rules, the bridge, the conflist), the subnet, the cgroup level.
 */
export async function purgeSpace(ctx: RuntimeContext, ref: SpaceRef): Promise<void> {
  for (const cell of await cellsOnHost(ctx, ref)) {
    await purgeCellRemains(ctx, { namespace: ref.namespace, scope: { realm: ref.realm, space: ref.space, ...cell } });
  }
  // The policy goes first: a bridge without its chains must not forward a packet.
  await removeSpaceEgress(egressHostOf(ctx), ref.realm, ref.space);
  await removeSpaceNetwork({
    attacher: ctx.network.attacher,
    paths: ctx.network.paths,
    networkName: networkNameOf(ref.realm, ref.space),
    bridgeName: bridgeNameOf(ref.realm, ref.space),
  });
  ctx.network.subnets.release(spaceKeyOf(ref.realm, ref.space));
  await removeCgroupLevel(ctx, cgroupPathOf({ root: ctx.config.cgroupRoot, realm: ref.realm, space: ref.space }));
  rmSync(spaceCellsDirOf(ctx.config.runPath, ref.realm, ref.space), { recursive: true, force: true });
}
