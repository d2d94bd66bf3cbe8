/**
 * @module
 * A file tree to and from a tar stream, for `keon cp` in both directions:
 * keond packs or unpacks under a container's root on the host, the CLI does
 * the same on the caller's machine. Files, directories and symlinks travel
 * with their modes, owners and mtimes; symlinks are never followed (neither
 * when packing below the named path nor when unpacking). An unpack writes
 * into a fresh temporary directory next to the target and renames the one
 * top entry into place at the end, so a refused or broken archive leaves
 * nothing behind. Every directory is held open while it is worked in and
 * entries are named one component below it (support/pinned-dir.ts): a
 * container swapping a directory for a symlink mid-copy cannot redirect
 * keond.
 */
import { randomBytes } from "node:crypto";
import { closeSync, constants, createReadStream, fchmodSync, fchownSync, fstatSync, futimesSync, lchownSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, renameSync, symlinkSync, writeSync } from "node:fs";
import { basename, join } from "node:path";
import { extract, pack, type Header, type Pack } from "tar-stream";
import { KeonError } from "../model/errors.ts";
import { at, openDirAt, removeAt } from "./pinned-dir.ts";

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

async function addEntry(archive: Pack, dirFd: number, entry: string, name: string): Promise<void> {
  const stat = lstatSync(at(dirFd, entry));
  const header = { name, mode: stat.mode & 0o7777, mtime: stat.mtime, uid: stat.uid, gid: stat.gid };
  if (stat.isDirectory()) {
    const fd = openDirAt(dirFd, entry, name);
    try {
      archive.entry({ ...header, type: "directory" });
      for (const child of readdirSync(`/proc/self/fd/${fd}`).sort()) await addEntry(archive, fd, child, `${name}/${child}`);
    } finally {
      closeSync(fd);
    }
  } else if (stat.isSymbolicLink()) {
    archive.entry({ ...header, type: "symlink", linkname: readlinkSync(at(dirFd, entry)) });
  } else if (stat.isFile()) {
    // O_NONBLOCK: should it have become a fifo since the lstat, opening it does not hang.
    const fd = openSync(at(dirFd, entry), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const size = fstatSync(fd).size;
    const chunks = size === 0 ? (closeSync(fd), []) : createReadStream("", { fd, start: 0, end: size - 1 });
    await addStreamedEntry(archive, { ...header, type: "file", size }, chunks as AsyncIterable<Uint8Array>);
  }
  // Sockets, fifos and devices are not copied: their contents are not data.
}

/**
 * A tar of `entry` of the held directory `dirFd` (`.` for the directory
 * itself; a symlink is taken as it is), its top entry named `name`, walked
 * as the stream is read. Takes over `dirFd` and closes it when done.
 */
export function packTree(dirFd: number, entry: string, name: string): ReadableStream<Uint8Array> {
  return tarStream((archive) => addEntry(archive, dirFd, entry, name).finally(() => closeSync(dirFd)));
}

/** One entry whose contents (exactly `header.size` bytes) come from `chunks`. */
export async function addStreamedEntry(archive: Pack, header: Parameters<Pack["entry"]>[0], chunks: AsyncIterable<Uint8Array>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const sink = archive.entry(header, (error) => (error ? reject(error) : resolve()));
    // A reader that went away destroys the archive and with it this entry, which then emits `error`: unheard, it would end the process.
    sink.on("error", reject);
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
 * Unpacks a tar holding one top entry (a file, directory or symlink) into
 * the held directory `into.dirFd` (named `into.dir` in messages and the
 * result) and moves it into place. Every entry's parent must be a directory
 * this archive made before it, so no entry is written through a symlink.
 * Owners are kept when running as root. Takes over `into.dirFd`.
 */
export async function unpackTree(source: AsyncIterable<Uint8Array>, into: Placement & { dirFd: number }): Promise<Unpacked> {
  const temporary = `.keon-cp-${randomBytes(6).toString("hex")}`;
  const asRoot = process.getuid?.() === 0;
  const made = new Map<string, Header["type"]>();
  /** Directories made so far, held open: "" is the temporary one. */
  const held = new Map<string, number>();
  const directories: { fd: number; header: Header }[] = [];
  let top: string | undefined;
  const parser = extract();
  try {
    mkdirSync(at(into.dirFd, temporary), { mode: 0o700 });
    held.set("", openDirAt(into.dirFd, temporary, join(into.dir, temporary)));
    const feeding = (async () => {
      for await (const chunk of source) await writeChunk(parser, chunk);
      parser.end(undefined);
    })().catch((error: Error) => parser.destroy(error));
    for await (const entry of parser) {
      const header = entry.header;
      const parts = entryComponents(header.name);
      const relative = parts.join("/");
      top ??= parts[0]!;
      if (parts[0] !== top) throw badArchive(`a second top entry besides '${top}'`, header.name);
      const parentFd = held.get(parts.slice(0, -1).join("/"));
      if (parentFd === undefined) throw badArchive("its directory is not in the archive before it", header.name);
      const existing = made.get(relative);
      if (existing !== undefined && !(existing === "directory" && header.type === "directory")) throw badArchive("appears twice", header.name);
      const leaf = parts.at(-1)!;
      const mode = header.mode & 0o7777;
      if (header.type === "directory") {
        if (existing === undefined) {
          mkdirSync(at(parentFd, leaf), { mode: 0o700 });
          const fd = openDirAt(parentFd, leaf, header.name);
          held.set(relative, fd);
          if (asRoot) fchownSync(fd, header.uid, header.gid);
        }
        directories.push({ fd: held.get(relative)!, header });
        entry.resume();
      } else if (header.type === "file" || header.type === "contiguous-file") {
        const fd = openSync(at(parentFd, leaf), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of entry) {
            const bytes = chunk as Uint8Array;
            for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset);
          }
          if (asRoot) fchownSync(fd, header.uid, header.gid);
          fchmodSync(fd, mode);
          futimesSync(fd, header.mtime, header.mtime);
        } finally {
          closeSync(fd);
        }
      } else if (header.type === "symlink") {
        symlinkSync(header.linkname, at(parentFd, leaf));
        if (asRoot) lchownSync(at(parentFd, leaf), header.uid, header.gid);
        entry.resume();
      } else {
        throw new KeonError("UNSUPPORTED", `archive entry '${header.name}' is a ${header.type}; cp copies files, directories and symlinks`, { details: { entry: header.name, type: header.type } });
      }
      made.set(relative, header.type);
    }
    await feeding;
    if (top === undefined) throw new KeonError("INVALID_REQUEST", "the archive is empty");
    // Directory modes and times last, deepest first: writing children changes a directory's mtime.
    for (const { fd, header } of directories.reverse()) {
      fchmodSync(fd, header.mode & 0o7777);
      futimesSync(fd, header.mtime, header.mtime);
    }
    const name = into.name ?? top;
    const path = join(into.dir, name);
    moveIntoPlace(at(held.get("")!, top), at(into.dirFd, name), path);
    return { path, entries: made.size };
  } catch (error) {
    parser.destroy();
    if (error instanceof KeonError) throw error;
    throw new KeonError("INVALID_REQUEST", `cannot unpack the archive: ${(error as Error).message}`, { cause: error });
  } finally {
    for (const fd of held.values()) closeSync(fd);
    removeAt(into.dirFd, temporary);
    closeSync(into.dirFd);
  }
}

/** rename(2), with the ways it refuses to replace something said plainly. */
function moveIntoPlace(from: string, to: string, shown: string): void {
  try {
    renameSync(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST" || code === "EISDIR" || code === "ENOTDIR") {
      throw new KeonError("CONFLICT", `'${shown}' exists and cannot be replaced by what is copied (${code})`, { details: { path: shown, reason: code } });
    }
    throw error;
  }
}
