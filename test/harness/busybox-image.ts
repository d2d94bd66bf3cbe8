/**
 * @module
 * A busybox OCI image archive built from Debian's static /bin/busybox with
 * umoci, so integration tests need no registry and no network. Built once per
 * test process (run) and removed when that process is gone.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RUN_ID } from "./run-id.ts";

/** The tag umoci writes as the index's org.opencontainers.image.ref.name. */
export const BUSYBOX_TAG = "latest";
export const BUSYBOX_BINARY = "/bin/busybox";

const CACHE_DIR = `/tmp/keon-busybox-${RUN_ID}`;
let building: Promise<string> | undefined;

function run(args: string[], cwd?: string): string {
  const result = Bun.spawnSync(args, { cwd, timeout: 120_000, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) {
    throw new Error(`${args.join(" ")} failed (${result.exitCode}): ${result.stderr.toString()}${result.stdout.toString()}`);
  }
  return result.stdout.toString();
}

/**
 * `bun test` (1.4) emits no process "exit" event, so a detached shell removes
 * the cache once this process has ended.
 */
function removeCacheAfterExit(): void {
  const watcher = Bun.spawn(
    ["sh", "-c", `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; rm -rf '${CACHE_DIR}'`],
    { stdin: "ignore", stdout: "ignore", stderr: "ignore" },
  );
  watcher.unref();
}

async function build(): Promise<string> {
  rmSync(CACHE_DIR, { recursive: true, force: true });
  removeCacheAfterExit();
  const layout = join(CACHE_DIR, "layout");
  const bundle = join(CACHE_DIR, "bundle");
  const image = `${layout}:${BUSYBOX_TAG}`;
  mkdirSync(CACHE_DIR, { recursive: true });

  run(["umoci", "init", "--layout", layout]);
  run(["umoci", "new", "--image", image]);
  run(["umoci", "unpack", "--image", image, bundle]);

  const rootfs = join(bundle, "rootfs");
  for (const dir of ["bin", "etc", "tmp", "root", "home/user", "proc", "dev", "sys"]) {
    mkdirSync(join(rootfs, dir), { recursive: true });
  }
  chmodSync(join(rootfs, "tmp"), 0o1777);
  copyFileSync(BUSYBOX_BINARY, join(rootfs, "bin/busybox"));
  chmodSync(join(rootfs, "bin/busybox"), 0o755);
  for (const applet of run([BUSYBOX_BINARY, "--list"]).split("\n")) {
    if (applet === "" || applet === "busybox") continue;
    const link = join(rootfs, "bin", applet);
    if (!existsSync(link)) symlinkSync("busybox", link);
  }
  writeFileSync(
    join(rootfs, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n",
  );
  writeFileSync(join(rootfs, "etc/group"), "root:x:0:\nuser:x:1000:\n");
  run(["chown", "1000:1000", join(rootfs, "home/user")]);

  run(["umoci", "repack", "--image", image, bundle]);
  run([
    "umoci",
    "config",
    "--image",
    image,
    "--config.cmd",
    "/bin/sh",
    "--config.env",
    "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
    "--config.workingdir",
    "/",
  ]);
  // repack and config leave superseded manifests and configs behind.
  run(["umoci", "gc", "--layout", layout]);

  const archive = join(CACHE_DIR, "busybox-oci.tar");
  run(["tar", "--format=pax", "-C", layout, "-cf", archive, "oci-layout", "index.json", "blobs"]);
  rmSync(bundle, { recursive: true, force: true });
  return archive;
}

/** Path of the busybox OCI archive (an uncompressed tar of an OCI layout). */
export async function buildBusyboxImage(): Promise<string> {
  building ??= build();
  return await building;
}
