/**
 * @module
 * Where the reconcilers report, defined here where they use it: the realm
 * Worker implements it by appending events to the store and posting
 * messages to the main thread; unit tests collect what is reported.
 */
import type { DocumentKind } from "../model/schema/document.ts";
import type { EventInput, ResourceKey } from "../store/index.ts";

export interface ReconcileSink {
  /** A lifecycle event: stored (a repeat merges into the last one) and forwarded. */
  event(input: EventInput): void;
  /** Status of a resource was written (state and observedGeneration), or the resource is gone. */
  status(ref: { kind: DocumentKind; key: ResourceKey }, state: string | undefined, observedGeneration: number | undefined, gone: boolean): void;
  /** A container or cell was restarted by its policy (a counter for metrics). */
  restarted(): void;
  /** An attempt failed (an action, a level's ensure or deletion, a pass that threw), by reason: a counter for metrics. */
  failed(reason: string): void;
}
