/**
 * Pulls from a real registry (Debian's docker-registry on loopback, plain
 * HTTP) into a private containerd: a multi-layer gzip image, zstd layers, a
 * multi-platform index, a Docker schema 2 image, a pinned digest; then the
 * unpacked rootfs runs in runc. Failures leave nothing behind.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  createContainerWithRootfs,
  hostPlatform,
  readImageConfig,
  removeContainerRootfs,
} from "../../src/containerd/index.ts";
import { isKeonError, KeonError } from "../../src/model/errors.ts";
import { pullImage, type PullProgress } from "../../src/registry/index.ts";
import {
  CONTAINERD_BINARIES,
  buildBusyboxImage,
  minimalSpec,
  requireBinaries,
  requireRoot,
  startContainerd,
  type TestContainerd,
} from "../harness/index.ts";
import { REGISTRY_BINARIES, buildRegistryTestLayouts, startRegistry, type TestLayouts, type TestRegistry } from "../harness/registry.ts";

const SUITE = "registry pull (plain HTTP)";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, [...CONTAINERD_BINARIES, ...REGISTRY_BINARIES]);

describe.skipIf(!ready)(SUITE, () => {
  let cd: TestContainerd;
  let registry: TestRegistry;
  let images: TestLayouts;

  beforeAll(async () => {
    images = await buildRegistryTestLayouts(await buildBusyboxImage(), hostPlatform().architecture);
    [cd, registry] = await Promise.all([startContainerd(), startRegistry()]);
    const src = (tag: string): string => `oci:${images.layout}:${tag}`;
    registry.push(src("multi"), "keon/multi:1");
    registry.push(`oci:${images.zstdLayout}:multi`, "keon/zstd:1");
    registry.push(src("multiarch"), "keon/multiarch:1", ["--all"]);
    registry.push(src("foreign"), "keon/foreign:1", ["--all"]);
    registry.push(src("multi"), "keon/docker:1", ["--format", "v2s2"]);
  });

  afterAll(async () => {
    await cd?.stop();
    await registry?.stop();
  });

  /** Run `cat` of the marker file in a container on the image; its output. */
  async function catMarker(image: string): Promise<string> {
    const config = await readImageConfig(cd.client, image);
    const id = `cat-${Math.random().toString(16).slice(2, 10)}`;
    const log = `${cd.dir}/${id}.out`;
    const spec = minimalSpec({ args: ["/bin/cat", images.marker.path, "/etc/keon-layer2"], env: config.env, cgroupsPath: `${cd.cgroupParent}/${id}` });
    await createContainerWithRootfs(cd.client, { id, spec, image, chainId: config.chainId });
    try {
      const mounts = await cd.client.snapshots.mounts(id);
      await cd.client.tasks.create({ containerId: id, rootfs: mounts, logFile: log });
      const exited = cd.client.tasks.wait(id, "", { deadlineMs: 30_000 });
      await cd.client.tasks.start(id);
      const status = await exited;
      expect(status.exit_status).toBe(0);
      await cd.client.tasks.delete(id);
      return await Bun.file(log).text();
    } finally {
      await cd.client.containers.delete(id).catch(() => undefined);
      await removeContainerRootfs(cd.client, id).catch(() => undefined);
    }
  }

  async function expectNothingLeft(): Promise<void> {
    expect(await cd.client.leases.list()).toEqual([]);
    expect(await cd.client.content.listStatuses()).toEqual([]);
  }

  test("pulls a multi-layer gzip image and runs its rootfs", async () => {
    const events: PullProgress[] = [];
    const started = performance.now();
    const pulled = await pullImage(cd.client, cd.namespace, `${registry.host}/keon/multi:1`, undefined, { onProgress: (e) => events.push(e) });
    console.log(`[measure] pull of a 3-layer image over loopback HTTP: ${(performance.now() - started).toFixed(0)} ms, ${pulled.bytesFetched} layer bytes`);
    expect(pulled.name).toBe(`${registry.host}/keon/multi:1`);
    expect(pulled.layers).toBe(3);
    expect(pulled.snapshotsCreated).toBe(3);
    expect(events.filter((e) => e.type === "layer" && e.state === "done")).toHaveLength(3);
    const record = await cd.client.images.get(pulled.name);
    expect(record.target?.digest).toBe(pulled.digest);
    expect(await catMarker(pulled.name)).toBe(`${images.marker.content}two\n`);
    await expectNothingLeft();

    // Again: every blob is present, nothing fetched.
    const again = await pullImage(cd.client, cd.namespace, `${registry.host}/keon/multi:1`, undefined);
    expect(again.bytesFetched).toBe(0);
    expect(again.blobsPresent).toBe(3);
    expect(again.digest).toBe(pulled.digest);
  });

  test("pulls zstd layers", async () => {
    const pulled = await pullImage(cd.client, cd.namespace, `${registry.host}/keon/zstd:1`, undefined);
    const manifest = JSON.parse((await cd.client.content.readAll(pulled.manifestDigest)).toString()) as { layers: { mediaType: string }[] };
    expect(manifest.layers.map((l) => l.mediaType)).toContain("application/vnd.oci.image.layer.v1.tar+zstd");
    expect(await catMarker(pulled.name)).toBe(`${images.marker.content}two\n`);
  });

  test("pulls this host's manifest of a multi-platform index", async () => {
    const pulled = await pullImage(cd.client, cd.namespace, `${registry.host}/keon/multiarch:1`, undefined);
    expect(pulled.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    expect(pulled.platform).toBe(`linux/${hostPlatform().architecture}`);
    const config = JSON.parse((await cd.client.content.readAll(pulled.configDigest)).toString()) as { architecture: string };
    expect(config.architecture).toBe(hostPlatform().architecture);
    expect(await catMarker(pulled.name)).toBe(`${images.marker.content}two\n`);
  });

  test("an index without this platform is refused naming the platforms offered", async () => {
    const error = await pullImage(cd.client, cd.namespace, `${registry.host}/keon/foreign:1`, undefined).catch((e: unknown) => e);
    expect(isKeonError(error, "IMAGE_NOT_FOUND")).toBe(true);
    expect((error as KeonError).message).toContain("linux/ppc64le");
    await expectNothingLeft();
  });

  test("pulls a Docker schema 2 image", async () => {
    const pulled = await pullImage(cd.client, cd.namespace, `${registry.host}/keon/docker:1`, undefined);
    expect(pulled.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    expect(await catMarker(pulled.name)).toBe(`${images.marker.content}two\n`);
  });

  test("honours a pinned digest and refuses one the registry does not match", async () => {
    const first = await pullImage(cd.client, cd.namespace, `${registry.host}/keon/multi:1`, undefined);
    const pinned = await pullImage(cd.client, cd.namespace, `${registry.host}/keon/multi:1@${first.digest}`, undefined);
    expect(pinned.digest).toBe(first.digest);
    expect(pinned.name).toBe(`${registry.host}/keon/multi:1@${first.digest}`);

    const wrong = `sha256:${"0".repeat(64)}`;
    const error = await pullImage(cd.client, cd.namespace, `${registry.host}/keon/multi:1@${wrong}`, undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeonError);
    // The registry has no manifest by that digest: 404 is how it refuses.
    expect((error as KeonError).code).toBe("IMAGE_NOT_FOUND");
    expect((error as KeonError).message).toContain(wrong);
    await expectNothingLeft();
  });

  test("concurrent pulls of one reference share one download", async () => {
    await cd.client.images.delete(`${registry.host}/keon/docker:1`, true);
    const events: PullProgress[][] = [[], []];
    const [a, b] = await Promise.all(
      [0, 1].map((i) => pullImage(cd.client, cd.namespace, `${registry.host}/keon/docker:1`, undefined, { onProgress: (e) => events[i]?.push(e) })),
    );
    expect(a).toEqual(b as typeof a);
    expect(events[1]?.map((e) => e.type)).toEqual(["shared"]);
  });

  test("concurrent pulls of two references sharing layers write each blob once and both succeed", async () => {
    for (const image of await cd.client.images.list()) await cd.client.images.delete(image.name, true);
    await cd.client.leases.collectGarbage();
    const [multi, docker] = await Promise.all([
      pullImage(cd.client, cd.namespace, `${registry.host}/keon/multi:1`, undefined),
      pullImage(cd.client, cd.namespace, `${registry.host}/keon/docker:1`, undefined),
    ]);
    // skopeo's v2s2 copy keeps the compressed layers: the same blobs under two manifests.
    const manifest = JSON.parse((await cd.client.content.readAll(multi.manifestDigest)).toString()) as { layers: { size: number }[] };
    expect(multi.bytesFetched + docker.bytesFetched).toBe(manifest.layers.reduce((sum, l) => sum + l.size, 0));
    expect(multi.blobsPresent + docker.blobsPresent).toBe(3);
    expect(await catMarker(docker.name)).toBe(`${images.marker.content}two\n`);
    await expectNothingLeft();
  });

  test("a missing repository is IMAGE_NOT_FOUND naming registry and repository", async () => {
    const error = await pullImage(cd.client, cd.namespace, `${registry.host}/keon/nothing:1`, undefined).catch((e: unknown) => e);
    expect(isKeonError(error, "IMAGE_NOT_FOUND")).toBe(true);
    expect((error as KeonError).message).toContain(`registry ${registry.host}, repository keon/nothing`);
    await expectNothingLeft();
  });
});
