/**
 * @module
 * Inputs for the OCI spec tests: a busybox-like image, a workload context in
 * cell "web" and a host with two devices. Each builder returns a fresh object
 * and takes overrides, so a test states only what it is about.
 */
import { expect } from "bun:test";
import { isKeonError } from "../../../src/model/errors.ts";
import type { ContainerSpec } from "../../../src/model/schema/container.ts";
import type { CellContext, HostFacts, ImageConfig } from "../../../src/oci/spec.ts";

export const PASSWD = [
  "root:x:0:0:root:/root:/bin/sh",
  "# a comment",
  "daemon:x:1:1:daemon:/usr/sbin:/bin/false",
  "app:x:1000:1001:App:/home/app:/bin/sh",
  "broken-line",
  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false",
].join("\n");

export const GROUP = [
  "root:x:0:",
  "wheel:x:10:root,app",
  "appgroup:x:1001:",
  "audio:x:29:app",
  "staff:x:50:",
  "nogroup:x:65534:",
].join("\n");

export function image(overrides: Partial<ImageConfig> = {}): ImageConfig {
  return { cmd: ["sh"], env: ["PATH=/usr/bin:/bin"], passwd: PASSWD, group: GROUP, ...overrides };
}

export function ctx(overrides: Partial<CellContext> = {}): CellContext {
  return {
    realm: "acme",
    space: "prod",
    stack: "shop",
    cell: "web",
    containerId: "app",
    rootTaskPid: 4242,
    cgroupsPath: "/keon/acme/prod/shop/web/app",
    nestedCgroupRuntime: false,
    rootfsPath: "rootfs",
    ...overrides,
  };
}

export function host(overrides: Partial<HostFacts> = {}): HostFacts {
  return {
    nofile: { soft: 1024, hard: 524288 },
    devices: {
      "/dev/fuse": { type: "c", major: 10, minor: 229, fileMode: 0o20666, uid: 0, gid: 0 },
      "/dev/loop0": { type: "b", major: 7, minor: 0, fileMode: 0o60660, uid: 0, gid: 6 },
    },
    defaultSeccomp: true,
    ...overrides,
  };
}

export function container(overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return { id: "app", image: "busybox:latest", ...overrides };
}

/** Runs `build`, expecting an OCI_SPEC_INVALID refusal that names `path`; returns the message. */
export function refusal(build: () => unknown, path: string): string {
  let caught: unknown;
  try {
    build();
  } catch (err) {
    caught = err;
  }
  if (!isKeonError(caught, "OCI_SPEC_INVALID")) {
    throw new Error(`expected OCI_SPEC_INVALID naming ${path}, got ${caught === undefined ? "no error" : String(caught)}`);
  }
  expect(caught.issues.map((i) => i.path)).toEqual([path]);
  expect(caught.message.startsWith(`${path}: `)).toBe(true);
  return caught.message;
}
