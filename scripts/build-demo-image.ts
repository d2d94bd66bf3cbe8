#!/usr/bin/env bun
/**
 * Builds the busybox OCI image the demo runs (umoci and Debian's
 * busybox-static; nothing is fetched) and copies it to the path given.
 */
import { copyFileSync } from "node:fs";
import { buildBusyboxImage } from "../test/harness/busybox-image.ts";

const target = process.argv[2];
if (target === undefined) {
  console.error("usage: build-demo-image.ts OUT.tar");
  process.exit(2);
}
copyFileSync(await buildBusyboxImage(), target);
