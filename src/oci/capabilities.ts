/**
 * @module
 * The capability set of a container. Semantics are Docker's
 * (TweakCapabilities), which kukeon users already know:
 * - privileged: every capability; add and drop are ignored;
 * - add contains ALL: every capability except those explicitly dropped;
 * - else drop contains ALL: exactly the added ones;
 * - else containerd's default set, minus drops, plus adds (an add beats a drop).
 * "Every capability" means every one the host's containerd holds
 * (containerd's WithAllCurrentCapabilities), because runc cannot grant more
 * than its parent has; likewise a default the host lacks is left out. A
 * capability added by name that the host lacks is refused here rather than
 * failing inside runc. The result is sorted by kernel capability number, so
 * the same set written in any order gives the same spec.
 */
import type { ContainerCapabilities } from "../model/schema/container.ts";
import { LINUX_CAPABILITIES, normalizeCapability } from "../model/schema/container.ts";
import { DEFAULT_CAPABILITIES } from "./defaults.ts";
import type { HostFacts } from "./inputs.ts";
import { refuse } from "./refuse.ts";
import type { OciCapabilities } from "./types.ts";

const KNOWN: ReadonlySet<string> = new Set(LINUX_CAPABILITIES);

function normalizeList(names: readonly string[] | undefined, field: string): string[] {
  return (names ?? []).map((name, i) => {
    const short = normalizeCapability(name);
    if (short !== "ALL" && !KNOWN.has(short)) {
      throw refuse(`${field}[${i}]`, `unknown capability "${name}"`);
    }
    return short;
  });
}

/** Short names (no `CAP_`), in kernel order. */
export function effectiveCapabilities(
  caps: ContainerCapabilities | undefined,
  privileged: boolean,
  host: Pick<HostFacts, "capabilities">,
): string[] {
  const add = normalizeList(caps?.add, "capabilities.add");
  const drop = normalizeList(caps?.drop, "capabilities.drop");
  const available: ReadonlySet<string> =
    host.capabilities === undefined ? KNOWN : new Set(host.capabilities.map(normalizeCapability));
  const all = LINUX_CAPABILITIES.filter((c) => available.has(c));
  let set: Set<string>;
  if (privileged) {
    return all;
  } else if (add.includes("ALL")) {
    set = new Set(all.filter((c) => !drop.includes(c)));
  } else {
    set = drop.includes("ALL")
      ? new Set<string>()
      : new Set<string>(DEFAULT_CAPABILITIES.filter((c) => available.has(c) && !drop.includes(c)));
    add.forEach((c, i) => {
      if (!available.has(c)) {
        throw refuse(`capabilities.add[${i}]`, `CAP_${c} is not held by this host's container runtime, so it cannot be granted`);
      }
      set.add(c);
    });
  }
  return LINUX_CAPABILITIES.filter((c) => set.has(c));
}

/**
 * Capabilities the operator added by name (not through ALL), as short names
 * in kernel order, limited to the effective set.
 */
export function explicitlyAddedCapabilities(caps: ContainerCapabilities | undefined, effective: readonly string[]): string[] {
  const added = new Set((caps?.add ?? []).map(normalizeCapability));
  return effective.filter((c) => added.has(c));
}

/**
 * Bounding, effective and permitted alike, as containerd does. Inheritable and
 * ambient stay empty by default: filling them lets an exec'd non-root binary
 * regain capabilities (CVE-2022-24769 made containerd 1.6.2 stop doing it).
 * The exception is `ambient`: capabilities the operator explicitly added for a
 * non-root user. The kernel clears a non-root process's effective set at
 * execve unless a capability is ambient, so without this `user: 1000` with
 * `add: [NET_BIND_SERVICE]` would silently get nothing (podman does the same).
 */
export function ociCapabilities(short: readonly string[], ambient: readonly string[] = []): OciCapabilities {
  const names = short.map((c) => `CAP_${c}`);
  const result: OciCapabilities = { bounding: [...names], effective: [...names], permitted: [...names] };
  if (ambient.length > 0) {
    result.inheritable = ambient.map((c) => `CAP_${c}`);
    result.ambient = ambient.map((c) => `CAP_${c}`);
  }
  return result;
}
