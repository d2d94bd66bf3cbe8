/**
 * @module
 * The containerd client Keon uses: one connection and one small wrapper per
 * service, all bound to a namespace.
 */
import { KeonError } from "../model/errors.ts";
import { ContainerdConnection, type ConnectionOptions } from "./connection.ts";
import { ContainersService } from "./services/containers.ts";
import { ContentService } from "./services/content.ts";
import { DiffService } from "./services/diff.ts";
import { EventsService } from "./services/events.ts";
import { ImagesService } from "./services/images.ts";
import { LeasesService } from "./services/leases.ts";
import { NamespacesService } from "./services/namespaces.ts";
import { DEFAULT_SNAPSHOTTER, SnapshotsService } from "./services/snapshots.ts";
import { TasksService } from "./services/tasks.ts";
import { VersionService } from "./services/version.ts";

export class ContainerdClient {
  readonly version: VersionService;
  readonly namespaces: NamespacesService;
  readonly containers: ContainersService;
  readonly tasks: TasksService;
  readonly snapshots: SnapshotsService;
  readonly content: ContentService;
  readonly images: ImagesService;
  readonly leases: LeasesService;
  readonly diff: DiffService;
  readonly events: EventsService;

  constructor(readonly connection: ContainerdConnection) {
    this.version = new VersionService(connection);
    this.namespaces = new NamespacesService(connection);
    this.containers = new ContainersService(connection);
    this.tasks = new TasksService(connection);
    this.snapshots = new SnapshotsService(connection, DEFAULT_SNAPSHOTTER);
    this.content = new ContentService(connection);
    this.images = new ImagesService(connection);
    this.leases = new LeasesService(connection);
    this.diff = new DiffService(connection);
    this.events = new EventsService(connection);
  }

  get namespace(): string {
    return this.connection.namespace;
  }

  /** The same channel, every call defaulting to `namespace`. */
  withNamespace(namespace: string): ContainerdClient {
    return new ContainerdClient(this.connection.withNamespace(namespace));
  }

  /** Snapshots of another snapshotter than overlayfs. */
  snapshotter(name: string): SnapshotsService {
    return new SnapshotsService(this.connection, name);
  }

  /**
   * Poll Version until containerd answers or `timeoutMs` passes (used after
   * starting or restarting containerd). Throws the last failure on timeout.
   */
  async waitUntilReady(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    let delay = 20;
    for (;;) {
      const left = until - Date.now();
      try {
        await this.version.version({ deadlineMs: Math.max(1, Math.min(left, 2_000)) });
        return;
      } catch (error) {
        if (Date.now() + delay >= until) {
          throw new KeonError("CONTAINERD_UNAVAILABLE", `containerd at ${this.connection.socket} not ready after ${timeoutMs} ms`, {
            cause: error,
          });
        }
      }
      await Bun.sleep(delay);
      delay = Math.min(delay * 2, 500);
    }
  }

  /** Close the channel (for every namespace view of it). */
  close(): void {
    this.connection.close();
  }
}

/** Connect to containerd at `options.socket`; calls default to `options.namespace`. */
export function connectContainerd(options: ConnectionOptions): ContainerdClient {
  return new ContainerdClient(new ContainerdConnection(options));
}
