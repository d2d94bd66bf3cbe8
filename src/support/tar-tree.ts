/**
 * @module
 * A file tree to and from a tar stream, for `keon cp` in both directions:
 * keond packs or unpacks under a container's root on the host, the CLI does
 * the same on the caller's machine. Files, directories and symlinks travel
 * with their modes, owners and mtimes; symlinks are never followed (neither
 * when packing below the named path nor when unpacking). An unpack writes
 * into a fresh temporary directory next to the target and renames the one
 * top entry into place at the end, so a refused or broken archive leaves
 * nothing behind.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { chmod, lchown, lstat, mkdir, open, readdir, readlink, rename, rm, symlink, utimes } from "node:fs/promises";
import { basename, join } from "node:path";
import { extract, pack, type Header, type Pack } from "tar-stream";
import { KeonError } from "../model/errors.ts";

interface Drainable {
  write(chunk: Uint8Array): boolean;
  once(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
}

/** Writes one chunk, waiting while the receiver is full (or until it closed: its error surfaces elsewhere). */
async function writeChunk(target: Drainable, chunk: Uint8Array): Promise<void> {
  if (target.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      target.off("drain", done);
      target.off("close", done);
      resolve();
    };
    target.once("drain", done);
    target.once("close", done);
  });
}

async function addEntry(archive: Pack, hostPath: string, name: string): Promise<void> {
  const stat = await lstat(hostPath);
  const header = { name, mode: stat.mode & 0o7777, mtime: stat.mtime, uid: stat.uid, gid: stat.gid };
  if (stat.isDirectory()) {
    archive.entry({ ...header, type: "directory" });
    for (const child of (await readdir(hostPath)).sort()) await addEntry(archive, join(hostPath, child), `${name}/${child}`);
  } else if (stat.isSymbolicLink()) {
    archive.entry({ ...header, type: "symlink", linkname: await readlink(hostPath) });
  } else if (stat.isFile()) {
    await addStreamedEntry(archive, { ...header, type: "file", size: stat.size }, createReadStream(hostPath));
  }
  // Sockets, fifos and devices are not copied: their contents are not data.
}

/** A tar of `hostPath` (not followed if it is a symlink), its top entry named `name`, walked as the stream is read. */
export function packTree(hostPath: string, name: string): ReadableStream<Uint8Array> {
  return tarStream((archive) => addEntry(archive, hostPath, name));
}

/** One entry whose contents (exactly `header.size` bytes) come from `chunks`. */
export async function addStreamedEntry(archive: Pack, header: Parameters<Pack["entry"]>[0], chunks: AsyncIterable<Uint8Array>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const sink = archive.entry(header, (error) => (error ? reject(error) : resolve()));
    void (async () => {
      for await (const chunk of chunks) await writeChunk(sink, chunk);
      sink.end(undefined);
    })().catch((error: Error) => sink.destroy(error));
  });
}

/**
 * A tar that `fill` writes entries into as the stream is read; an error
 * while filling errors the stream (the reader sees a cut archive, never a
 * short one that looks whole).
 */
export function tarStream(fill: (archive: Pack) => Promise<void>): ReadableStream<Uint8Array> {
  const archive = pack();
  void fill(archive).then(
    () => archive.finalize(),
    (error: Error) => archive.destroy(error),
  );
  const chunks = archive[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done === true) controller.close();
      else controller.enqueue(next.value as Uint8Array);
    },
    cancel(reason) {
      archive.destroy(reason instanceof Error ? reason : new Error(String(reason)));
    },
  });
}

/** Where an unpacked tree goes: into `dir`, as `name` or, without one, under the archive's own top name. */
export interface Placement {
  dir: string;
  name: string | undefined;
  /** How a path under `dir` is named to the caller (keond names the container's path, not /proc/<pid>/root/...). */
  show?: (path: string) => string;
}

/**
 * Where a copy into `target` lands, as `cp -r` decides: into an existing
 * directory under the source's own name, else as `target` itself (whose
 * parent must be a directory). Pure.
 */
export function placementOf(target: string, targetIsDirectory: boolean): Placement {
  if (targetIsDirectory) return { dir: target, name: undefined };
  const trimmed = target.replace(/\/+$/, "");
  const name = basename(trimmed);
  const dir = trimmed.slice(0, trimmed.length - name.length).replace(/(.)\/+$/, "$1");
  return { dir: dir || ".", name };
}

/**
 * The components of an entry name, refused when absolute or when a `..`
 * would leave the unpack directory. Pure.
 */
export function entryComponents(name: string): string[] {
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (name.startsWith("/") || parts.length === 0 || parts.includes("..")) {
    throw new KeonError("INVALID_REQUEST", `archive entry '${name}' is absolute, empty or climbs with '..'`, { details: { entry: name } });
  }
  return parts;
}

const badArchive = (why: string, entry: string) => new KeonError("INVALID_REQUEST", `archive entry '${entry}': ${why}`, { details: { entry } });

interface Unpacked {
  /** The top entry's final path. */
  path: string;
  entries: number;
}

/**
 * Unpacks a tar holding one top entry (a file, directory or symlink) and
 * moves it into place. Every entry's parent must be a directory this
 * archive made before it, so no entry is written through a symlink.
 * Owners are kept when running as root.
 */
export async function unpackTree(source: AsyncIterable<Uint8Array>, placement: Placement): Promise<Unpacked> {
  const temporary = join(placement.dir, `.keon-cp-${randomBytes(6).toString("hex")}`);
  await mkdir(temporary, { mode: 0o700 });
  const asRoot = process.getuid?.() === 0;
  const made = new Map<string, Header["type"]>();
  const directories: { path: string; header: Header }[] = [];
  let top: string | undefined;
  const parser = extract();
  const feeding = (async () => {
    for await (const chunk of source) await writeChunk(parser, chunk);
    parser.end(undefined);
  })().catch((error: Error) => parser.destroy(error));
  try {
    for await (const entry of parser) {
      const header = entry.header;
      const parts = entryComponents(header.name);
      const relative = parts.join("/");
      top ??= parts[0]!;
      if (parts[0] !== top) throw badArchive(`a second top entry besides '${top}'`, header.name);
      const parent = parts.slice(0, -1).join("/");
      if (parent !== "" && made.get(parent) !== "directory") throw badArchive("its directory is not in the archive before it", header.name);
      const existing = made.get(relative);
      if (existing !== undefined && !(existing === "directory" && header.type === "directory")) throw badArchive("appears twice", header.name);
      const hostPath = join(temporary, relative);
      const mode = header.mode & 0o7777;
      if (header.type === "directory") {
        if (existing === undefined) await mkdir(hostPath, { mode: 0o700 });
        directories.push({ path: hostPath, header });
        entry.resume();
      } else if (header.type === "file" || header.type === "contiguous-file") {
        const file = await open(hostPath, "wx", 0o600);
        try {
          for await (const chunk of entry) await file.write(chunk as Uint8Array);
        } finally {
          await file.close();
        }
        await chmod(hostPath, mode);
        await utimes(hostPath, header.mtime, header.mtime);
      } else if (header.type === "symlink") {
        await symlink(header.linkname, hostPath);
        entry.resume();
      } else {
        throw new KeonError("UNSUPPORTED", `archive entry '${header.name}' is a ${header.type}; cp copies files, directories and symlinks`, { details: { entry: header.name, type: header.type } });
      }
      if (asRoot) await lchown(hostPath, header.uid, header.gid);
      made.set(relative, header.type);
    }
    await feeding;
    if (top === undefined) throw new KeonError("INVALID_REQUEST", "the archive is empty");
    // Directory modes and times last, deepest first: writing children changes a directory's mtime.
    for (const { path, header } of directories.reverse()) {
      await chmod(path, header.mode & 0o7777);
      await utimes(path, header.mtime, header.mtime);
    }
    const path = join(placement.dir, placement.name ?? top);
    await moveIntoPlace(join(temporary, top), path, placement.show ?? ((p) => p));
    return { path, entries: made.size };
  } catch (error) {
    parser.destroy();
    if (error instanceof KeonError) throw error;
    throw new KeonError("INVALID_REQUEST", `cannot unpack the archive: ${(error as Error).message}`, { cause: error });
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}

/** rename(2), with the ways it refuses to replace something said plainly. */
async function moveIntoPlace(from: string, to: string, show: (path: string) => string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST" || code === "EISDIR" || code === "ENOTDIR") {
      throw new KeonError("CONFLICT", `'${show(to)}' exists and cannot be replaced by what is copied (${code})`, { details: { path: show(to), reason: code } });
    }
    throw error;
  }
}
