/**
 * @module
 * The one way the spec builder refuses an input: an OCI_SPEC_INVALID
 * KeonError naming the container field at fault, in the same `issues` shape
 * that document validation uses, so the API shows both alike.
 */
import { KeonError } from "../model/errors.ts";

/** `path` is relative to the container spec: `user`, `securityOpts[1]`, `devices[0]`. */
export function refuse(path: string, message: string): KeonError {
  return new KeonError("OCI_SPEC_INVALID", `${path}: ${message}`, {
    details: { issues: [{ path, message }] },
  });
}
