/**
 * @module
 * Keon's cgroups: host detection, the pure delegation plan and container
 * layout, their application to a (injectable) cgroup hierarchy, removal, and
 * the `keon status` report.
 */
export { nodeCgroupFs, type CgroupFs } from "./cgroup-fs.ts";
export { cgroupError, type CgroupAction, type CgroupFailure } from "./cgroup-errors.ts";
export { parseControllerList, RESOURCE_CONTROLLERS, sortControllers, V2_CONTROLLERS, v2NameOfV1Controller } from "./controllers.ts";
export {
  cgroupModeOf, detectCgroupHost, hierarchyMountPoints, HYBRID_UNIFIED_MOUNT_POINT, unifiedPathOf, V2_MOUNT_POINT,
  type CgroupHost, type CgroupMode, type CgroupMount, type DetectOptions, type V1Hierarchy,
} from "./detect.ts";
export {
  delegationSets, levelsBetween, parentLevel, planDelegation, refuseUnsupportedWant,
  type CgroupWrite, type DelegationPlan, type DelegationPlanInput, type DelegationSets, type DelegationSetsInput,
  type DelegationWant, type NotDelegated,
} from "./delegation-plan.ts";
export { containerCgroupLayout, PROCESS_LEAF, relativeCgroupPath, type ContainerCgroupLayout } from "./container-layout.ts";
export {
  adoptIntoProcessLeaf, applyDelegationPlan, readAvailableControllers, readSubtreeControllers,
  type AppliedDelegation, type AppliedLevel, type CgroupTarget,
} from "./apply.ts";
export { removeCellCgroups, removeLevels, type RemoveOptions } from "./remove.ts";
export { hostCgroupStatus } from "./host-status.ts";
export { cgroupReport, type CgroupReport, type CgroupReportInput, type InnerRuntimeControllers } from "./report.ts";
