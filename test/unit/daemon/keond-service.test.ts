/**
 * systemd/keond.service carries the directives keond's design depends on
 * (notify + watchdog, delegation, never killing workloads) and none of the
 * sandboxing options whose effects every container would inherit.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { requirePrerequisites } from "../../harness/binaries.ts";

const REPO = join(import.meta.dir, "../../..");
const UNIT_PATH = join(REPO, "systemd/keond.service");

type Unit = Map<string, Map<string, string[]>>;

/** systemd's unit syntax: [Section], Key=Value, # and ; comments, trailing-backslash continuations. */
function parseUnit(content: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  let pending = "";
  for (const raw of content.split("\n")) {
    const line = pending + raw.trim();
    pending = "";
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    if (line.endsWith("\\")) {
      pending = `${line.slice(0, -1)} `;
      continue;
    }
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1]!, section);
      continue;
    }
    const eq = line.indexOf("=");
    if (section === undefined || eq <= 0) throw new Error(`unparseable unit line: ${line}`);
    const key = line.slice(0, eq).trim();
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return unit;
}

const unit = parseUnit(readFileSync(UNIT_PATH, "utf8"));
const directive = (section: string, key: string): string[] => unit.get(section)?.get(key) ?? [];

describe("systemd/keond.service", () => {
  test("has the Unit, Service and Install sections", () => {
    expect([...unit.keys()]).toEqual(["Unit", "Service", "Install"]);
  });

  test.each([
    ["Type", "notify"],
    ["NotifyAccess", "main"],
    ["WatchdogSec", "30s"],
    ["Delegate", "yes"],
    ["KillMode", "process"],
    ["Restart", "always"],
    ["RestartSec", "2s"],
    ["OOMPolicy", "continue"],
    ["TasksMax", "infinity"],
    ["LimitNOFILE", "1048576"],
    ["StateDirectory", "keon"],
    ["StateDirectoryMode", "0700"],
    ["RuntimeDirectory", "keon"],
    ["RuntimeDirectoryPreserve", "yes"],
  ])("[Service] %s=%s", (key, value) => {
    expect(directive("Service", key)).toEqual([value]);
  });

  test("systemd never stops restarting keond, and it starts at boot", () => {
    expect(directive("Unit", "StartLimitIntervalSec")).toEqual(["0"]);
    expect(directive("Install", "WantedBy")).toEqual(["multi-user.target"]);
  });

  test("ExecStart runs keond's entry point in the bun process itself, where demo.sh installs it", () => {
    expect(directive("Service", "ExecStart")).toEqual(["bun run /opt/keon/src/daemon/main.ts"]);
    expect(existsSync(join(REPO, "src/daemon/main.ts"))).toBe(true);
    expect(readFileSync(join(REPO, "scripts/demo.sh"), "utf8")).toContain("/opt/keon");
    expect(directive("Service", "WorkingDirectory")).toEqual(["/opt/keon"]);
  });

  test("no directive is set twice (a later one would silently win)", () => {
    for (const [name, section] of unit) {
      for (const [key, values] of section) {
        if (key.startsWith("Exec")) continue;
        expect({ section: name, key, count: values.length }).toEqual({ section: name, key, count: 1 });
      }
    }
  });

  // Each of these is inherited by the managed containerd, the shims and so
  // every container (see the comments at the end of the unit).
  test.each([
    "ProtectSystem", "ProtectHome", "PrivateTmp", "ReadWritePaths", "ReadOnlyPaths", "ProtectKernelTunables",
    "ProtectControlGroups", "ProtectKernelModules", "ProtectKernelLogs", "ProtectProc", "PrivateDevices",
    "DevicePolicy", "DeviceAllow", "NoNewPrivileges", "SystemCallFilter", "RestrictAddressFamilies",
    "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute",
    "ProtectClock", "ProtectHostname", "CapabilityBoundingSet", "PrivateNetwork", "IPAddressDeny",
    // Until the OCI spec pins process.oomScoreAdj, containers would inherit it.
    "OOMScoreAdjust",
  ])("does not set %s, which every workload would inherit", (key) => {
    expect(directive("Service", key)).toEqual([]);
  });

  const analyze = Bun.which("systemd-analyze");
  const canVerify = requirePrerequisites("keond.service verify", analyze === null ? ["systemd-analyze"] : [], "Debian: systemd");
  test.skipIf(!canVerify)("systemd-analyze verify finds no unknown or unparseable directive", () => {
    const result = Bun.spawnSync([analyze!, "verify", "--man=no", UNIT_PATH], { timeout: 30_000 });
    const output = `${result.stdout.toString()}${result.stderr.toString()}`;
    // verify exits 0 even for ignored lines; they are reported as "..., ignoring".
    const problems = output.split("\n").filter((l) => l.includes("keond.service") && /ignoring|unknown|failed/i.test(l));
    expect(problems).toEqual([]);
  });
});
