/**
 * Fake CNI plugins (small sh scripts) for unit tests of the executor, the
 * chain and attach: each logs its call as one JSON line and answers as told.
 * The real plugins are exercised by test/integration/network-*.test.ts.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type FakeBehaviour =
  | { kind: "ok"; ip?: string }
  /** Pass prevResult through, adding nothing (like portmap). */
  | { kind: "passthrough" }
  | { kind: "cni-error"; code: number; msg: string; details?: string }
  | { kind: "stderr-error"; text: string }
  | { kind: "hang" }
  /** Fails ADD, succeeds on everything else. */
  | { kind: "fail-add"; msg: string }
  /** Fails DEL, succeeds on everything else. */
  | { kind: "fail-del"; msg: string }
  /** Runs `body` (sh) after logging; `$input` holds stdin. */
  | { kind: "script"; body: string };

export interface LoggedCall {
  command: string;
  plugin: string;
  containerId: string;
  netns: string;
  ifName: string;
  cniPath: string;
  stdin: Record<string, unknown>;
}

export class FakePlugins {
  readonly dir = mkdtempSync("/tmp/keon-unit-cni-");
  readonly binDir = join(this.dir, "bin");
  readonly log = join(this.dir, "calls.jsonl");

  constructor() {
    mkdirSync(this.binDir);
    writeFileSync(this.log, "");
  }

  add(type: string, behaviour: FakeBehaviour): this {
    const answer = answerOf(type, behaviour);
    const script = `#!/bin/sh
input=$(cat)
printf '{"command":"%s","plugin":"%s","containerId":"%s","netns":"%s","ifName":"%s","cniPath":"%s","stdin":%s}\\n' \\
  "$CNI_COMMAND" "${type}" "$CNI_CONTAINERID" "$CNI_NETNS" "$CNI_IFNAME" "$CNI_PATH" "$input" >> ${this.log}
${answer}
`;
    const path = join(this.binDir, type);
    writeFileSync(path, script);
    chmodSync(path, 0o755);
    return this;
  }

  calls(): LoggedCall[] {
    return readFileSync(this.log, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as LoggedCall);
  }

  clearCalls(): void {
    writeFileSync(this.log, "");
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function answerOf(type: string, b: FakeBehaviour): string {
  const result = (ip: string) =>
    `{"cniVersion":"1.0.0","interfaces":[{"name":"${type}0"},{"name":"eth0","sandbox":"$CNI_NETNS"}],"ips":[{"interface":1,"address":"${ip}/24","gateway":"10.9.0.1"}]}`;
  // sh's `case` keeps each behaviour to one command per CNI command.
  switch (b.kind) {
    case "ok":
      return `case "$CNI_COMMAND" in ADD) printf '%s' '${result(b.ip ?? "10.9.0.2")}' | sed "s#\\$CNI_NETNS#$CNI_NETNS#";; esac; exit 0`;
    case "passthrough":
      return `case "$CNI_COMMAND" in ADD) printf '%s' "$input" | ${process.execPath} -e 'process.stdout.write(JSON.stringify(JSON.parse(await Bun.stdin.text()).prevResult))';; esac; exit 0`;
    case "cni-error":
      return `printf '%s' '{"cniVersion":"1.0.0","code":${b.code},"msg":"${b.msg}"${b.details ? `,"details":"${b.details}"` : ""}}'; exit 1`;
    case "stderr-error":
      return `echo '${b.text}' >&2; exit 2`;
    case "hang":
      return "exec sleep 30";
    case "fail-add":
      return `case "$CNI_COMMAND" in ADD) printf '%s' '{"cniVersion":"1.0.0","code":11,"msg":"${b.msg}"}'; exit 1;; esac; exit 0`;
    case "script":
      return b.body;
    case "fail-del":
      return `case "$CNI_COMMAND" in ADD) printf '%s' '${result("10.9.0.3")}';; DEL) printf '%s' '{"cniVersion":"1.0.0","code":11,"msg":"${b.msg}"}'; exit 1;; esac; exit 0`;
  }
}
