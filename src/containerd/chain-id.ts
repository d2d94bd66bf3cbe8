/**
 * @module
 * Layer chain IDs (OCI image spec, "ChainID"): the name under which the
 * snapshot of a layer stack is committed, so that images sharing a layer
 * prefix share snapshots.
 *   chainID(0) = diffID(0)
 *   chainID(n) = sha256(chainID(n-1) + " " + diffID(n))
 */
import { createHash } from "node:crypto";

/** The chain ID of every prefix of `diffIds`: result[i] names the stack of layers 0..i. */
export function chainIds(diffIds: readonly string[]): string[] {
  const chain: string[] = [];
  for (const diffId of diffIds) {
    const parent = chain.at(-1);
    chain.push(parent === undefined ? diffId : `sha256:${createHash("sha256").update(`${parent} ${diffId}`).digest("hex")}`);
  }
  return chain;
}

/** The chain ID of the whole stack; "" for an image without layers. */
export function chainId(diffIds: readonly string[]): string {
  return chainIds(diffIds).at(-1) ?? "";
}
