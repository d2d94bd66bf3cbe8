/**
 * @module
 * Any image archive the importer takes, opened as an OciArchive: an OCI
 * layout tar or a `docker save` tar, either plain or gzip- or
 * zstd-compressed (expanded first into a private temporary file, bounded,
 * see archive-decompress.ts). `close()` removes what opening made.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectCompression, expandArchive, type ArchiveCompression, type ExpansionLimits } from "./archive-decompress.ts";
import { dockerArchiveOf } from "./docker-archive.ts";
import { archiveError, indexTarFile, ociArchiveOf, type OciArchive } from "./oci-archive.ts";

export type ArchiveFormat = "oci" | "docker";

export interface OpenedArchive extends OciArchive {
  format: ArchiveFormat;
  compression: ArchiveCompression;
  close(): Promise<void>;
}

export interface OpenArchiveOptions extends ExpansionLimits {
  /** Where a compressed archive is expanded (a private directory is made inside). Default: the system temp dir. */
  workDir?: string;
}

/** OCI when the tar has an oci-layout file (docker 25+ writes both), else docker when it has manifest.json (pure). */
export function archiveFormatOf(names: ReadonlySet<string> | Map<string, unknown>): ArchiveFormat | undefined {
  if (names.has("oci-layout")) return "oci";
  if (names.has("manifest.json")) return "docker";
  return undefined;
}

export async function openImageArchive(path: string, options: OpenArchiveOptions = {}): Promise<OpenedArchive> {
  const file = Bun.file(path);
  if (!(await file.exists())) archiveError(path, "archive not found");
  const compression = detectCompression(new Uint8Array(await file.slice(0, 4).arrayBuffer()));
  let plainPath = path;
  let workDir: string | undefined;
  const close = async (): Promise<void> => {
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  };
  try {
    if (compression !== "none") {
      workDir = await mkdtemp(join(options.workDir ?? tmpdir(), "keon-archive-"));
      plainPath = join(workDir, "archive.tar");
      await expandArchive(path, compression, plainPath, file.size, options);
    }
    const tar = await indexTarFile(plainPath, path);
    const format = archiveFormatOf(tar.entries);
    if (format === undefined) archiveError(path, "neither an OCI image layout (oci-layout, index.json) nor a docker save archive (manifest.json)");
    const archive = format === "oci" ? await ociArchiveOf(tar) : await dockerArchiveOf(tar);
    return { ...archive, format, compression, close };
  } catch (error) {
    await close();
    throw error;
  }
}
