/**
 * @module
 * The `keon` CLI on a real terminal for e2e tests: util-linux `script` gives
 * it a pty, so raw mode, resize and the ^]^] detach keys behave as for an
 * operator.
 */
import { KEON_CLI } from "./keon-cli.ts";
import { waitUntil } from "./wait.ts";

const shQuote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/** `keon ARGS…` (attach, run --attach) on its own pty (util-linux `script`), with what it printed so far and a way to type. */
export class PtyKeon {
  readonly child: ReturnType<typeof Bun.spawn<"pipe", "pipe", "pipe">>;
  out = "";
  private readonly reading: Promise<void>;

  constructor(socket: string, args: string[]) {
    const inner = `stty cols 100 rows 30; exec ${shQuote(process.execPath)} run ${shQuote(KEON_CLI)} ${args.map(shQuote).join(" ")}`;
    this.child = Bun.spawn(["script", "-qfec", inner, "/dev/null"], {
      stdin: "pipe", stdout: "pipe", stderr: "pipe", env: { ...process.env, KEON_SOCKET: socket, TERM: "xterm" },
    });
    const stdout = this.child.stdout;
    this.reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of stdout) this.out += decoder.decode(chunk, { stream: true });
    })();
  }

  type(text: string): void {
    this.child.stdin.write(text);
    this.child.stdin.flush();
  }

  async waitFor(pattern: RegExp, what: string): Promise<RegExpMatchArray> {
    await waitUntil(() => pattern.test(this.out), `${what} (seen: ${JSON.stringify(this.out.slice(-300))})`, 15_000);
    return this.out.match(pattern)!;
  }

  /** Types a command until its computed answer shows (a line typed before the attach is fully open is lost). */
  async ask(command: string, answer: RegExp, what: string): Promise<RegExpMatchArray> {
    await waitUntil(() => {
      if (answer.test(this.out)) return true;
      this.type(`${command}\n`);
      return false;
    }, `${what} (seen: ${JSON.stringify(this.out.slice(-300))})`, 15_000, 1_000);
    return this.out.match(answer)!;
  }

  async close(): Promise<number> {
    const code = await this.child.exited;
    await this.reading;
    return code;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}
