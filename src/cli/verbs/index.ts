/**
 * @module
 * Every verb of `keon`, in the order `keon --help` lists them.
 */
import type { Verb } from "../context.ts";
import { applyVerb } from "./apply.ts";
import { attachVerb } from "./attach.ts";
import { cellActionVerb } from "./cell-action.ts";
import { completeNamesVerb, completionVerb } from "./completion.ts";
import { configVerb } from "./config.ts";
import { deleteVerb } from "./delete.ts";
import { describeVerb } from "./describe.ts";
import { diffVerb } from "./diff.ts";
import { editVerb } from "./edit.ts";
import { eventsVerb } from "./events.ts";
import { execVerb } from "./exec.ts";
import { cpVerb } from "./cp.ts";
import { exportVerb, importVerb } from "./cell-move.ts";
import { explainVerb } from "./explain.ts";
import { drainVerb, uncordonVerb } from "./fleet.ts";
import { getVerb } from "./get.ts";
import { imageVerb } from "./image.ts";
import { initVerb } from "./init.ts";
import { logsVerb } from "./logs.ts";
import { forkVerb } from "./fork.ts";
import { snapshotVerb } from "./snapshot.ts";
import { runVerb } from "./run.ts";
import { statusVerb } from "./status.ts";
import { tokenVerb } from "./token.ts";
import { topVerb } from "./top.ts";
import { versionVerb } from "./version.ts";

export const VERBS: readonly Verb[] = [
  initVerb,
  applyVerb,
  diffVerb,
  getVerb,
  describeVerb,
  deleteVerb,
  editVerb,
  runVerb,
  cellActionVerb("start"),
  cellActionVerb("stop"),
  cellActionVerb("kill"),
  cellActionVerb("restart"),
  cellActionVerb("freeze"),
  cellActionVerb("unfreeze"),
  cellActionVerb("hibernate"),
  cellActionVerb("wake"),
  snapshotVerb,
  forkVerb,
  logsVerb,
  execVerb,
  cpVerb,
  exportVerb,
  importVerb,
  attachVerb,
  eventsVerb,
  explainVerb,
  topVerb,
  imageVerb,
  statusVerb,
  drainVerb,
  uncordonVerb,
  tokenVerb,
  versionVerb,
  configVerb,
  completionVerb(() => VERBS),
  completeNamesVerb,
];

export function findVerb(name: string): Verb | undefined {
  return VERBS.find((v) => v.name === name);
}
