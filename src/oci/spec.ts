/**
 * @module
 * The OCI runtime spec of a container, as a pure function of the effective
 * (defaults-merged) container, its place in the cell, its image and the host.
 * It starts from containerd 1.6's own default spec and applies the container's
 * fields; each concern lives in its own module beside this one. The same
 * input always gives a deep-equal output, so a stored spec can be compared
 * with a freshly built one to tell whether a container needs recreating.
 *
 * Refusals are KeonError OCI_SPEC_INVALID naming the container field at fault.
 */
import type { ContainerSpec } from "../model/schema/container.ts";
import { keonAnnotations } from "./annotations.ts";
import { effectiveCapabilities, explicitlyAddedCapabilities, ociCapabilities } from "./capabilities.ts";
import { defaultMaskedPaths, defaultReadonlyPaths } from "./defaults.ts";
import { containerDevices } from "./devices.ts";
import { processEnv } from "./env.ts";
import type { CellContext, HostFacts, ImageConfig } from "./inputs.ts";
import { containerMounts } from "./mounts.ts";
import { containerNamespaces, ownsUtsNamespace } from "./namespaces.ts";
import { processArgs, processCwd } from "./process-args.ts";
import { refuse } from "./refuse.ts";
import { nofileRlimit } from "./rlimits.ts";
import { defaultSeccompProfile } from "./seccomp-default.ts";
import { seccompFromProfile } from "./seccomp-profile.ts";
import { parseSecurityOpts, type SecurityOptions } from "./security-opts.ts";
import { OCI_VERSION, type OciResources, type OciSeccomp, type OciSpec } from "./types.ts";
import { resolveUser } from "./user.ts";
import { needsTtyWrapper, TERMINAL_INIT, TTY_STATE_DIR, ttyProcessArgs } from "./tty-wrapper.ts";

export { buildRootContainerSpec } from "./root-container-spec.ts";
export type { CellContext, HostDevice, HostFacts, ImageConfig, ResolvedBindMount, SecretEnvVar } from "./inputs.ts";
export type * from "./types.ts";

/**
 * Privileged containers run without seccomp, whatever securityOpts say
 * (Docker and containerd's WithPrivileged alike). Otherwise: unconfined, the
 * given profile, or Keon's default when the host applies one.
 */
function seccompFor(
  security: SecurityOptions,
  privileged: boolean,
  boundingCaps: readonly string[],
  ctx: CellContext,
  host: HostFacts,
): OciSeccomp | undefined {
  if (privileged) return undefined;
  const choice = security.seccomp;
  switch (choice.kind) {
    case "unconfined":
      return undefined;
    case "profile":
      if (ctx.seccompProfile === undefined) {
        throw refuse(choice.field, `the seccomp profile ${choice.path} was not loaded`);
      }
      return seccompFromProfile(ctx.seccompProfile, choice.field, boundingCaps);
    case "default":
      return host.defaultSeccomp ? defaultSeccompProfile(boundingCaps) : undefined;
  }
}

function resources(container: ContainerSpec, devices: OciResources["devices"]): OciResources {
  const result: OciResources = { devices };
  const r = container.resources;
  // 0 means unset throughout V1BETA1 (memory 0 would be "no memory", not "no limit").
  if (r?.memoryLimitBytes !== undefined && r.memoryLimitBytes > 0) result.memory = { limit: r.memoryLimitBytes };
  if (r?.cpuShares !== undefined && r.cpuShares > 0) result.cpu = { shares: r.cpuShares };
  if (r?.pidsLimit !== undefined && r.pidsLimit > 0) result.pids = { limit: r.pidsLimit };
  return result;
}

/** An attachable container's init (read-only) and the tty state directory, writable, where the wrapper keeps its gates and default log. */
function terminalMounts(container: ContainerSpec, ctx: CellContext): OciSpec["mounts"] {
  const mounts: OciSpec["mounts"] = [];
  if (container.attachable === true && ctx.terminalInit !== undefined) {
    mounts.push({ destination: TERMINAL_INIT, type: "bind", source: ctx.terminalInit, options: ["bind", "rprivate", "ro", "nosuid", "nodev"] });
  }
  if (needsTtyWrapper(container) && ctx.ttyStateDir !== undefined) {
    mounts.push({ destination: TTY_STATE_DIR, type: "bind", source: ctx.ttyStateDir, options: ["rbind", "rprivate", "rw", "nosuid", "nodev"] });
  }
  return mounts;
}

export function buildOciSpec(
  container: ContainerSpec,
  ctx: CellContext,
  image: ImageConfig,
  host: HostFacts,
): OciSpec {
  const privileged = container.privileged === true;
  const security = parseSecurityOpts(container.securityOpts);
  const caps = effectiveCapabilities(container.capabilities, privileged, host);
  const namespaces = containerNamespaces(container, ctx.rootTaskPid);
  const { devices, rules } = containerDevices(container, host);
  const seccomp = seccompFor(security, privileged, caps, ctx, host);
  const isRoot = ctx.rootTaskPid === undefined;
  const user = resolveUser(container.user, image);
  const ambient = user.uid !== 0 && !privileged ? explicitlyAddedCapabilities(container.capabilities, caps) : [];

  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process: {
      ...(ctx.terminal === true || container.attachable === true ? { terminal: true } : {}),
      user,
      args: ttyProcessArgs(container, processArgs(container, image), ctx.terminalInit !== undefined),
      env: processEnv(container, ctx, image),
      cwd: processCwd(container, image),
      capabilities: ociCapabilities(caps, ambient),
      rlimits: [nofileRlimit(host)],
      // containerd defaults to true; a privileged container defaults to false
      // so setuid helpers of an inner runtime (newuidmap, sudo) keep working.
      noNewPrivileges: security.noNewPrivileges ?? !privileged,
    },
    root: { path: ctx.rootfsPath, readonly: container.readOnlyRootFilesystem === true || ctx.rootfsReadonly === true },
    // Only the container that creates the cell's UTS namespace names it; workloads share it.
    ...(ownsUtsNamespace(namespaces) ? { hostname: ctx.cell } : {}),
    mounts: [...containerMounts(container, ctx), ...terminalMounts(container, ctx)],
    annotations: keonAnnotations(ctx, isRoot),
    linux: {
      namespaces,
      devices,
      cgroupsPath: ctx.cgroupsPath,
      resources: resources(container, rules),
      // Privileged means the host's view of /proc and /sys (containerd's WithPrivileged).
      maskedPaths: privileged ? [] : defaultMaskedPaths(),
      readonlyPaths: privileged ? [] : defaultReadonlyPaths(),
      ...(seccomp !== undefined ? { seccomp } : {}),
    },
  };
  return spec;
}
