/**
 * @module
 * The container's mount list: the system mounts (containerd's defaults and the
 * /sys/fs/cgroup choice), the rendered /etc files, then what the container
 * asks for (tmpfs[], volumes[], resolved secret files).
 *
 * - A container mount at the same destination as a system mount replaces it
 *   (Docker does the same), so a container can size its own /dev/shm.
 * - Two container mounts at one destination are refused: one would silently
 *   hide the other.
 * - The list is stably sorted by path depth, so a parent is mounted before
 *   anything below it whatever order the spec lists them in.
 */
import type { ContainerSpec, TmpfsMount, VolumeMount } from "../model/schema/container.ts";
import { cgroupMount, defaultSystemMounts, nestedCgroup2Mount } from "./defaults.ts";
import type { CellContext } from "./inputs.ts";
import { refuse } from "./refuse.ts";
import type { OciMount } from "./types.ts";

/** A mount the container asked for, with the field that asked, for errors. */
interface RequestedMount {
  mount: OciMount;
  field: string;
}

/** Collapses `//`, `/./` and a trailing `/`; `..` is already refused by the schema. */
export function cleanPath(path: string): string {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  return `/${parts.join("/")}`;
}

function depth(path: string): number {
  return path === "/" ? 0 : path.split("/").length - 1;
}

function bind(source: string, destination: string, readOnly: boolean): OciMount {
  // rprivate: a host mount event under the source must not leak into the container, nor back.
  return { destination, type: "bind", source, options: ["rbind", "rprivate", readOnly ? "ro" : "rw"] };
}

/** tmpfs[] entries: always nosuid,nodev, then the given options, then size= from sizeBytes. */
function tmpfsMount(entry: TmpfsMount, i: number): OciMount {
  const field = `tmpfs[${i}]`;
  const options = ["nosuid", "nodev"];
  (entry.options ?? []).forEach((opt, j) => {
    if (opt === "suid" || opt === "dev") {
      throw refuse(`${field}.options[${j}]`, `"${opt}" contradicts tmpfs being always nosuid,nodev`);
    }
    // sizeBytes is the one way to size it when given; a second size= would be a contradiction.
    if (entry.sizeBytes !== undefined && entry.sizeBytes > 0 && opt.startsWith("size=")) {
      throw refuse(`${field}.options[${j}]`, "size is given by sizeBytes already");
    }
    if (!options.includes(opt)) options.push(opt);
  });
  if (entry.sizeBytes !== undefined && entry.sizeBytes > 0) options.push(`size=${entry.sizeBytes}`);
  return { destination: cleanPath(entry.path), type: "tmpfs", source: "tmpfs", options };
}

function volumeMount(volume: VolumeMount, i: number, ctx: CellContext): OciMount {
  const field = `volumes[${i}]`;
  const destination = cleanPath(volume.target);
  const readOnly = volume.readOnly === true;
  switch (volume.kind ?? "") {
    case "tmpfs": {
      const options = ["nosuid", "nodev"];
      if (readOnly) options.push("ro");
      if (volume.sizeBytes !== undefined && volume.sizeBytes > 0) options.push(`size=${volume.sizeBytes}`);
      if (volume.mode !== undefined) options.push(`mode=${volume.mode.toString(8).padStart(4, "0")}`);
      return { destination, type: "tmpfs", source: "tmpfs", options };
    }
    case "volume": {
      const sources = ctx.volumeSources ?? {};
      const source = Object.hasOwn(sources, volume.target) ? sources[volume.target] : undefined;
      if (source === undefined || source === "") {
        throw refuse(field, `volume for ${volume.target} has no resolved host directory`);
      }
      return bind(source, destination, readOnly);
    }
    default: {
      // "" and "bind". mode and ensure concern creating the host directory (the runtime's job).
      if (volume.source === undefined || !volume.source.startsWith("/")) {
        throw refuse(`${field}.source`, "a bind mount needs an absolute host path");
      }
      return bind(volume.source, destination, readOnly);
    }
  }
}

function requestedMounts(container: ContainerSpec, ctx: CellContext): RequestedMount[] {
  const requested: RequestedMount[] = [];
  (container.tmpfs ?? []).forEach((entry, i) => requested.push({ mount: tmpfsMount(entry, i), field: `tmpfs[${i}]` }));
  (container.volumes ?? []).forEach((volume, i) =>
    requested.push({ mount: volumeMount(volume, i, ctx), field: `volumes[${i}]` }),
  );
  (ctx.extraMounts ?? []).forEach((extra) => {
    const destination = cleanPath(extra.destination);
    const secretIndex = (container.secrets ?? []).findIndex(
      (s) => s.mountPath !== undefined && cleanPath(s.mountPath) === destination,
    );
    const field = secretIndex === -1 ? "secrets" : `secrets[${secretIndex}].mountPath`;
    requested.push({ mount: bind(extra.source, destination, extra.readOnly), field });
  });
  const seen = new Set<string>();
  for (const { mount, field } of requested) {
    if (mount.destination === "/") throw refuse(field, "cannot mount over the container's root");
    if (seen.has(mount.destination)) throw refuse(field, `${mount.destination} is already a mount target of this container`);
    seen.add(mount.destination);
  }
  return requested;
}

/**
 * The container's own /etc/hosts, /etc/hostname and /etc/resolv.conf, read-write
 * (as Docker binds them) so the container may edit its copy; a read-only root
 * does not change that. The host's own files (hostNetwork) are bound
 * read-only: a container must never edit the host's.
 */
function etcFileMounts(ctx: CellContext): OciMount[] {
  const mounts: OciMount[] = [];
  const readOnly = ctx.etcReadOnly === true;
  if (ctx.hostsPath) mounts.push(bind(ctx.hostsPath, "/etc/hosts", readOnly));
  if (ctx.hostnamePath) mounts.push(bind(ctx.hostnamePath, "/etc/hostname", readOnly));
  if (ctx.resolvConfPath) mounts.push(bind(ctx.resolvConfPath, "/etc/resolv.conf", readOnly));
  return mounts;
}

export function containerMounts(container: ContainerSpec, ctx: CellContext): OciMount[] {
  const privileged = container.privileged === true;
  const system = defaultSystemMounts(privileged);
  if (ctx.nestedCgroupRuntime && container.hostCgroup !== true) {
    system.push(nestedCgroup2Mount());
  } else {
    system.push(cgroupMount(privileged));
  }
  system.push(...etcFileMounts(ctx));
  const requested = requestedMounts(container, ctx).map((r) => r.mount);
  const taken = new Set(requested.map((m) => m.destination));
  const all = [...system.filter((m) => !taken.has(m.destination)), ...requested];
  // Array.prototype.sort is stable, so equal depths keep the order above.
  return all.sort((a, b) => depth(a.destination) - depth(b.destination));
}
