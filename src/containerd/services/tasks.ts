/**
 * @module
 * containerd tasks: the running side of a container (its init process and
 * execs), managed through the runc shim.
 */
import { KeonError, isKeonError } from "../../model/errors.ts";
import { OCI_PROCESS_TYPE_URL, jsonAny, messageNameOf } from "../any.ts";
import type { CallOptions, ContainerdConnection } from "../connection.ts";
import type {
  CreateTaskResponse,
  DeleteResponse,
  WaitResponse,
} from "../generated/containerd-services-tasks-v1.ts";
import type { Metric, MountInput } from "../generated/containerd-types.ts";
import type { Process, ProcessInfo } from "../generated/containerd-v1-types.ts";
import type { AnyInput } from "../generated/google-protobuf.ts";
import type { Metrics as CgroupV1Metrics } from "../generated/io-containerd-cgroups-v1.ts";
import type { Metrics as CgroupV2Metrics } from "../generated/io-containerd-cgroups-v2.ts";

const SERVICE = "containerd.services.tasks.v1.Tasks";

/**
 * A stdio URI the runc shim writes to a regular file (a plain path would be
 * opened as a FIFO). With the `file` scheme the shim sends stdout and stderr
 * both to the stdout path (containerd 1.6 pkg/process/io.go), giving one
 * combined log.
 */
export function fileStdio(path: string): string {
  return `file://${path}`;
}

/**
 * stdout/stderr for a log file. containerd 1.6.20's shim dereferences a nil
 * stderr pipe and crashes ("ttrpc: closed") when stdout is a file:// URI and
 * stderr is empty, so both must name the file, as containerd's cio.LogFile does.
 */
function stdio(
  target: { logFile?: string; stdin?: string; stdout?: string; stderr?: string },
  what: string,
): { stdin: string; stdout: string; stderr: string } {
  if (target.logFile !== undefined) {
    if (target.stdout !== undefined || target.stderr !== undefined) {
      throw new KeonError("CONTAINERD_ERROR", `${what}: give either logFile or stdout/stderr`);
    }
    const uri = fileStdio(target.logFile);
    return { stdin: target.stdin ?? "", stdout: uri, stderr: uri };
  }
  const stdout = target.stdout ?? "";
  const stderr = target.stderr ?? "";
  if ((stdout.startsWith("file://") || stderr.startsWith("file://")) && stdout !== stderr) {
    throw new KeonError("CONTAINERD_ERROR", `${what}: a file:// stdout or stderr must be given as both (use logFile)`);
  }
  return { stdin: target.stdin ?? "", stdout, stderr };
}

export interface NewTask {
  containerId: string;
  /** Mounts of the rootfs snapshot (Snapshots.mounts of the container's key). */
  rootfs?: MountInput[];
  /** Host path of a file receiving stdout and stderr (combined). Excludes stdout/stderr. */
  logFile?: string;
  stdin?: string;
  /** FIFO paths or URIs (binary://, file://); empty for none. */
  stdout?: string;
  stderr?: string;
  terminal?: boolean;
  /** Runtime options Any (e.g. containerd.runc.v1.Options). */
  options?: AnyInput;
}

export interface NewExec {
  containerId: string;
  execId: string;
  /** The OCI process spec as a JSON-serialisable object. */
  process: unknown;
  /** Host path of a file receiving stdout and stderr (combined). Excludes stdout/stderr. */
  logFile?: string;
  stdin?: string;
  stdout?: string;
  stderr?: string;
  terminal?: boolean;
}

export type DecodedMetrics =
  | { id: string; cgroup: "v1"; metrics: CgroupV1Metrics }
  | { id: string; cgroup: "v2"; metrics: CgroupV2Metrics };

export class TasksService {
  constructor(private readonly conn: ContainerdConnection) {}

  /** Create the task (runc create: process exists, not started). */
  async create(task: NewTask, options?: CallOptions): Promise<CreateTaskResponse> {
    return await this.conn.unary(
      SERVICE,
      "Create",
      {
        container_id: task.containerId,
        rootfs: task.rootfs ?? [],
        ...stdio(task, `task ${task.containerId}`),
        terminal: task.terminal ?? false,
        options: task.options ?? null,
      },
      options,
    );
  }

  /** Start the init process (no execId) or an exec; returns its pid. */
  async start(containerId: string, execId = "", options?: CallOptions): Promise<number> {
    const response = await this.conn.unary(SERVICE, "Start", { container_id: containerId, exec_id: execId }, options);
    return response.pid;
  }

  /** Signal the init process (or `execId`); `all` signals every process in the container. */
  async kill(
    containerId: string,
    signal: number,
    extra: { all?: boolean; execId?: string } = {},
    options?: CallOptions,
  ): Promise<void> {
    await this.conn.unary(
      SERVICE,
      "Kill",
      { container_id: containerId, signal, all: extra.all ?? false, exec_id: extra.execId ?? "" },
      options,
    );
  }

  /** Delete a stopped task and its shim state; null if there was no task. */
  async delete(containerId: string, options?: CallOptions): Promise<DeleteResponse | null> {
    try {
      return await this.conn.unary(SERVICE, "Delete", { container_id: containerId }, options);
    } catch (error) {
      if (isKeonError(error, "NOT_FOUND")) return null;
      throw error;
    }
  }

  /** Delete a finished exec; null if it was already gone. */
  async deleteProcess(containerId: string, execId: string, options?: CallOptions): Promise<DeleteResponse | null> {
    try {
      return await this.conn.unary(SERVICE, "DeleteProcess", { container_id: containerId, exec_id: execId }, options);
    } catch (error) {
      if (isKeonError(error, "NOT_FOUND")) return null;
      throw error;
    }
  }

  /**
   * Wait for the init process (or `execId`) to exit. Blocks server-side until
   * then, so pass a deadline that fits (the default is the connection's).
   */
  async wait(containerId: string, execId = "", options?: CallOptions): Promise<WaitResponse> {
    return await this.conn.unary(SERVICE, "Wait", { container_id: containerId, exec_id: execId }, options);
  }

  async pause(containerId: string, options?: CallOptions): Promise<void> {
    await this.conn.unary(SERVICE, "Pause", { container_id: containerId }, options);
  }

  async resume(containerId: string, options?: CallOptions): Promise<void> {
    await this.conn.unary(SERVICE, "Resume", { container_id: containerId }, options);
  }

  /** Add an exec process (not started: call start(containerId, execId)). */
  async exec(exec: NewExec, options?: CallOptions): Promise<void> {
    await this.conn.unary(
      SERVICE,
      "Exec",
      {
        container_id: exec.containerId,
        exec_id: exec.execId,
        spec: jsonAny(OCI_PROCESS_TYPE_URL, exec.process),
        ...stdio(exec, `exec ${exec.execId} in ${exec.containerId}`),
        terminal: exec.terminal ?? false,
      },
      options,
    );
  }

  /** Resize the terminal of the init process (or `execId`); only for a process started with `terminal`. */
  async resizePty(
    containerId: string,
    size: { width: number; height: number },
    execId = "",
    options?: CallOptions,
  ): Promise<void> {
    await this.conn.unary(
      SERVICE,
      "ResizePty",
      { container_id: containerId, exec_id: execId, width: size.width, height: size.height },
      options,
    );
  }

  /**
   * Close the stdin of the init process (or `execId`) inside the shim, so the
   * process reads EOF even though the shim still holds its end of the FIFO.
   */
  async closeIO(containerId: string, execId = "", options?: CallOptions): Promise<void> {
    await this.conn.unary(SERVICE, "CloseIO", { container_id: containerId, exec_id: execId, stdin: true }, options);
  }

  /** Raw metrics for tasks matching containerd filters (`id==x`). */
  async metrics(filters: string[], options?: CallOptions): Promise<Metric[]> {
    const response = await this.conn.unary(SERVICE, "Metrics", { filters }, options);
    return response.metrics;
  }

  /** Decode a metric's cgroup statistics (v1 or v2 by its type URL). */
  decodeMetrics(metric: Metric): DecodedMetrics {
    const name = metric.data === null ? "" : messageNameOf(metric.data.type_url);
    if (metric.data !== null && name === "io.containerd.cgroups.v1.Metrics") {
      return { id: metric.id, cgroup: "v1", metrics: this.conn.decode(name, metric.data.value) };
    }
    if (metric.data !== null && name === "io.containerd.cgroups.v2.Metrics") {
      return { id: metric.id, cgroup: "v2", metrics: this.conn.decode(name, metric.data.value) };
    }
    throw new KeonError("CONTAINERD_ERROR", `unexpected metrics type ${metric.data?.type_url ?? "(none)"}`);
  }

  async listPids(containerId: string, options?: CallOptions): Promise<ProcessInfo[]> {
    const response = await this.conn.unary(SERVICE, "ListPids", { container_id: containerId }, options);
    return response.processes;
  }

  /** State of the init process (or `execId`). NOT_FOUND when there is no task. */
  async get(containerId: string, execId = "", options?: CallOptions): Promise<Process> {
    const response = await this.conn.unary(SERVICE, "Get", { container_id: containerId, exec_id: execId }, options);
    if (response.process === null) throw new KeonError("CONTAINERD_ERROR", `no process in task ${containerId}`);
    return response.process;
  }

  /**
   * All tasks of the namespace, optionally filtered (`status==running`). In
   * containerd 1.6 each entry names its container in `id`; `container_id` is empty.
   */
  async list(filter = "", options?: CallOptions): Promise<Process[]> {
    const response = await this.conn.unary(SERVICE, "List", { filter }, options);
    return response.tasks;
  }
}
