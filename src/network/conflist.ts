/**
 * @module
 * The CNI network configuration list of a space, as a pure function of its
 * names and subnet: bridge (with host-local IPAM) then portmap.
 *
 * No `firewall` plugin: in containernetworking-plugins 1.1.1 (Debian 12) its
 * DEL without prevResult leaves the per-IP ACCEPT rules in CNI-FORWARD, and
 * even with prevResult it leaves the shared CNI-FORWARD/CNI-ADMIN chains and
 * the FORWARD jump behind. A cached result is missing exactly when something
 * already went wrong (a crash mid-ADD), so the rules would leak when it
 * matters. Its only job (ACCEPT in a FORWARD chain whose policy is DROP) is
 * left to Keon's own egress rules.
 */
import { KeonError } from "../model/errors.ts";
import { formatIpv4, gatewayOf, parseCidr } from "./cidr.ts";
import { isCniIdentifier, MAX_BRIDGE_NAME_LENGTH } from "./network-names.ts";

export const CNI_VERSION = "1.0.0";

/** One plugin's entry in a conflist: `type` names the binary, the rest is its own. */
export interface CniPluginConfig {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface CniConflist {
  cniVersion: string;
  name: string;
  plugins: CniPluginConfig[];
}

export interface SpaceNetworkInput {
  networkName: string;
  bridgeName: string;
  /** The space's subnet, e.g. `10.88.3.0/24`; its first address is the gateway. */
  subnet: string;
  /** host-local's dataDir (Keon-owned, see network-paths.ts). */
  ipamDataDir: string;
}

export function buildSpaceConflist(input: SpaceNetworkInput): CniConflist {
  if (!isCniIdentifier(input.networkName)) {
    throw new KeonError("INVALID_CONFIGURATION", `'${input.networkName}' is not a valid CNI network name`, {
      details: { networkName: input.networkName },
    });
  }
  if (!/^[a-zA-Z0-9_.-]+$/.test(input.bridgeName) || input.bridgeName.length > MAX_BRIDGE_NAME_LENGTH) {
    throw new KeonError("INVALID_CONFIGURATION", `'${input.bridgeName}' is not a valid interface name (at most ${MAX_BRIDGE_NAME_LENGTH} characters)`, {
      details: { bridgeName: input.bridgeName },
    });
  }
  const block = parseCidr(input.subnet, "subnet");
  return {
    cniVersion: CNI_VERSION,
    name: input.networkName,
    plugins: [
      {
        type: "bridge",
        bridge: input.bridgeName,
        isGateway: true,
        ipMasq: true,
        // A cell reaching its own published port through the host comes back over the bridge.
        hairpinMode: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: input.subnet, gateway: formatIpv4(gatewayOf(block)) }]],
          dataDir: input.ipamDataDir,
          routes: [{ dst: "0.0.0.0/0" }],
        },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}

/** Stable bytes for a conflist: the file is rewritten only when these change. */
export function serializeConflist(conflist: CniConflist): string {
  return `${JSON.stringify(conflist, null, 2)}\n`;
}

/** Reads back a conflist Keon wrote; anything else is NETWORK_ERROR naming the file. */
export function parseConflist(text: string, source: string): CniConflist {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new KeonError("NETWORK_ERROR", `${source} is not JSON: ${(cause as Error).message}`, { cause, details: { source } });
  }
  const candidate = value as Partial<CniConflist> | null;
  if (
    candidate === null || typeof candidate !== "object" ||
    typeof candidate.cniVersion !== "string" || typeof candidate.name !== "string" ||
    !Array.isArray(candidate.plugins) ||
    !candidate.plugins.every((p) => p !== null && typeof p === "object" && typeof (p as CniPluginConfig).type === "string")
  ) {
    throw new KeonError("NETWORK_ERROR", `${source} is not a CNI conflist (cniVersion, name, plugins[].type)`, { details: { source } });
  }
  return candidate as CniConflist;
}
