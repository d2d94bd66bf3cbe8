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
 * Bounding, effective and permitted alike, as containerd does. Inheritable and
 * ambient stay empty: filling them lets an exec'd non-root binary regain
 * capabilities (CVE-2022-24769 made containerd 1.6.2 stop doing it).
 */
export function ociCapabilities(short: readonly string[]): OciCapabilities {
  const names = short.map((c) => `CAP_${c}`);
  return { bounding: [...names], effective: [...names], permitted: [...names] };
}
