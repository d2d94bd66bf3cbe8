/**
 * @module
 * OCI platforms: which manifest of a multi-platform image fits this host.
 */

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Node's process.arch → OCI/Go GOARCH names. */
const ARCHITECTURES: Record<string, string> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
};

export function hostPlatform(): Platform {
  return { os: "linux", architecture: ARCHITECTURES[process.arch] ?? process.arch };
}

/** Whether a manifest's platform (absent: any) suits `wanted`. A variant only matters when both name one. */
export function platformMatches(candidate: Partial<Platform> | undefined, wanted: Platform): boolean {
  if (candidate === undefined) return true;
  if (candidate.os !== undefined && candidate.os !== wanted.os) return false;
  if (candidate.architecture !== undefined && candidate.architecture !== wanted.architecture) return false;
  if (candidate.variant !== undefined && wanted.variant !== undefined && candidate.variant !== wanted.variant) {
    return false;
  }
  return true;
}
