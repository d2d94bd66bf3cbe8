import { describe, expect, test } from "bun:test";
import { formatApplyResults, formatSummary } from "../../../../src/cli/output/apply-results.ts";
import { describeDocument, describeImage, formatEvents } from "../../../../src/cli/output/describe.ts";
import { renderBar, progressReporter } from "../../../../src/cli/output/progress.ts";
import { containerTable, documentTable, imageTable } from "../../../../src/cli/output/rows.ts";
import { columnWidths, formatAge, formatBytes, renderRow, renderTable, shortDigest } from "../../../../src/cli/output/table.ts";
import { colorAllowed, paint } from "../../../../src/cli/output/terminal.ts";

const now = new Date("2025-01-01T12:00:00Z");
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();
const plain = { wide: false, allScopes: false, color: false, now };

describe("tables", () => {
  test("columns padded by three spaces, colour codes not counted", () => {
    const table = renderTable(["NAME", "STATE"], [["web", paint(true, "green", "Ready")], ["a-longer-name", "Error"]]);
    const lines = table.replace(/\u001b\[[0-9;]*m/g, "").split("\n");
    expect(lines[0]).toBe("NAME            STATE");
    expect(lines[1]).toBe("web             Ready");
    expect(lines[2]).toBe("a-longer-name   Error");
    expect(renderRow(["x", "y"], columnWidths(["NAME", "STATE"], []))).toBe("x      y");
  });

  test("AGE like kubectl; sizes in binary units; short digests", () => {
    expect(formatAge(ago(5), now)).toBe("5s");
    expect(formatAge(ago(600), now)).toBe("10m");
    expect(formatAge(ago(3 * 3600), now)).toBe("3h");
    expect(formatAge(ago(5 * 86400), now)).toBe("5d");
    expect(formatAge(undefined, now)).toBe("<unknown>");
    expect(formatAge("garbage", now)).toBe("<unknown>");
    expect(formatBytes(512)).toBe("512B");
    expect(formatBytes(1536)).toBe("1.5Ki");
    expect(formatBytes(3 * 1024 ** 3)).toBe("3.0Gi");
    expect(formatBytes(undefined)).toBe("-");
    expect(shortDigest(`sha256:${"a".repeat(64)}`)).toBe("sha256:aaaaaaaaaaaa");
  });

  test("cells: STATE, READY, RESTARTS and IP; -A adds the scope; wide adds containers and images", () => {
    const cell = {
      kind: "Cell",
      metadata: { name: "web" },
      spec: { realmId: "r", spaceId: "s", stackId: "t", containers: [{ id: "app", image: "busybox" }, { id: "side", image: "nginx" }] },
      status: {
        state: "Degraded", createdAt: ago(90), network: { ip: "10.1.0.2" },
        containers: [{ name: "root", state: "Ready" }, { name: "app", state: "Ready", restartCount: 1 }, { name: "side", state: "Error", restartCount: 3, exitCode: 2 }],
      },
    };
    expect(documentTable("cell", [cell], plain)).toEqual({
      headers: ["NAME", "STATE", "READY", "RESTARTS", "IP", "AGE"],
      rows: [["web", "Degraded", "1/2", "4", "10.1.0.2", "90s"]],
    });
    const wide = documentTable("cell", [cell], { ...plain, wide: true, allScopes: true });
    expect(wide.headers).toEqual(["REALM", "SPACE", "STACK", "NAME", "STATE", "READY", "RESTARTS", "IP", "AGE", "CONTAINERS", "IMAGES", "MESSAGE"]);
    expect(wide.rows[0]).toEqual(["r", "s", "t", "web", "Degraded", "1/2", "4", "10.1.0.2", "90s", "app,side", "busybox,nginx", "-"]);
    // A cell nobody has reconciled yet.
    expect(documentTable("cell", [{ kind: "Cell", metadata: { name: "new" }, spec: { containers: [] } }], plain).rows[0]).toEqual(["new", "Unknown", "0/0", "0", "-", "<unknown>"]);
  });

  test("containers: RESTARTS and EXIT from their status; realms, secrets, volumes, images", () => {
    const container = {
      kind: "Container", metadata: { name: "app" },
      spec: { id: "app", image: "busybox", realmId: "r", spaceId: "s", stackId: "t", cellId: "web" },
      status: { name: "app", id: "s_t_web_app", state: "Error", restartCount: 3, exitCode: 1 },
    };
    expect(containerTable([container], plain).rows[0]).toEqual(["app", "web", "Error", "3", "1", "-"]);
    expect(containerTable([container], { ...plain, wide: true }).rows[0]).toEqual(["app", "web", "Error", "3", "1", "-", "-", "busybox", "s_t_web_app"]);
    // Crash facts: AGE from the running instance's start, LAST from how the latest instance ended.
    const crashed = {
      ...container,
      status: {
        name: "app", id: "s_t_web_app", state: "Ready", restartCount: 2, startTime: ago(30),
        lastState: { exitCode: 137, signal: "SIGKILL", reason: "Error", startedAt: ago(400), finishedAt: ago(150) },
      },
    };
    const wideCrash = containerTable([crashed], { ...plain, wide: true });
    expect(wideCrash.headers).toEqual(["NAME", "CELL", "STATE", "RESTARTS", "EXIT", "AGE", "LAST", "IMAGE", "CONTAINERD ID"]);
    expect(wideCrash.rows[0]).toEqual(["app", "web", "Ready", "2", "-", "30s", "137 SIGKILL 2m ago", "busybox", "s_t_web_app"]);
    const oom = { ...crashed, status: { ...crashed.status, lastState: { exitCode: 137, signal: "SIGKILL", reason: "OOMKilled", finishedAt: ago(5) } } };
    expect(containerTable([oom], { ...plain, wide: true }).rows[0]![6]).toBe("OOMKilled 5s ago");
    expect(documentTable("realm", [{ kind: "Realm", metadata: { name: "r" }, spec: { namespace: "r.keon" }, status: { state: "Ready", createdAt: ago(60) } }], plain).rows[0]).toEqual(["r", "r.keon", "Ready", "60s"]);
    expect(documentTable("secret", [{ kind: "Secret", metadata: { name: "db", realm: "r", space: "s" }, spec: {} }], plain)).toEqual({ headers: ["NAME", "SCOPE", "AGE"], rows: [["db", "r/s", "<unknown>"]] });
    expect(documentTable("volume", [{ kind: "Volume", metadata: { name: "data", realm: "r" }, spec: { reclaimPolicy: "Retain" } }], plain).rows[0]).toEqual(["data", "r", "Retain", "<unknown>"]);
    expect(imageTable([{ name: "busybox:1", digest: `sha256:${"b".repeat(64)}`, size: 1024 * 1024, createdAt: ago(30), realm: "r" }], { ...plain, allScopes: true }).rows[0]).toEqual(["r", "busybox:1", "sha256:bbbbbbbbbbbb", "1.0Mi", "-", "30s"]);
    const used = imageTable([{ name: "busybox:1", digest: `sha256:${"b".repeat(64)}`, size: 1024, createdAt: ago(30), cells: ["s/t/a", "s/t/b"] }], plain);
    expect(used.headers).toEqual(["NAME", "DIGEST", "SIZE", "CELLS", "AGE"]);
    expect(used.rows[0]?.[3]).toBe("s/t/a,s/t/b");
  });

  test("colour only on a TTY and never with NO_COLOR", () => {
    expect(colorAllowed({ isTTY: true }, {})).toBe(true);
    expect(colorAllowed({ isTTY: false }, {})).toBe(false);
    expect(colorAllowed({ isTTY: true }, { NO_COLOR: "1" })).toBe(false);
    expect(colorAllowed({ isTTY: true }, { TERM: "dumb" })).toBe(false);
    expect(paint(false, "red", "x")).toBe("x");
    expect(paint(true, "red", "x")).toBe("\u001b[31mx\u001b[0m");
  });
});

describe("apply, describe, progress", () => {
  test("apply prints kind/name result lines and a summary", () => {
    const text = formatApplyResults({
      results: [
        { kind: "Realm", name: "r", result: "unchanged" },
        { kind: "Secret", name: "db", scope: { realm: "r", space: "s", stack: "", cell: "" }, result: "created" },
        { kind: "Cell", name: "web", result: "updated" },
      ],
      summary: { created: 1, updated: 1, unchanged: 1, failed: 0 },
    }, false);
    expect(text).toBe("realm/r unchanged\nsecret/db (r/s) created\ncell/web updated\n3 resources: 1 created, 1 updated, 1 unchanged\n");
    expect(formatSummary({ created: 0, updated: 0, unchanged: 0, failed: 1 })).toBe("1 resource: 0 created, 0 updated, 0 unchanged, 1 failed");
  });

  test("describe shows the state, the containers with exit codes and restarts, and the events", () => {
    const cell = {
      kind: "Cell",
      metadata: { name: "web", generation: 2, labels: { app: "web" } },
      spec: { realmId: "r", spaceId: "s", stackId: "t", containers: [{ id: "app", image: "busybox", command: "/bin/sh", args: ["-c", "exit 3"] }] },
      status: { state: "Error", reason: "ContainerFailed", observedGeneration: 2, createdAt: ago(120), network: { ip: "10.1.0.9" }, containers: [{ name: "root", state: "Ready" }, { name: "app", state: "Error", exitCode: 3, restartCount: 2, lastState: { exitCode: 3, reason: "Error", finishedAt: ago(30) } }] },
    };
    const text = describeDocument("cell", cell, [{ time: ago(10), type: "Warning", reason: "BackOff", message: "app exited 3" }], now);
    expect(text).toContain("Name:        web\n");
    expect(text).toContain("Scope:       r/s/t\n");
    expect(text).toContain("Labels:      app=web\n");
    expect(text).toContain("State:       Error\n");
    expect(text).toContain("Reason:      ContainerFailed\n");
    expect(text).toContain("Generation:  2 (observed 2)\n");
    expect(text).toMatch(/root \(keon root\)\s+-\s+Ready/);
    expect(text).toMatch(/app\s+busybox\s+Error\s+2\s+3\s+3 30s ago\s+\/bin\/sh -c exit 3/);
    const container = {
      kind: "Container", metadata: { name: "app" }, spec: { cellId: "web", image: "busybox" },
      status: { state: "Ready", restartCount: 1, startTime: ago(5), lastState: { exitCode: 137, signal: "SIGKILL", reason: "OOMKilled", finishedAt: ago(6) } },
    };
    const described = describeDocument("container", container, [], now);
    expect(described).toContain(`Started:        ${ago(5)} (5s ago)\n`);
    expect(described).toContain("Last state:     OOMKilled 6s ago\n");
    expect(text).toMatch(/Events:\n  AGE\s+TYPE\s+REASON\s+MESSAGE\n  10s\s+Warning\s+BackOff\s+app exited 3\n$/);
    expect(describeDocument("secret", { kind: "Secret", metadata: { name: "db", realm: "r" }, spec: {} }, [], now)).toContain("<write-only: never shown>");
    expect(describeImage({ name: "busybox:1", digest: "sha256:x", size: 2048, createdAt: ago(5) }, now)).toContain("Size:       2.0Ki");
    expect(formatEvents([{ time: ago(1), type: "Normal", reason: "Ready", kind: "Cell", name: "web", message: "ok" }], now, true)).toContain("cell/web");
  });

  test("a progress bar on a terminal, plain quarter lines elsewhere", () => {
    expect(renderBar(50, 100, 1000, 10)).toBe("[=====>    ]  50%  50B/100B  50B/s");
    expect(renderBar(100, 100, 0, 10)).toBe("[==========] 100%  100B/100B");
    const lines: string[] = [];
    let t = 0;
    const plainProgress = progressReporter({ write: (s: string) => lines.push(s) }, false, "uploading x.tar", 400, () => t);
    for (const done of [50, 100, 150, 200, 300, 400]) {
      t += 200;
      plainProgress.update(done);
    }
    plainProgress.phase("unpacking");
    plainProgress.finish("done");
    // Without a TTY the lines reach 100 %, then name the next phase.
    expect(lines).toEqual([
      "uploading x.tar: 400B\n",
      "uploading x.tar: 25% (100B of 400B)\n",
      "uploading x.tar: 50% (200B of 400B)\n",
      "uploading x.tar: 75% (300B of 400B)\n",
      "uploading x.tar: 100% (400B of 400B)\n",
      "unpacking\n",
      "done\n",
    ]);
    // A transfer whose last update fell short of the total (the last chunk unreported) still ends at 100 %.
    const short: string[] = [];
    const shortProgress = progressReporter({ write: (s: string) => short.push(s) }, false, "up", 400, () => t);
    shortProgress.update(390);
    shortProgress.finish("done");
    expect(short.slice(-2)).toEqual(["up: 100% (400B of 400B)\n", "done\n"]);
    const drawn: string[] = [];
    const bar = progressReporter({ write: (s: string) => drawn.push(s) }, true, "up", 100, () => t);
    bar.update(10);
    bar.update(20);
    t += 500;
    bar.update(30);
    bar.phase("unpacking into realm r");
    bar.finish("ok");
    expect(drawn.every((d) => !d.includes("\n") || d.endsWith("\n"))).toBe(true);
    expect(drawn[0]?.startsWith("\rup [")).toBe(true);
    // On a terminal the bar ends full and the unpacking phase gets its own line instead of a bar sitting at 100 %.
    expect(drawn.slice(2)).toEqual([`\rup ${renderBar(100, 100, 500)}\u001b[K\n`, "unpacking into realm r\n", "ok\n"]);
  });
});
