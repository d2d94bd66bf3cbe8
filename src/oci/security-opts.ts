/**
 * @module
 * Reads `securityOpts[]`. Only the forms V1BETA1.md lists exist; anything else
 * is refused by name rather than ignored, because a security option that does
 * nothing is worse than an error. Each kind may appear once: two values for the
 * same setting are a contradiction, not an override.
 */
import { refuse } from "./refuse.ts";

export type SeccompChoice =
  | { kind: "default" }
  | { kind: "unconfined" }
  /** `field` is the securityOpts entry, for errors about the profile. */
  | { kind: "profile"; path: string; field: string };

export interface SecurityOptions {
  /** undefined: not said, the builder's default applies. */
  noNewPrivileges: boolean | undefined;
  seccomp: SeccompChoice;
}

const NO_NEW_PRIVILEGES = /^no-new-privileges(?:=(true|false))?$/;
const SECCOMP = /^seccomp=(.+)$/s;

export function parseSecurityOpts(opts: readonly string[] | undefined): SecurityOptions {
  const result: SecurityOptions = { noNewPrivileges: undefined, seccomp: { kind: "default" } };
  let seenNoNewPrivileges = false;
  let seenSeccomp = false;
  (opts ?? []).forEach((opt, i) => {
    const field = `securityOpts[${i}]`;
    const nnp = NO_NEW_PRIVILEGES.exec(opt);
    if (nnp) {
      if (seenNoNewPrivileges) throw refuse(field, "no-new-privileges is given more than once");
      seenNoNewPrivileges = true;
      result.noNewPrivileges = nnp[1] !== "false";
      return;
    }
    const seccomp = SECCOMP.exec(opt);
    if (seccomp) {
      if (seenSeccomp) throw refuse(field, "seccomp is given more than once");
      seenSeccomp = true;
      const value = seccomp[1] ?? "";
      if (value === "unconfined") {
        result.seccomp = { kind: "unconfined" };
      } else if (value.startsWith("/") && !value.includes("\0")) {
        result.seccomp = { kind: "profile", path: value, field };
      } else {
        throw refuse(field, "seccomp must be unconfined or an absolute profile path");
      }
      return;
    }
    throw refuse(field, `unknown security option "${opt}" (use no-new-privileges[=true|false] or seccomp=unconfined|<path>)`);
  });
  return result;
}
