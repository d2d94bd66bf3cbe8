/**
 * @module
 * Whether a node may keep running its fleet cells: the fencing decision,
 * pure. The leader re-places a node's cells only after the node's lease
 * expired and the grace period passed, and only while etcd has a quorum to
 * take the write. So a node stops its cells when
 *
 * - etcd said its lease is gone (a keepalive answered TTL 0, or its
 *   registration was deleted): the leader may be counting the grace period
 *   already; or
 * - it renewed nothing for a full TTL and reached no etcd member either: it is
 *   cut off, and on the other side a quorum may re-place its cells.
 *
 * It keeps them when a member still answers but nothing can be renewed (etcd
 * lost its quorum): then nobody can re-place anything, and stopping every
 * cell of the fleet would turn an etcd outage into a workload outage. The
 * case this choice cannot see is a node cut off together with a minority of
 * members: docs/multi-node.md names it.
 */

export interface LeaseView {
  /** etcd answered that the lease no longer exists. */
  leaseGone: boolean;
  /**
   * When (ms) the last keepalive that etcd answered with a TTL was sent; before the
   * first, when the agent started (a restarted keond holds its cells until it
   * has heard from etcd or the TTL passed).
   */
  lastRenewedAt: number;
  /** When (ms) any etcd member last answered anything. */
  lastReachedAt: number | undefined;
  now: number;
  ttlMs: number;
}

export type FenceDecision = { fence: false } | { fence: true; reason: string };

export function fenceDecision(view: LeaseView): FenceDecision {
  if (view.leaseGone) return { fence: true, reason: "etcd says this node's lease expired" };
  const sinceRenewal = view.now - view.lastRenewedAt;
  const sinceReached = view.lastReachedAt === undefined ? Infinity : view.now - view.lastReachedAt;
  if (sinceRenewal >= view.ttlMs && sinceReached >= view.ttlMs) {
    return { fence: true, reason: `no etcd member answered for ${Math.round(sinceReached / 1000)} s and the lease was last renewed ${Math.round(sinceRenewal / 1000)} s ago` };
  }
  return { fence: false };
}
