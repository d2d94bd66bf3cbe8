/**
 * @module
 * A container's `volumes[]` on the host side. A bind source must exist: a
 * missing one is an error naming the field (creating it silently would hide a
 * typo behind an empty directory), unless the entry says `ensure`. A managed
 * `volume` is a directory per scope under the run path.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { KeonError } from "../model/errors.ts";
import type { ContainerSpec } from "../model/schema/container.ts";
import type { VolumeDocument } from "../model/schema/volume.ts";
import { volumeDirOf } from "./run-layout.ts";

/**
 * Checks binds and resolves managed volumes to their directories, keyed by
 * `target` as CellContext.volumeSources wants. `field` prefixes error paths
 * (e.g. `spec.containers[2]`).
 */
export function resolveVolumes(runPath: string, container: ContainerSpec, field: string): Record<string, string> {
  const sources: Record<string, string> = {};
  (container.volumes ?? []).forEach((volume, index) => {
    const at = `${field}.volumes[${index}]`;
    const kind = volume.kind ?? "";
    if (kind === "tmpfs") return;
    if (kind === "volume") {
      const ref = volume.volumeRef;
      if (ref === undefined) {
        throw new KeonError("INVALID_DOCUMENT", `${at}.volumeRef: a volume mount needs volumeRef`, { details: { field: `${at}.volumeRef` } });
      }
      const dir = volumeDirOf(runPath, ref, ref.name);
      if (!existsSync(dir)) {
        if (volume.ensure !== true) {
          throw new KeonError("VOLUME_NOT_FOUND", `${at}.volumeRef: volume ${ref.name} of realm ${ref.realm} does not exist (create the Volume, or set ensure)`, {
            details: { field: `${at}.volumeRef`, volume: ref.name },
          });
        }
        mkdirSync(dir, { recursive: true, mode: volume.mode ?? 0o755 });
      }
      sources[volume.target] = dir;
      return;
    }
    const source = volume.source;
    if (source === undefined || !source.startsWith("/")) {
      throw new KeonError("INVALID_DOCUMENT", `${at}.source: a bind mount needs an absolute host path`, { details: { field: `${at}.source` } });
    }
    if (!existsSync(source)) {
      if (volume.ensure !== true) {
        throw new KeonError("INVALID_DOCUMENT", `${at}.source: ${source} does not exist on the host (create it, or set ensure: true)`, {
          details: { field: `${at}.source`, source },
        });
      }
      mkdirSync(source, { recursive: true, mode: volume.mode ?? 0o755 });
    }
  });
  return sources;
}

function scopeOf(volume: VolumeDocument): { realm: string; space?: string; stack?: string } {
  const m = volume.metadata;
  return { realm: m.realm, ...(m.space ? { space: m.space } : {}), ...(m.stack ? { stack: m.stack } : {}) };
}

export function ensureVolume(runPath: string, volume: VolumeDocument): string {
  const dir = volumeDirOf(runPath, scopeOf(volume), volume.metadata.name);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

/**
 * Deleting the Volume (or its scope) removes the directory under `Delete`;
 * `Retain`, the default (losing data by default would be the worse surprise),
 * keeps it. Returns whether it was removed.
 */
export function deleteVolume(runPath: string, volume: VolumeDocument): boolean {
  if ((volume.spec.reclaimPolicy ?? "Retain") === "Retain") return false;
  rmSync(volumeDirOf(runPath, scopeOf(volume), volume.metadata.name), { recursive: true, force: true });
  return true;
}
