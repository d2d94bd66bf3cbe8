/**
 * @module
 * A real registry for pull tests: Debian's `docker-registry` (distribution
 * 2.8) on a loopback port with its own config and storage under /tmp, plain
 * HTTP or TLS with a CA made here by openssl, optionally with htpasswd Basic
 * auth (a bcrypt entry from Bun.password). Ended by PID, its directory
 * removed. Images go in with `skopeo copy`.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TEST_DIR_PREFIX, randomId } from "./run-id.ts";
import { waitForExit } from "./processes.ts";
import { waitUntil } from "./wait.ts";

export const REGISTRY_BINARIES = ["docker-registry", "skopeo", "openssl", "umoci", "busybox", "tar"] as const;

export interface TestRegistryOptions {
  tls?: boolean;
  /** htpasswd Basic auth with this user. */
  auth?: { username: string; password: string };
}

export interface TestRegistry {
  /** host:port, e.g. 127.0.0.1:41234. */
  host: string;
  port: number;
  pid: number;
  dir: string;
  /** PEM of the CA that signed the registry's certificate (TLS only). */
  caFile: string | undefined;
  /** Push an OCI layout image (`oci:DIR:TAG` or `oci-archive:FILE`) as `repository:tag` with extra skopeo flags. */
  push(source: string, target: string, extraArgs?: string[]): void;
  stop(): Promise<void>;
}

function run(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): string {
  const result = Bun.spawnSync(args, { cwd: options.cwd, timeout: options.timeoutMs ?? 120_000, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) {
    throw new Error(`${args.join(" ")} failed (${result.exitCode}): ${result.stderr.toString()}${result.stdout.toString()}`);
  }
  return result.stdout.toString();
}

/** A port the kernel just handed out on 127.0.0.1 (closed again at once for the registry to take). */
export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/**
 * A CA and a server certificate for 127.0.0.1 and localhost, signed by it;
 * with `client`, a client certificate from the same CA too (etcd's client
 * certificate authentication in the fleet tests).
 */
export function makeCertificates(dir: string, options: { client?: boolean } = {}): { ca: string; cert: string; key: string; clientCert?: string; clientKey?: string } {
  const ca = join(dir, "ca.crt");
  const caKey = join(dir, "ca.key");
  const key = join(dir, "server.key");
  const csr = join(dir, "server.csr");
  const cert = join(dir, "server.crt");
  const ext = join(dir, "server.ext");
  run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey, "-out", ca, "-days", "2", "-subj", "/CN=keon test CA"]);
  run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"]);
  writeFileSync(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n");
  run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext]);
  if (options.client !== true) return { ca, cert, key };
  const clientKey = join(dir, "client.key");
  const clientCsr = join(dir, "client.csr");
  const clientCert = join(dir, "client.crt");
  const clientExt = join(dir, "client.ext");
  run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", clientKey, "-out", clientCsr, "-subj", "/CN=keon test client"]);
  writeFileSync(clientExt, "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n");
  run(["openssl", "x509", "-req", "-in", clientCsr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-out", clientCert, "-days", "2", "-extfile", clientExt]);
  return { ca, cert, key, clientCert, clientKey };
}

export async function startRegistry(options: TestRegistryOptions = {}): Promise<TestRegistry> {
  const dir = `${TEST_DIR_PREFIX}registry-${randomId()}`;
  const storage = join(dir, "storage");
  mkdirSync(storage, { recursive: true });
  const port = freePort();
  const host = `127.0.0.1:${port}`;
  const lines = [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${storage}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: ${host}`,
  ];
  let caFile: string | undefined;
  if (options.tls === true) {
    const certs = makeCertificates(dir);
    caFile = certs.ca;
    lines.push("  tls:", `    certificate: ${certs.cert}`, `    key: ${certs.key}`);
  }
  if (options.auth !== undefined) {
    const htpasswd = join(dir, "htpasswd");
    // distribution's htpasswd reads bcrypt only; Bun's $2b$ entries are accepted by Go's bcrypt.
    const hash = await Bun.password.hash(options.auth.password, { algorithm: "bcrypt", cost: 5 });
    writeFileSync(htpasswd, `${options.auth.username}:${hash}\n`);
    lines.push("auth:", "  htpasswd:", "    realm: keon-test", `    path: ${htpasswd}`);
  }
  const config = join(dir, "config.yml");
  writeFileSync(config, `${lines.join("\n")}\n`);
  const logPath = join(dir, "registry.log");
  const proc = Bun.spawn(["docker-registry", "serve", config], { stdout: Bun.file(logPath), stderr: Bun.file(logPath), stdin: "ignore" });
  const scheme = options.tls === true ? "https" : "http";
  const stop = async (): Promise<void> => {
    try {
      process.kill(proc.pid, "SIGKILL");
    } catch {
      // already gone
    }
    await waitForExit(proc.pid, 5_000);
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      async () => {
        if (proc.exitCode !== null) throw new Error(`docker-registry exited (${proc.exitCode}): ${await Bun.file(logPath).text()}`);
        try {
          const response = await fetch(`${scheme}://${host}/v2/`, caFile === undefined ? {} : { tls: { ca: await Bun.file(caFile).text() } });
          await response.body?.cancel();
          return response.status === 200 || response.status === 401;
        } catch {
          return false;
        }
      },
      `docker-registry answering on ${host}`,
      15_000,
      50,
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const certDir = join(dir, "skopeo-certs");
  if (caFile !== undefined) {
    mkdirSync(certDir, { recursive: true });
    writeFileSync(join(certDir, "ca.crt"), await Bun.file(caFile).text());
  }
  return {
    host,
    port,
    pid: proc.pid,
    dir,
    caFile,
    push(source, target, extraArgs = []) {
      const args = ["skopeo", "copy", "--quiet"];
      if (caFile === undefined) args.push("--dest-tls-verify=false");
      else args.push("--dest-cert-dir", certDir);
      if (options.auth !== undefined) args.push("--dest-creds", `${options.auth.username}:${options.auth.password}`);
      args.push(...extraArgs, source, `docker://${host}/${target}`);
      run(args);
    },
    stop,
  };
}

export interface TestLayouts {
  /** OCI image layout directory; tags: `multi` (3 gzip layers, amd64 host platform), `multiarch` (index: this platform + arm64/v8 + s390x-less ppc64le), `foreign` (index without this platform). */
  layout: string;
  /** The `multi` image with zstd layers, tag `multi`. */
  zstdLayout: string;
  /** The file the third layer adds, and its content. */
  marker: { path: string; content: string };
}

let layouts: Promise<TestLayouts> | undefined;

function sha256Hex(bytes: Uint8Array | string): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

/** Put a JSON document into the layout's blob store; its descriptor. */
function writeBlob(layout: string, json: unknown, mediaType: string): { mediaType: string; digest: string; size: number } {
  const text = JSON.stringify(json);
  const hex = sha256Hex(text);
  writeFileSync(join(layout, "blobs/sha256", hex), text);
  return { mediaType, digest: `sha256:${hex}`, size: Buffer.byteLength(text) };
}

interface IndexJson {
  schemaVersion: number;
  manifests: Array<{ mediaType: string; digest: string; size: number; annotations?: Record<string, string>; platform?: Record<string, string> }>;
}

function readIndex(layout: string): IndexJson {
  return JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as IndexJson;
}

function descriptorOf(layout: string, tag: string): IndexJson["manifests"][number] {
  const found = readIndex(layout).manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag);
  if (found === undefined) throw new Error(`no tag ${tag} in ${layout}`);
  return { mediaType: found.mediaType, digest: found.digest, size: found.size };
}

async function buildLayouts(busyboxArchive: string, hostArch: string): Promise<TestLayouts> {
  const dir = `${TEST_DIR_PREFIX}registry-images-${randomId()}`;
  const layout = join(dir, "layout");
  const bundle = join(dir, "bundle");
  mkdirSync(layout, { recursive: true });
  // bun test (1.4) emits no process exit event: a detached shell removes the layouts once this process is gone.
  Bun.spawn(["sh", "-c", `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; rm -rf '${dir}'`], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "ignore",
  }).unref();
  run(["tar", "-xf", busyboxArchive, "-C", layout]);
  run(["umoci", "tag", "--image", `${layout}:latest`, "multi"]);
  run(["umoci", "unpack", "--image", `${layout}:multi`, bundle]);
  writeFileSync(join(bundle, "rootfs/etc/keon-layer2"), "two\n");
  // --refresh-bundle: the next repack then diffs against this layer, not the base.
  run(["umoci", "repack", "--refresh-bundle", "--image", `${layout}:multi`, bundle]);
  const marker = { path: "/etc/keon-layer3", content: `three ${randomId()}\n` };
  writeFileSync(join(bundle, "rootfs", marker.path), marker.content);
  run(["umoci", "repack", "--image", `${layout}:multi`, bundle]);
  rmSync(bundle, { recursive: true, force: true });

  // Other platforms: same layers, another config (umoci config makes a new manifest).
  const other = hostArch === "arm64" ? "amd64" : "arm64";
  run(["umoci", "tag", "--image", `${layout}:multi`, "other"]);
  run(["umoci", "config", "--image", `${layout}:other`, "--architecture", other]);
  run(["umoci", "tag", "--image", `${layout}:multi`, "ppc"]);
  run(["umoci", "config", "--image", `${layout}:ppc`, "--architecture", "ppc64le"]);
  const ociIndex = "application/vnd.oci.image.index.v1+json";
  const host = descriptorOf(layout, "multi");
  const arm = descriptorOf(layout, "other");
  const ppc = descriptorOf(layout, "ppc");
  const multiarch = writeBlob(
    layout,
    {
      schemaVersion: 2,
      mediaType: ociIndex,
      manifests: [
        { ...arm, platform: { os: "linux", architecture: other, ...(other === "arm64" ? { variant: "v8" } : {}) } },
        { ...host, platform: { os: "linux", architecture: hostArch } },
        { ...ppc, platform: { os: "linux", architecture: "ppc64le" } },
      ],
    },
    ociIndex,
  );
  const foreign = writeBlob(
    layout,
    { schemaVersion: 2, mediaType: ociIndex, manifests: [{ ...ppc, platform: { os: "linux", architecture: "ppc64le" } }] },
    ociIndex,
  );
  const index = readIndex(layout);
  index.manifests.push(
    { ...multiarch, annotations: { "org.opencontainers.image.ref.name": "multiarch" } },
    { ...foreign, annotations: { "org.opencontainers.image.ref.name": "foreign" } },
  );
  writeFileSync(join(layout, "index.json"), JSON.stringify(index));
  // skopeo 1.9 recompresses to zstd into a layout (pushing gzip layers to a registry keeps them as they are).
  const zstdLayout = join(dir, "zstd");
  run(["skopeo", "copy", "--quiet", "--dest-compress-format", "zstd", "--dest-compress", `oci:${layout}:multi`, `oci:${zstdLayout}:multi`]);
  return { layout, zstdLayout, marker };
}

/** The OCI layout the registry tests push from (built once per process from the busybox archive). */
export async function buildRegistryTestLayouts(busyboxArchive: string, hostArch: string): Promise<TestLayouts> {
  layouts ??= buildLayouts(busyboxArchive, hostArch);
  return await layouts;
}
