/**
 * @module
 * Test harness: real containerd, runc and images, each test file with its own
 * private instance and a teardown that proves nothing was left behind.
 */
export { missingBinaries, requireBinaries, requirePrerequisites, requireRoot } from "./binaries.ts";
export { BUSYBOX_TAG, buildBusyboxImage } from "./busybox-image.ts";
export { cleanNamespace, expectProcessGone, startContainerd, type TestContainerd } from "./containerd.ts";
export { minimalSpec, type MinimalSpecOptions } from "./minimal-spec.ts";
export { findShims, isAlive, killPids, processState } from "./processes.ts";
export { mountsUnder, unmountUnder } from "./mounts.ts";
export { RUN_ID, randomId } from "./run-id.ts";
export { waitUntil } from "./wait.ts";

/** Binaries the containerd integration suites need. */
export const CONTAINERD_BINARIES = ["containerd", "containerd-shim-runc-v2", "runc", "umoci", "busybox", "tar", "umount"] as const;
