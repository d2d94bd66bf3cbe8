/**
 * @module
 * Which manifest of a multi-platform index a host runs, the way containerd's
 * platforms.Only matcher decides: os and architecture equal (after the
 * usual aliases), and for ARM the variant equal or older (an arm/v7 host
 * runs v6 and v5; arm64 means v8 unless said otherwise). The best match
 * wins: exact variant first, then the newest compatible one. When nothing
 * fits, the error names every platform the index offers. Pure.
 */
import type { OciDescriptor } from "../containerd/oci-image.ts";
import type { Platform } from "../containerd/platform.ts";
import { KeonError } from "../model/errors.ts";

const ARCH_ALIASES: Record<string, string> = { x86_64: "amd64", "x86-64": "amd64", aarch64: "arm64", armhf: "arm", armel: "arm", i386: "386" };

/** Fill in what containerd assumes: arm64 → v8, arm → v7; aliases resolved; lower case. */
export function normalizePlatform(platform: Partial<Platform>): Platform {
  const os = (platform.os ?? "").toLowerCase();
  const rawArch = (platform.architecture ?? "").toLowerCase();
  const architecture = ARCH_ALIASES[rawArch] ?? rawArch;
  let variant = platform.variant?.toLowerCase();
  if (variant === "") variant = undefined;
  if (architecture === "arm64" && variant === undefined) variant = "v8";
  if (architecture === "arm" && variant === undefined) variant = "v7";
  if (rawArch === "armel" && platform.variant === undefined) variant = "v6";
  return { os, architecture, ...(variant === undefined ? {} : { variant }) };
}

/** 0 for no fit; higher is better. */
export function platformScore(candidate: Partial<Platform> | undefined, wanted: Platform): number {
  if (candidate === undefined) return 1; // a manifest that names no platform runs anywhere we are asked to
  const have = normalizePlatform(candidate);
  const want = normalizePlatform(wanted);
  if (have.os !== want.os || have.architecture !== want.architecture) return 0;
  if (have.variant === want.variant) return 100;
  if (have.architecture === "arm" && have.variant !== undefined && want.variant !== undefined) {
    const haveN = Number(have.variant.slice(1));
    const wantN = Number(want.variant.slice(1));
    // Older ARM variants run on newer cores; a newer one does not run on an older core.
    if (Number.isInteger(haveN) && Number.isInteger(wantN) && haveN < wantN) return 50 + haveN;
    return 0;
  }
  // Other architectures' variants (amd64 v2/v3…) are not checked by containerd 1.6 either.
  if (have.architecture !== "arm") return 10;
  return 0;
}

/** `linux/arm64/v8` → a Platform; INVALID_REQUEST naming the expected form otherwise. */
export function parsePlatform(text: string): Platform {
  const parts = text.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/i.test(p))) {
    throw new KeonError("INVALID_REQUEST", `platform '${text}': expected OS/ARCH or OS/ARCH/VARIANT (e.g. linux/arm64)`, {
      details: { field: "platform" },
    });
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return normalizePlatform({ os, architecture, ...(variant === undefined ? {} : { variant }) });
}

export function describePlatform(platform: Partial<Platform> | undefined): string {
  if (platform === undefined) return "(any)";
  const parts = [platform.os ?? "?", platform.architecture ?? "?"];
  if (platform.variant !== undefined && platform.variant !== "") parts.push(platform.variant);
  return parts.join("/");
}

/**
 * The manifest of `manifests` (an index's entries) for `wanted`, among
 * entries accepted by `isManifest`. IMAGE_NOT_FOUND names what is offered.
 */
export function chooseManifest(
  manifests: readonly OciDescriptor[],
  wanted: Platform,
  what: string,
  isManifest: (mediaType: string) => boolean,
): OciDescriptor {
  let best: OciDescriptor | undefined;
  let bestScore = 0;
  for (const descriptor of manifests) {
    if (!isManifest(descriptor.mediaType)) continue;
    const score = platformScore(descriptor.platform, wanted);
    if (score > bestScore) {
      best = descriptor;
      bestScore = score;
    }
  }
  if (best !== undefined) return best;
  const offered = [...new Set(manifests.filter((m) => isManifest(m.mediaType)).map((m) => describePlatform(m.platform)))];
  throw new KeonError(
    "IMAGE_NOT_FOUND",
    `${what}: no manifest for ${describePlatform(wanted)}; the image offers ${offered.length === 0 ? "no platform" : offered.join(", ")}`,
    { details: { wanted: describePlatform(wanted), offered } },
  );
}
