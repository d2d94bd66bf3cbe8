/**
 * @module
 * A cell of one busybox container `app` that sleeps until TERM, as manifest
 * text: the plain running workload tests copy files into and move around.
 */
import { TEST_IMAGE } from "./keond-suite.ts";

export function sleeperCellManifest(scope: { realm: string; space: string; stack: string }, name: string, labels: Record<string, string> = {}): string {
  const labelText = Object.entries(labels).map(([k, v]) => `${k}: ${v}`).join(", ");
  return `kind: Cell
metadata: {name: ${name}${labelText === "" ? "" : `, labels: {${labelText}}`}}
spec:
  realmId: ${scope.realm}
  spaceId: ${scope.space}
  stackId: ${scope.stack}
  containers:
    - {id: app, image: ${TEST_IMAGE}, command: /bin/sh, args: ["-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}
`;
}
