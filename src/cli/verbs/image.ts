/**
 * @module
 * `keon image import FILE | ls | rm REF... | pull REF`: images of a realm's
 * containerd namespace. Import uploads an OCI layout tar (what `umoci`,
 * `skopeo copy … oci-archive:` or `ctr export` write) or a `docker save`
 * tar, either plain or gzip/zstd-compressed, with a progress bar on a
 * terminal and plain lines otherwise. Pull asks keond to pull from a
 * registry and follows its NDJSON progress: one line per layer redrawn in
 * place on a terminal, a line per finished layer otherwise, then a summary.
 */
import { statSync } from "node:fs";
import { basename } from "node:path";
import { booleanFlag, choiceFlag, expectPositionals, stringFlag, type ParsedArgs } from "../args.ts";
import { readJson } from "../client.ts";
import { ALL_SCOPES_FLAG, SCOPE_FLAGS, type CliContext, type Verb } from "../context.ts";
import { CliError, formatError, usageError } from "../errors.ts";
import { progressReporter } from "../output/progress.ts";
import { formatBytes, shortDigest } from "../output/table.ts";
import { DEFAULT_SCOPE_NAME } from "../scope.ts";
import { getVerb } from "./get.ts";

const SUBCOMMANDS = ["import", "ls", "list", "rm", "remove", "pull"] as const;

interface ImportAnswer {
  images: { name: string; manifestDigest: string; blobsWritten: number; blobsPresent: number; snapshotsCreated: number }[];
}

/** The archive as a body stream that reports how much was handed to the connection, and when all of it was. */
function countingStream(path: string, onProgress: (done: number) => void, onEnd: () => void): ReadableStream<Uint8Array> {
  const reader = Bun.file(path).stream().getReader();
  let done = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done: end, value } = await reader.read();
      if (end) {
        controller.close();
        onEnd();
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
    // keond answers once it has unpacked the layers into containerd, seconds after the last byte went out.
    body: countingStream(file, (done) => progress.update(done), () => progress.phase(`uploaded; keond is unpacking it into realm ${realm}`)),
    headers: { "content-type": "application/x-tar", "content-length": String(size) },
  });
  progress.finish(`unpacked into realm ${realm}`);
  for (const image of answer.images) {
    ctx.out(`image/${image.name} imported (${shortDigest(image.manifestDigest)}, ${image.blobsWritten} new blob${image.blobsWritten === 1 ? "" : "s"}, ${image.blobsPresent} present)\n`);
  }
  return 0;
}


/** The lines keond's pull route streams (src/api/image-pull-route.ts), as the CLI reads them. */
export type PullLine =
  | { type: "resolved"; name: string; digest: string; platform: string; layers: { digest: string; size: number }[] }
  | { type: "layer"; digest: string; size: number; done: number; state: "present" | "downloading" | "done" }
  | { type: "unpack"; layer: number; digest: string }
  | { type: "shared"; name: string }
  | { type: "done"; image: { name: string; digest: string; platform: string; layers: number; bytesFetched: number; blobsPresent: number } }
  | { type: "error"; error: { code?: string; message?: string; details?: Record<string, unknown> } };

export interface PullView {
  name: string;
  layers: { digest: string; size: number; done: number; state: "waiting" | "downloading" | "done" | "present" | "unpacking" | "unpacked" }[];
}

/** Fold one streamed line into the view (pure). */
export function applyPullLine(view: PullView, line: PullLine): PullView {
  switch (line.type) {
    case "resolved":
      return { name: line.name, layers: line.layers.map((l) => ({ ...l, done: 0, state: "waiting" })) };
    case "layer":
      return {
        ...view,
        layers: view.layers.map((l) => (l.digest === line.digest ? { ...l, done: line.done, state: line.state } : l)),
      };
    case "unpack":
      return {
        ...view,
        layers: view.layers.map((l, i) => {
          if (i === line.layer) return { ...l, state: "unpacking" };
          return l.state === "unpacking" ? { ...l, state: "unpacked" } : l;
        }),
      };
    default:
      return view;
  }
}

/** One line per layer: `sha256:0123456789ab  downloading  1.2Mi/3.4Mi` (pure). */
export function renderPullLayers(view: PullView): string[] {
  return view.layers.map((l) => {
    const amount = l.state === "downloading" ? `  ${formatBytes(l.done)}/${formatBytes(l.size)}` : `  ${formatBytes(l.size)}`;
    return `${shortDigest(l.digest)}  ${l.state.padEnd(11)}${amount}`;
  });
}

/** The summary line on stdout (pure). */
export function pullSummary(image: Extract<PullLine, { type: "done" }>["image"]): string {
  const present = image.blobsPresent > 0 ? `, ${image.blobsPresent} layer${image.blobsPresent === 1 ? "" : "s"} already present` : "";
  return `image/${image.name} pulled (${shortDigest(image.digest)}, ${image.platform}, ${image.layers} layer${image.layers === 1 ? "" : "s"}, ${formatBytes(image.bytesFetched)} fetched${present})\n`;
}

/** Lines of an NDJSON body as they arrive. */
async function* ndjsonLines(body: ReadableStream<Uint8Array>): AsyncGenerator<PullLine> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline = buffered.indexOf("\n");
    while (newline !== -1) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line !== "") yield JSON.parse(line) as PullLine;
      newline = buffered.indexOf("\n");
    }
  }
  if (buffered.trim() !== "") yield JSON.parse(buffered) as PullLine;
}

async function pullImage(ctx: CliContext, realm: string, reference: string, platform: string | undefined): Promise<number> {
  const path = `/v1/realms/${encodeURIComponent(realm)}/images/pull`;
  const response = await ctx.client.request("POST", path, {
    body: JSON.stringify(platform === undefined ? { reference } : { reference, platform }),
    headers: { "content-type": "application/json", accept: "application/x-ndjson" },
  });
  // Refusals before the pull starts (bad reference, unknown realm) are the usual envelope.
  if (!response.ok) await readJson<never>(response, `POST ${path}`); // throws the envelope's error
  if (response.body === null) throw new CliError("failed", `POST ${path}: keond answered without a body`);
  const interactive = ctx.term.interactive && process.stderr.isTTY === true;
  let view: PullView = { name: reference, layers: [] };
  let drawn = 0;
  const draw = (): void => {
    const lines = renderPullLayers(view);
    // Move up over the previous drawing, then rewrite every layer's line.
    const up = drawn > 0 ? `\u001b[${drawn}A` : "";
    ctx.term.err.write(`${up}${lines.map((l) => `\r${l}\u001b[K\n`).join("")}`);
    drawn = lines.length;
  };
  for await (const line of ndjsonLines(response.body)) {
    view = applyPullLine(view, line);
    switch (line.type) {
      case "resolved":
        ctx.err(`pulling ${line.name} (${line.platform}, ${line.layers.length} layer${line.layers.length === 1 ? "" : "s"}, ${formatBytes(line.layers.reduce((s, l) => s + l.size, 0))})\n`);
        if (interactive) draw();
        break;
      case "shared":
        ctx.err(`another pull of ${line.name} is in progress; waiting for it\n`);
        break;
      case "layer":
      case "unpack":
        if (interactive) draw();
        else if (line.type === "layer" && line.state !== "downloading") {
          ctx.err(`${shortDigest(line.digest)}: ${line.state === "present" ? "already present" : `fetched ${formatBytes(line.size)}`}\n`);
        }
        break;
      case "done":
        if (interactive) draw();
        ctx.out(pullSummary(line.image));
        return 0;
      case "error":
        throw new CliError("failed", `${line.error.code ?? "ERROR"}: ${line.error.message ?? "pull failed"}`, {
          ...(line.error.code === undefined ? {} : { code: line.error.code }),
          ...(line.error.details === undefined ? {} : { details: line.error.details }),
        });
    }
  }
  throw new CliError("failed", `the pull of ${reference} ended without a result (keond stopped?)`);
}

export const imageVerb: Verb = {
  name: "image",
  summary: "pull, import, list and remove images",
  usage: "keon image import FILE [--name REF] | ls | rm REF... [--force] | pull REF [--platform OS/ARCH]   [--realm R]",
  help: "Examples: keon image import busybox.tar --name docker.io/library/busybox:latest\n          keon image pull 127.0.0.1:5000/team/app:1.0 --realm prod   (credentials: the realm's spec.registryCredentials)",
  completes: ["import", "ls", "rm", "pull"],
  flags: [
    // The shared realm flag, so KEON_REALM and the current context apply here too.
    SCOPE_FLAGS[0]!,
    { name: "name", type: "string", valueName: "REF", description: "import: which image of a multi-image archive, or the name for its only image (else the archive's own names)" },
    { name: "platform", type: "string", valueName: "OS/ARCH", description: "pull: the platform to pull (default: this host's), e.g. linux/arm64" },
    { name: "force", type: "boolean", description: "rm: remove an image even though cells use it (they cannot be recreated until it is back)" },
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
        const force = booleanFlag(args, "force");
        let failed = 0;
        for (const ref of rest) {
          try {
            await ctx.client.json("DELETE", `/v1/realms/${encodeURIComponent(realm)}/images/${encodeURIComponent(ref)}`, force ? { query: { force: "true" } } : {});
            ctx.out(`image/${ref} removed\n`);
          } catch (error) {
            if (error instanceof CliError && error.kind === "unreachable") throw error;
            failed++;
            ctx.err(`image/${ref}: ${formatError(error)}\n`);
          }
        }
        return failed > 0 ? 1 : 0;
      }
      default: {
        const [reference] = expectPositionals({ ...args, positionals: rest }, 1, 1, "REF: keon image pull REF");
        return await pullImage(ctx, realm, reference as string, stringFlag(args, "platform"));
      }
    }
  },
};
