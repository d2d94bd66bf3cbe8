/**
 * @module
 * Spec annotations that say where a container belongs, so anyone reading a
 * bundle's config.json (or `ctr c info`) sees its realm, space, stack and cell
 * without decoding the containerd ID.
 */
import type { CellContext } from "./inputs.ts";

export const ANNOTATION_PREFIX = "io.keon.";
/**
 * The runc v2 shim serves every task whose spec names the same group from
 * one process (containerd runtime/v2/runc/manager: the group picks the shim's
 * socket, and a start finding it in use connects to it).
 */
export const SHIM_GROUP_ANNOTATION = "io.containerd.runc.v2.group";

export function keonAnnotations(ctx: CellContext, root: boolean): Record<string, string> {
  return {
    "io.keon.realm": ctx.realm,
    "io.keon.space": ctx.space,
    "io.keon.stack": ctx.stack,
    "io.keon.cell": ctx.cell,
    "io.keon.container-id": ctx.containerId,
    "io.keon.root": root ? "true" : "false",
    ...(ctx.shimGroup === undefined ? {} : { [SHIM_GROUP_ANNOTATION]: ctx.shimGroup }),
  };
}
