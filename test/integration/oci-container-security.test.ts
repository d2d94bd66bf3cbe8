/**
 * A container built by src/oci's buildOciSpec from a parsed v1beta1 Container
 * document, with the HostFacts src/runtime gathers from this host, run by the
 * real containerd and runc. Its user, read-only root, tmpfs and capabilities
 * are checked from inside (a busybox script's output in the task's log file),
 * its memory limit from the host's v1 memory cgroup while it runs.
 * Exit codes through Wait and TaskExit are covered by containerd-image-run.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  containerSpec,
  createContainerWithRootfs,
  importImageArchive,
  readImageConfig,
  removeContainerRootfs,
} from "../../src/containerd/index.ts";
import { containerCgroupPathOf, containerdId, effectiveContainer, parseDocument } from "../../src/model/index.ts";
import { buildOciSpec, type CellContext, type HostFacts, type OciSpec } from "../../src/oci/spec.ts";
import { gatherHostFacts } from "../../src/runtime/host-facts.ts";
import {
  CONTAINERD_BINARIES,
  buildBusyboxImage,
  randomId,
  requireBinaries,
  requireRoot,
  startContainerd,
  waitUntil,
  type TestContainerd,
} from "../harness/index.ts";

const SUITE = "OCI spec: a hardened container seen from inside";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, CONTAINERD_BINARIES);
const IMAGE = "keon.test/busybox:latest";
/** Where the v1 memory controller is mounted on this hybrid host (DESIGN.md, facts of the platform). */
const MEMORY_V1 = "/sys/fs/cgroup/memory";
const MEMORY_LIMIT = 67108864;
/** CAP_NET_BIND_SERVICE is capability 10 (linux/capability.h), so bit 10 alone. */
const NET_BIND_SERVICE_ONLY = "0000000000000400";

/** One `key: value` line per promised property, then stay up so the host can read the cgroup. */
const PROBE_SCRIPT = [
  'echo "id: $(id)"',
  // /home/user belongs to uid 1000 in the image, so only a read-only root can refuse the write.
  'if err=$(touch /home/user/probe 2>&1); then echo "root: writable"; else echo "root: refused: $err"; fi',
  'if echo ok > /scratch/probe && [ "$(cat /scratch/probe)" = ok ]; then echo "scratch: writable"; else echo "scratch: not writable"; fi',
  // The shell's own status: grep's would show grep's capabilities after its execve.
  "while read -r line; do case $line in Cap*) echo \"$line\";; esac; done < /proc/$$/status",
  'echo "probe: done"',
  "exec sleep 300",
].join("\n");

describe.skipIf(!ready)(SUITE, () => {
  let cd: TestContainerd;
  let host: HostFacts;
  let spec: OciSpec;
  let storedSpec: unknown;
  let output = "";
  let memoryLimit = "";
  const unique = randomId();
  const names = { realm: `r-${unique}`, space: "sp", stack: "st", cell: `c-${unique}` };

  /** The value after `key:` on the probe's line for `key`. */
  const probed = (key: string): string | undefined =>
    output.split("\n").find((line) => line.startsWith(`${key}:`))?.slice(key.length + 1).trim();

  beforeAll(async () => {
    const archive = await buildBusyboxImage();
    cd = await startContainerd();
    await importImageArchive(cd.client, archive, { name: IMAGE });
    host = await gatherHostFacts({ containerdPid: cd.pid });

    const document = parseDocument({
      apiVersion: "v1beta1",
      kind: "Container",
      metadata: { name: "hardened" },
      spec: {
        realmId: names.realm,
        spaceId: names.space,
        stackId: names.stack,
        cellId: names.cell,
        image: IMAGE,
        command: "/bin/sh",
        args: ["-c", PROBE_SCRIPT],
        user: "1000:1000",
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
        tmpfs: [{ path: "/scratch" }],
        resources: { memoryLimitBytes: MEMORY_LIMIT },
      },
    });
    if (document.kind !== "Container") throw new Error(`parsed a ${document.kind}, not a Container`);
    const container = effectiveContainer(document.spec);
    const id = containerdId(names.space, names.stack, names.cell, container.id);
    const cgroupsPath = containerCgroupPathOf({ root: cd.cgroupParent, ...names, container: container.id });
    const ctx: CellContext = { ...names, containerId: container.id, cgroupsPath, nestedCgroupRuntime: false, rootfsPath: "rootfs" };
    const image = await readImageConfig(cd.client, IMAGE);
    spec = buildOciSpec(
      container,
      ctx,
      { entrypoint: image.entrypoint, cmd: image.cmd, env: image.env, user: image.user, workingDir: image.workingDir },
      host,
    );

    await createContainerWithRootfs(cd.client, { id, spec, image: IMAGE, chainId: image.chainId });
    storedSpec = containerSpec(await cd.client.containers.get(id));
    const log = join(cd.dir, "logs", `${id}.log`);
    await cd.client.tasks.create({ containerId: id, rootfs: await cd.client.snapshots.mounts(id), logFile: log });
    let exited = false;
    const waited = cd.client.tasks.wait(id, "", { deadlineMs: 60_000 }).finally(() => {
      exited = true;
    });
    await cd.client.tasks.start(id);
    const read = (): string => (existsSync(log) ? readFileSync(log, "utf8") : "");
    try {
      await waitUntil(() => read().includes("probe: done") || exited, "the probe script to finish", 15_000);
      // Read from the host while the task runs: runc removes the cgroup with the task.
      const limitFile = join(MEMORY_V1, cgroupsPath, "memory.limit_in_bytes");
      memoryLimit = existsSync(limitFile) ? readFileSync(limitFile, "utf8").trim() : `(no ${limitFile})`;
    } finally {
      await cd.client.tasks.kill(id, 9).catch(() => undefined); // already exited if the probe failed early
      const exit = await waited;
      output = read();
      console.log(`[inside, exit ${exit.exit_status}]\n${output}`);
      await cd.client.tasks.delete(id);
      await cd.client.containers.delete(id);
      await removeContainerRootfs(cd.client, id);
    }
  });

  afterAll(async () => {
    await cd?.stop();
  });

  test("host facts: containerd's bounding set and a real nofile limit", () => {
    console.log(`[host facts] nofile ${JSON.stringify(host.nofile)}, seccomp ${host.defaultSeccomp}, ${host.capabilities?.length} capabilities`);
    expect(host.nofile.hard).toBeGreaterThan(0);
    expect(host.capabilities).toContain("NET_BIND_SERVICE");
  });

  test("the spec read back through Containers.Get equals the one built", () => {
    expect(storedSpec).toStrictEqual(spec);
  });

  test("id shows uid and gid 1000", () => {
    expect(probed("id")).toMatch(/^uid=1000(\([^)]*\))? gid=1000(\([^)]*\))?( |$)/);
  });

  test("writing to / fails", () => {
    expect(probed("root")).toMatch(/^refused: .*Read-only file system/);
  });

  test("writing to the /scratch tmpfs works", () => {
    expect(probed("scratch")).toBe("writable");
  });

  test("the bounding set is exactly NET_BIND_SERVICE", () => {
    expect(probed("CapBnd")).toBe(NET_BIND_SERVICE_ONLY);
  });

  // A non-root user keeps an added capability only because the builder makes
  // explicitly added capabilities ambient (the kernel clears CapEff at execve otherwise).
  test("CapEff is exactly NET_BIND_SERVICE (0x400) for user 1000", () => {
    expect(probed("CapEff")).toBe(NET_BIND_SERVICE_ONLY);
  });

  test("the memory limit is in the container's v1 memory cgroup", () => {
    expect(memoryLimit).toBe(String(MEMORY_LIMIT));
  });
});
