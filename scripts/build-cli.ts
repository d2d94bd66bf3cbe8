/**
 * @module
 * Builds the installed form of `keon`: one CommonJS bundle of the CLI with
 * Bun's bytecode beside it (`<dir>/main.js`, `<dir>/main.js.jsc`). Started
 * from the sources, `keon` spends ~90 ms resolving and transpiling ~200
 * modules before it sends its request; the bundle starts in ~25 ms, which
 * an operator feels on every command. The bytecode is only valid for the
 * Bun that built it (pinned in package.json): a different Bun ignores it
 * and runs the bundle's JavaScript.
 *
 *   bun scripts/build-cli.ts DIR
 */
import { join } from "node:path";

export const CLI_SOURCE = join(import.meta.dir, "..", "src", "cli", "main.ts");

/** Builds the bundle into `outDir`; returns the path to run (`bun <path> ARGS`). */
export async function buildCli(outDir: string): Promise<string> {
  const built = await Bun.build({ entrypoints: [CLI_SOURCE], outdir: outDir, target: "bun", format: "cjs", bytecode: true });
  if (!built.success) throw new Error(`building the keon CLI failed:\n${built.logs.map(String).join("\n")}`);
  return join(outDir, "main.js");
}

if (import.meta.main) {
  const outDir = process.argv[2];
  if (outDir === undefined) {
    console.error("usage: bun scripts/build-cli.ts DIR");
    process.exit(2);
  }
  console.log(await buildCli(outDir));
}
