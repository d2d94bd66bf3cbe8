import { expect, test } from "bun:test";
import { describeDocument } from "../../../../src/cli/output/describe.ts";

const now = new Date("2026-12-07T12:00:00Z");
const space = (status?: Record<string, unknown>) => ({
  kind: "Space",
  metadata: { name: "web", realm: "r" },
  spec: { realmId: "r", network: { egress: { default: "deny", allow: [{ cidr: "10.1.0.0/16" }, { host: "api.test", ports: [443] }] } } },
  ...(status === undefined ? {} : { status }),
});

test("describe space shows the policy in force: counts, resolved and unresolved hosts", () => {
  const text = describeDocument("space", space({
    state: "Ready",
    network: {
      bridgeName: "kn0123456789abc", subnet: "10.77.3.0/24",
      egress: { default: "deny", unconstrained: false, rules: 2, allowedCidrs: 1, allowedPorts: 1, hosts: { "api.test": ["192.0.2.7"] }, unresolved: { "gone.test": "ENOTFOUND" } },
    },
  }), [], now);
  expect(text).toContain("default deny, 2 rule(s): 1 CIDR(s), 1 port rule(s)");
  expect(text).toContain("api.test → 192.0.2.7");
  expect(text).toContain("gone.test (ENOTFOUND)");
  expect(text).toContain("10.77.3.0/24");
});

test("before keond reported it, describe says what the spec asks and that it is not in force yet", () => {
  expect(describeDocument("space", space(), [], now)).toContain("default deny, 2 allow rule(s) (not yet in force)");
});
