/**
 * @module
 * linux.devices and the device cgroup rules. Every container starts from
 * containerd's deny-all plus its default allow list; each requested host
 * device adds its node and a matching allow rule (containerd's
 * WithLinuxDevice). The runtime stats the host and passes what it found in
 * HostFacts, so a device that is not there is refused here, by field, instead
 * of failing later inside runc.
 *
 * Privileged containers may use every device, but get nodes only for the
 * devices they list: the builder has no list of the host's /dev, and a
 * privileged container can mknod what else it needs.
 */
import type { ContainerSpec } from "../model/schema/container.ts";
import { allDevicesAllowed, defaultDeviceRules } from "./defaults.ts";
import type { HostDevice, HostFacts } from "./inputs.ts";
import { refuse } from "./refuse.ts";
import type { OciDevice, OciDeviceCgroup } from "./types.ts";

export interface DeviceSetup {
  devices: OciDevice[];
  rules: OciDeviceCgroup[];
}

function ociDevice(path: string, fact: HostDevice): OciDevice {
  const device: OciDevice = { path, type: fact.type, major: fact.major, minor: fact.minor };
  // Callers may pass a raw st_mode; runc wants permission bits only and adds the type itself.
  if (fact.fileMode !== undefined) device.fileMode = fact.fileMode & 0o7777;
  if (fact.uid !== undefined) device.uid = fact.uid;
  if (fact.gid !== undefined) device.gid = fact.gid;
  return device;
}

export function containerDevices(container: ContainerSpec, host: HostFacts): DeviceSetup {
  const devices: OciDevice[] = [];
  const rules = container.privileged === true ? allDevicesAllowed() : defaultDeviceRules();
  const seen = new Set<string>();
  (container.devices ?? []).forEach((path, i) => {
    const fact = Object.hasOwn(host.devices, path) ? host.devices[path] : undefined;
    if (fact === undefined) throw refuse(`devices[${i}]`, `no device ${path} on this host`);
    if (fact.type !== "c" && fact.type !== "b") throw refuse(`devices[${i}]`, `${path} is not a character or block device`);
    // A path listed twice is one device; a second node and rule would only repeat the first.
    if (seen.has(path)) return;
    seen.add(path);
    devices.push(ociDevice(path, fact));
    if (container.privileged !== true) {
      rules.push({ allow: true, type: fact.type, major: fact.major, minor: fact.minor, access: "rwm" });
    }
  });
  return { devices, rules };
}
