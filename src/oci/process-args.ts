/**
 * @module
 * process.args and process.cwd from the container and its image, with
 * Docker's rules (kukeon users write manifests against them):
 * - `command` replaces the image's ENTRYPOINT and also drops its CMD, which
 *   was written as arguments for the old entrypoint; `args` follow it;
 * - without `command`: ENTRYPOINT, then `args` if given, else CMD.
 * An empty `command` or `args: []` counts as not given (Kubernetes reads
 * empty lists the same way), so a space default or a round trip through a
 * serializer that writes `[]` does not silently drop the image's CMD.
 */
import type { ContainerSpec } from "../model/schema/container.ts";
import type { ImageConfig } from "./inputs.ts";
import { refuse } from "./refuse.ts";

export function processArgs(container: ContainerSpec, image: ImageConfig): string[] {
  const command = container.command !== undefined && container.command !== "" ? container.command : undefined;
  const args = container.args !== undefined && container.args.length > 0 ? container.args : undefined;
  const result =
    command !== undefined
      ? [command, ...(args ?? [])]
      : [...(image.entrypoint ?? []), ...(args ?? image.cmd ?? [])];
  if (result.length === 0) {
    throw refuse("command", "nothing to run: neither the container nor its image gives a command");
  }
  return result;
}

/** The container's workingDir, else the image's, else "/"; a relative image value is taken from "/". */
export function processCwd(container: ContainerSpec, image: ImageConfig): string {
  if (container.workingDir !== undefined && container.workingDir !== "") return container.workingDir;
  const fromImage = image.workingDir ?? "";
  if (fromImage === "") return "/";
  return fromImage.startsWith("/") ? fromImage : `/${fromImage}`;
}
