/**
 * The admission policy (model/policy.ts) as a pure function: every rule at
 * every level, the field it names, and the level that forbids it.
 */
import { describe, expect, test } from "bun:test";
import { isUnder, policyIssues, type PolicyContext, type PolicyLevel } from "../../../src/model/policy.ts";
import { parseDocument } from "../../../src/model/parse.ts";

const context = (level: PolicyLevel, extra: Partial<PolicyContext> = {}): PolicyContext => ({
  level, realm: "r", hostPathPrefixes: ["/srv/keon"], secretFileDirs: ["/etc/keon/secrets"], ...extra,
});

function cell(container: Record<string, unknown>, spec: Record<string, unknown> = {}) {
  return parseDocument({
    kind: "Cell", metadata: { name: "c" },
    spec: { realmId: "r", spaceId: "s", stackId: "k", containers: [{ id: "app", image: "busybox:1", ...container }], ...spec },
  });
}

const paths = (level: PolicyLevel, container: Record<string, unknown>, spec: Record<string, unknown> = {}, extra: Partial<PolicyContext> = {}) =>
  policyIssues(cell(container, spec), context(level, extra)).map((i) => i.path);

/** A container that restricted accepts: the base every restricted case changes one field of. */
const RESTRICTED_OK = { user: "1000:1000", capabilities: { drop: ["ALL"] }, securityOpts: ["no-new-privileges"] };

const P = "spec.containers[0].";

/** [name, container fields, cell spec fields, forbidden from level, the path named]. */
const RULES: Array<[string, Record<string, unknown>, Record<string, unknown>, PolicyLevel, string]> = [
  ["privileged", { privileged: true }, {}, "baseline", `${P}privileged`],
  ["hostNetwork", { hostNetwork: true }, {}, "baseline", `${P}hostNetwork`],
  ["hostPID", { hostPID: true }, {}, "baseline", `${P}hostPID`],
  ["hostCgroup", { hostCgroup: true }, {}, "baseline", `${P}hostCgroup`],
  ["a device", { devices: ["/dev/fuse"] }, {}, "baseline", `${P}devices[0]`],
  ["SYS_ADMIN added", { capabilities: { add: ["SYS_ADMIN"] } }, {}, "baseline", `${P}capabilities.add[0]`],
  ["ALL added", { capabilities: { add: ["ALL"] } }, {}, "baseline", `${P}capabilities.add[0]`],
  ["CAP_NET_RAW added", { capabilities: { add: ["cap_net_raw"] } }, {}, "baseline", `${P}capabilities.add[0]`],
  ["seccomp=unconfined", { securityOpts: ["seccomp=unconfined"] }, {}, "baseline", `${P}securityOpts[0]`],
  ["tmpfs suid", { tmpfs: [{ path: "/t", options: ["suid"] }] }, {}, "baseline", `${P}tmpfs[0].options[0]`],
  ["tmpfs dev", { tmpfs: [{ path: "/t", options: ["size=1m", "dev"] }] }, {}, "baseline", `${P}tmpfs[0].options[1]`],
  ["a host bind outside the prefixes", { volumes: [{ source: "/etc", target: "/e" }] }, {}, "baseline", `${P}volumes[0].source`],
  ["a bind kind outside the prefixes", { volumes: [{ kind: "bind", source: "/srv/keonx", target: "/e" }] }, {}, "baseline", `${P}volumes[0].source`],
  ["ensure outside the prefixes", { volumes: [{ source: "/var/new", target: "/e", ensure: true }] }, {}, "baseline", `${P}volumes[0].source`],
  ["fromFile outside the directories", { secrets: [{ name: "T", fromFile: "/etc/shadow" }] }, {}, "baseline", `${P}secrets[0].fromFile`],
  ["nestedCgroupRuntime", {}, { nestedCgroupRuntime: true }, "baseline", "spec.nestedCgroupRuntime"],
  ["CHOWN added (baseline set, not restricted's)", { capabilities: { add: ["CHOWN"], drop: ["ALL"] } }, {}, "restricted", `${P}capabilities.add[0]`],
  ["tmpfs exec", { tmpfs: [{ path: "/t", options: ["exec"] }] }, {}, "restricted", `${P}tmpfs[0].options[0]`],
  ["a writable host bind under a prefix", { volumes: [{ source: "/srv/keon/data", target: "/d" }] }, {}, "restricted", `${P}volumes[0].readOnly`],
  ["ensure under a prefix", { volumes: [{ source: "/srv/keon/new", target: "/d", readOnly: true, ensure: true }] }, {}, "restricted", `${P}volumes[0].ensure`],
];

describe("policyIssues", () => {
  for (const [name, container, spec, from, path] of RULES) {
    test(`${name}: allowed at privileged${from === "restricted" ? " and baseline" : ""}, refused from ${from} naming ${path}`, () => {
      const fields = from === "restricted" ? { ...RESTRICTED_OK, ...container } : container;
      expect(paths("privileged", fields, spec)).toEqual([]);
      if (from === "restricted") expect(paths("baseline", fields, spec)).toEqual([]);
      const restricted = policyIssues(cell({ ...RESTRICTED_OK, ...container }, spec), context("restricted"));
      expect(restricted.map((i) => i.path)).toContain(path);
      if (from === "baseline") {
        const baseline = policyIssues(cell(container, spec), context("baseline"));
        expect(baseline.map((i) => i.path)).toEqual([path]);
        expect(baseline[0]!.level).toBe("baseline");
        expect(baseline[0]!.message).toContain("policy level 'baseline' of realm 'r'");
      }
    });
  }

  test("restricted requires a non-root user, drop ALL and no-new-privileges", () => {
    expect(paths("restricted", {})).toEqual([`${P}capabilities.drop`, `${P}securityOpts`, `${P}user`]);
    expect(paths("restricted", { ...RESTRICTED_OK, user: "root" })).toEqual([`${P}user`]);
    expect(paths("restricted", { ...RESTRICTED_OK, user: "0:0" })).toEqual([`${P}user`]);
    expect(paths("restricted", { ...RESTRICTED_OK, securityOpts: ["no-new-privileges=false"] })).toEqual([`${P}securityOpts`]);
    expect(paths("restricted", RESTRICTED_OK)).toEqual([]);
    expect(paths("restricted", { ...RESTRICTED_OK, capabilities: { add: ["NET_BIND_SERVICE"], drop: ["all"] } })).toEqual([]);
  });

  test("baseline allows what Kubernetes' baseline allows: its capabilities, seccomp profiles, no-new-privileges, plain tmpfs, published ports", () => {
    expect(paths("baseline", {
      capabilities: { add: ["NET_BIND_SERVICE", "CAP_CHOWN", "kill"] }, securityOpts: ["seccomp=/etc/profile.json", "no-new-privileges=false"],
      tmpfs: [{ path: "/t", options: ["size=1m", "noexec"] }], ports: ["127.0.0.1:8080:8080"], user: "root",
    })).toEqual([]);
  });

  test("host binds and fromFile under the configured prefixes pass baseline, compared by whole path components", () => {
    expect(paths("baseline", { volumes: [{ source: "/srv/keon", target: "/a" }, { source: "/srv/keon/x/y", target: "/b", ensure: true }] })).toEqual([]);
    expect(paths("baseline", { secrets: [{ name: "T", fromFile: "/etc/keon/secrets/token" }] })).toEqual([]);
    expect(paths("baseline", { volumes: [{ source: "/srv/keon-other", target: "/a" }] })).toEqual([`${P}volumes[0].source`]);
    expect(paths("baseline", { volumes: [{ kind: "tmpfs", target: "/a" }, { kind: "volume", target: "/v", volumeRef: { name: "v", realm: "r" } }] })).toEqual([]);
  });

  test("with no prefix configured, every host bind is refused below privileged and the message says none is allowed", () => {
    const issues = policyIssues(cell({ volumes: [{ source: "/srv/keon", target: "/a" }] }), context("baseline", { hostPathPrefixes: [] }));
    expect(issues[0]!.message).toContain("none is allowed");
  });

  test("symlinks are judged by where they lead: the resolver runs before the check", () => {
    const links: Record<string, string> = { "/srv/keon/escape": "/etc", "/srv/keon/escape/passwd": "/etc/passwd" };
    const resolvePath = (p: string) => links[p] ?? p;
    expect(paths("baseline", { volumes: [{ source: "/srv/keon/escape", target: "/e" }] }, {}, { resolvePath })).toEqual([`${P}volumes[0].source`]);
    expect(paths("baseline", { secrets: [{ name: "T", fromFile: "/srv/keon/escape/passwd" }] }, {}, { resolvePath, secretFileDirs: ["/srv/keon"] })).toEqual([`${P}secrets[0].fromFile`]);
  });

  test("a Container document is judged like a cell's container, its fields under spec.", () => {
    const document = parseDocument({ kind: "Container", metadata: { name: "side" }, spec: { realmId: "r", spaceId: "s", stackId: "k", cellId: "c", image: "b", hostPID: true } });
    expect(policyIssues(document, context("baseline")).map((i) => i.path)).toEqual(["spec.hostPID"]);
  });

  test("other kinds have nothing to judge", () => {
    expect(policyIssues(parseDocument({ kind: "Realm", metadata: { name: "r" } }), context("restricted"))).toEqual([]);
  });

  test("isUnder compares whole components", () => {
    expect(isUnder("/srv/a", "/srv")).toBe(true);
    expect(isUnder("/srv", "/srv/")).toBe(true);
    expect(isUnder("/srvx", "/srv")).toBe(false);
    expect(isUnder("/anything", "/")).toBe(true);
  });
});
