/**
 * @module
 * `keon image import FILE | ls | rm REF... | pull REF`: images of a realm's
 * containerd namespace. Import uploads an OCI layout tar (what `umoci`,
 * `skopeo copy … oci-archive:` or `ctr export` write) with a progress bar on
 * a terminal and plain lines otherwise.
 */
import { statSync } from "node:fs";
import { basename } from "node:path";
import { choiceFlag, expectPositionals, stringFlag, type ParsedArgs } from "../args.ts";
import { ALL_SCOPES_FLAG, type CliContext, type Verb } from "../context.ts";
import { CliError, formatError, usageError } from "../errors.ts";
import { progressReporter } from "../output/progress.ts";
import { shortDigest } from "../output/table.ts";
import { DEFAULT_SCOPE_NAME } from "../scope.ts";
import { getVerb } from "./get.ts";

const SUBCOMMANDS = ["import", "ls", "list", "rm", "remove", "pull"] as const;

interface ImportAnswer {
  images: { name: string; manifestDigest: string; blobsWritten: number; blobsPresent: number; snapshotsCreated: number }[];
}

/** The archive as a body stream that reports how much was handed to the connection. */
function countingStream(path: string, onProgress: (done: number) => void): ReadableStream<Uint8Array> {
  const reader = Bun.file(path).stream().getReader();
  let done = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done: end, value } = await reader.read();
      if (end) {
        controller.close();
        return;
      }
      done += value.byteLength;
      onProgress(done);
      controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

async function importImage(ctx: CliContext, realm: string, file: string, name: string | undefined): Promise<number> {
  let size: number;
  try {
    const stats = statSync(file);
    if (!stats.isFile()) throw usageError(`${file} is not a file`);
    size = stats.size;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw usageError(`${file}: no such file`);
  }
  // Progress goes to stderr so stdout stays the result (scripts read it).
  const progress = progressReporter(ctx.term.err, ctx.term.interactive && process.stderr.isTTY === true, `uploading ${basename(file)}`, size);
  const answer = await ctx.client.json<ImportAnswer>("POST", `/v1/realms/${encodeURIComponent(realm)}/images/import`, {
    query: { name },
    body: countingStream(file, (done) => progress.update(done)),
    headers: { "content-type": "application/x-tar", "content-length": String(size) },
  });
  progress.finish(`unpacked into realm ${realm}`);
  for (const image of answer.images) {
    ctx.out(`image/${image.name} imported (${shortDigest(image.manifestDigest)}, ${image.blobsWritten} new blob${image.blobsWritten === 1 ? "" : "s"}, ${image.blobsPresent} present)\n`);
  }
  return 0;
}

export const imageVerb: Verb = {
  name: "image",
  summary: "import, list and remove images",
  usage: "keon image import FILE [--name REF] | ls | rm REF... | pull REF   [--realm R]",
  help: "Example: keon image import busybox.tar --name docker.io/library/busybox:latest",
  completes: ["import", "ls", "rm", "pull"],
  flags: [
    { name: "realm", type: "string", valueName: "NAME", description: "realm whose containerd namespace holds the images (default: default)" },
    { name: "name", type: "string", valueName: "REF", description: "import: name for the image (else the archive's own)" },
    ALL_SCOPES_FLAG,
    { name: "output", short: "o", type: "string", valueName: "FORMAT", description: "ls: table, wide, yaml, json or name" },
  ],
  async run(ctx: CliContext, args: ParsedArgs): Promise<number> {
    const [sub, ...rest] = args.positionals;
    if (sub === undefined) throw usageError(`missing subcommand: one of import, ls, rm, pull`);
    if (!(SUBCOMMANDS as readonly string[]).includes(sub)) throw usageError(`unknown subcommand 'image ${sub}': one of import, ls, rm, pull`);
    const realm = stringFlag(args, "realm") ?? DEFAULT_SCOPE_NAME;
    switch (sub) {
      case "import": {
        const [file] = expectPositionals({ ...args, positionals: rest }, 1, 1, "FILE: keon image import FILE");
        return await importImage(ctx, realm, file as string, stringFlag(args, "name"));
      }
      case "ls":
      case "list":
        if (rest.length > 0) throw usageError(`unexpected argument '${rest[0]}'`);
        choiceFlag(args, "output", ["table", "wide", "yaml", "json", "name"] as const, "table");
        return await getVerb.run(ctx, { ...args, positionals: ["images"] });
      case "rm":
      case "remove": {
        if (rest.length === 0) throw usageError("missing REF: keon image rm REF...");
        let failed = 0;
        for (const ref of rest) {
          try {
            await ctx.client.json("DELETE", `/v1/realms/${encodeURIComponent(realm)}/images/${encodeURIComponent(ref)}`);
            ctx.out(`image/${ref} removed\n`);
          } catch (error) {
            if (error instanceof CliError && error.kind === "unreachable") throw error;
            failed++;
            ctx.err(`image/${ref}: ${formatError(error)}\n`);
          }
        }
        return failed > 0 ? 1 : 0;
      }
      default:
        throw new CliError("failed", "image pull is not available yet: keond has no registry client; import an OCI archive with `keon image import FILE`", { code: "UNSUPPORTED" });
    }
  },
};
