import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GLOBAL_FLAGS } from "../../../src/cli/context.ts";
import { KIND_WORDS } from "../../../src/cli/kinds.ts";
import { completionScript } from "../../../src/cli/output/completion.ts";
import { VERBS } from "../../../src/cli/verbs/index.ts";

const input = { verbs: VERBS.filter((v) => !v.name.startsWith("__")), globalFlags: GLOBAL_FLAGS, kinds: KIND_WORDS };

describe("completion scripts", () => {
  test("bash: valid syntax, and it completes verbs, kinds and flags", () => {
    const script = completionScript("bash", input);
    const dir = mkdtempSync("/tmp/keon-test-completion-");
    try {
      const file = join(dir, "keon.bash");
      writeFileSync(file, script);
      expect(Bun.spawnSync(["bash", "-n", file]).exitCode).toBe(0);
      // Drive the function as bash would: COMP_WORDS/COMP_CWORD in, COMPREPLY out.
      const complete = (words: string[]) => {
        const cword = words.length - 1;
        const program = `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${cword}; _keon; printf '%s\\n' "\${COMPREPLY[@]}"`;
        return Bun.spawnSync([Bun.which("bash") ?? "/bin/bash", "-c", program], { env: { PATH: "/nonexistent" } }).stdout.toString().trim().split("\n");
      };
      expect(complete(["keon", "ge"])).toEqual(["get"]);
      expect(complete(["keon", "get", "ce"])).toEqual(["cell", "cells"]);
      expect(complete(["keon", "get", "cells", "--rea"])).toEqual(["--realm"]);
      expect(complete(["keon", "get", "cells", "-o", "y"])).toEqual(["yaml"]);
      expect(complete(["keon", "stop", "c"])).toEqual(["cell"]);
      expect(complete(["keon", "completion", "f"])).toEqual(["fish"]);
      expect(complete(["keon", "image", "i"])).toEqual(["import"]);
      // Names are asked for at the scope the line already gives (a stand-in keon echoes its arguments).
      const completeWithKeon = (words: string[]) => {
        const program = `source ${file}; keon() { local IFS=_; echo "got_$*"; }; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _keon; printf '%s\\n' "\${COMPREPLY[@]}"`;
        return Bun.spawnSync([Bun.which("bash") ?? "/bin/bash", "-c", program], { env: { PATH: "/nonexistent" } }).stdout.toString().trim();
      };
      expect(completeWithKeon(["keon", "get", "cells", "--realm", "ux", ""])).toBe("got___complete_cells_--realm_ux");
      expect(completeWithKeon(["keon", "describe", "cell", "--space", "=", "s1", "--realm", "ux", ""])).toBe("got___complete_cell_--space_s1_--realm_ux");
      expect(completeWithKeon(["keon", "get", "cells", "--realm", "ux", "--stack", ""])).toBe("got___complete_stacks_--realm_ux");
      expect(completeWithKeon(["keon", "logs", ""])).toBe("got___complete_cells");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("zsh reuses the bash function through bashcompinit; fish lists every verb with its summary", () => {
    expect(completionScript("zsh", input)).toStartWith("#compdef keon\n");
    expect(completionScript("zsh", input)).toContain("bashcompinit");
    const fish = completionScript("fish", input);
    for (const verb of input.verbs) expect(fish).toContain(`-a ${verb.name} -d `);
    expect(fish).toContain("complete -c keon -n '__fish_seen_subcommand_from get' -l output -s o -r");
    expect(fish).toContain("keon __complete");
  });
});
