/**
 * @module
 * One gRPC channel to containerd over its unix socket, and the three call
 * shapes Keon needs (unary, server stream, lock-step bidi stream), each with
 * the namespace (and optional lease) in metadata, a deadline, and failures
 * mapped to KeonError.
 *
 * Reconnect: grpc-js re-dials a lost channel by itself with capped
 * exponential backoff (configured below). Calls use waitForReady=false, so
 * while containerd is down they fail at once with UNAVAILABLE
 * (CONTAINERD_UNAVAILABLE) instead of queueing; a call that races a dial is
 * still bounded by its deadline. No keepalive is configured: containerd 1.6
 * answers pings more often than every 5 minutes with GOAWAY too_many_pings.
 */
import * as grpc from "@grpc/grpc-js";
import type { PackageDefinition, ServiceDefinition, MethodDefinition } from "@grpc/proto-loader";
import { KeonError } from "../model/errors.ts";
import { toKeonError } from "./grpc-errors.ts";
import { DEFAULT_PROTO_ROOT, loadContainerdProtos } from "./proto-files.ts";
import type { ContainerdMessages, ContainerdServices, Rpc } from "./generated/services.ts";

export const DEFAULT_DEADLINE_MS = 10_000;
/** containerd's own limit for a single gRPC message. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export interface ConnectionOptions {
  /** Path of containerd's gRPC socket, e.g. /run/containerd/containerd.sock. */
  socket: string;
  /** Namespace sent as `containerd-namespace` on every call unless overridden. */
  namespace: string;
  /** Deadline of calls that do not set their own. Default 10 s. */
  defaultDeadlineMs?: number;
  /** Where containerd's .proto files are (default /usr/share/gocode/src). */
  protoRoot?: string;
  /** Channel re-dial backoff: starts at initialMs, doubles, capped at maxMs. */
  reconnect?: { initialMs?: number; maxMs?: number };
  /** Told of every finished unary call (for latency metrics); must not throw. */
  onCall?: (method: string, seconds: number, outcome: CallOutcome) => void;
}

/** How a unary call ended: a NOT_FOUND answer is a lookup's expected "no", counted apart from errors. */
export type CallOutcome = "ok" | "not-found" | "error";

export interface CallOptions {
  /** Overrides the connection's namespace for this call. */
  namespace?: string;
  /** Milliseconds until the call fails with DEADLINE_EXCEEDED; Infinity for none (long-lived streams only). */
  deadlineMs?: number;
  /** Lease ID sent as `containerd-lease`, so what the call creates is held by the lease. */
  lease?: string;
  /** Cancels the call. */
  signal?: AbortSignal;
}

export type ServiceName = keyof ContainerdServices;
type MethodsOf<S extends ServiceName> = ContainerdServices[S];
type MethodWhere<S extends ServiceName, Shape> = {
  [M in keyof MethodsOf<S>]: MethodsOf<S>[M] extends Shape ? M : never;
}[keyof MethodsOf<S>] &
  string;
/** Methods of S with a single request and a single response. */
export type UnaryMethod<S extends ServiceName> = MethodWhere<S, Rpc<unknown, unknown, false, false>>;
/** Methods of S with a single request and a stream of responses. */
export type ServerStreamMethod<S extends ServiceName> = MethodWhere<S, Rpc<unknown, unknown, false, true>>;
/** Methods of S streaming both ways. */
export type BidiMethod<S extends ServiceName> = MethodWhere<S, Rpc<unknown, unknown, true, true>>;
export type RequestOf<S extends ServiceName, M extends keyof MethodsOf<S>> =
  MethodsOf<S>[M] extends Rpc<infer Q, unknown, boolean, boolean> ? Q : never;
export type ResponseOf<S extends ServiceName, M extends keyof MethodsOf<S>> =
  MethodsOf<S>[M] extends Rpc<unknown, infer R, boolean, boolean> ? R : never;

/** A bidi stream driven one request, one response at a time. */
export interface LockstepStream<Request, Response> {
  /** Send one request and wait for its response (each wait bounded by the call's deadline, or this exchange's). */
  exchange(request: Request, options?: { deadlineMs?: number }): Promise<Response>;
  /** Half-close and wait for the server to finish the call. */
  end(): Promise<void>;
  /** Abandon the call. */
  cancel(): void;
}

interface SharedChannel {
  client: grpc.Client;
  definition: PackageDefinition;
  closed: boolean;
  onCall: ((method: string, seconds: number, outcome: CallOutcome) => void) | undefined;
}

export class ContainerdConnection {
  readonly socket: string;
  readonly namespace: string;
  readonly defaultDeadlineMs: number;
  readonly #shared: SharedChannel;

  constructor(options: ConnectionOptions, shared?: SharedChannel) {
    this.socket = options.socket;
    this.namespace = options.namespace;
    this.defaultDeadlineMs = options.defaultDeadlineMs ?? DEFAULT_DEADLINE_MS;
    this.#shared = shared ?? {
      client: new grpc.Client(`unix://${options.socket}`, grpc.credentials.createInsecure(), {
        "grpc.initial_reconnect_backoff_ms": options.reconnect?.initialMs ?? 100,
        "grpc.max_reconnect_backoff_ms": options.reconnect?.maxMs ?? 2_000,
        "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
        "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
      }),
      definition: loadContainerdProtos(options.protoRoot ?? DEFAULT_PROTO_ROOT),
      closed: false,
      onCall: options.onCall,
    };
  }

  /** The same channel, calls defaulting to another namespace. */
  withNamespace(namespace: string): ContainerdConnection {
    return new ContainerdConnection(
      { socket: this.socket, namespace, defaultDeadlineMs: this.defaultDeadlineMs },
      this.#shared,
    );
  }

  /** Closes the channel for every view of it. */
  close(): void {
    if (this.#shared.closed) return;
    this.#shared.closed = true;
    this.#shared.client.close();
  }

  get closed(): boolean {
    return this.#shared.closed;
  }

  async unary<S extends ServiceName, M extends UnaryMethod<S>>(
    service: S,
    method: M,
    request: RequestOf<S, M>,
    options: CallOptions = {},
  ): Promise<ResponseOf<S, M>> {
    const def = this.#method(service, method);
    const what = `${shortService(service)}/${method}`;
    this.#assertOpen(what);
    const begun = performance.now();
    return await new Promise<ResponseOf<S, M>>((resolve, reject) => {
      if (options.signal?.aborted === true) {
        reject(cancelledError(what));
        return;
      }
      const call = this.#shared.client.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request as object,
        this.#metadata(options),
        this.#callOptions(options),
        (error, response) => {
          options.signal?.removeEventListener("abort", onAbort);
          const failure = error ? toKeonError(error, what) : undefined;
          const outcome = failure === undefined ? "ok" : failure.code === "NOT_FOUND" ? "not-found" : "error";
          this.#shared.onCall?.(what, (performance.now() - begun) / 1000, outcome);
          if (failure !== undefined) reject(failure);
          else resolve(response as ResponseOf<S, M>);
        },
      );
      const onAbort = (): void => call.cancel();
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Responses of a server-streaming call, in order. Breaking out of the loop
   * or aborting `signal` cancels the call; an abort ends the iteration quietly.
   */
  async *serverStream<S extends ServiceName, M extends ServerStreamMethod<S>>(
    service: S,
    method: M,
    request: RequestOf<S, M>,
    options: CallOptions = {},
  ): AsyncGenerator<ResponseOf<S, M>, void, undefined> {
    const def = this.#method(service, method);
    const what = `${shortService(service)}/${method}`;
    this.#assertOpen(what);
    if (options.signal?.aborted === true) return;
    const call = this.#shared.client.makeServerStreamRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      request as object,
      this.#metadata(options),
      this.#callOptions(options),
    );
    const onAbort = (): void => call.cancel();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const message of call) yield message as ResponseOf<S, M>;
    } catch (error) {
      if (isAborted(options.signal)) return;
      throw toKeonError(error, what);
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      call.cancel();
    }
  }

  /**
   * Open a bidi stream used in lock-step: one request, then wait for its
   * response before the next. Bun's HTTP/2 client can stall when many large
   * DATA frames are queued (Bun 1.x), so callers keep each message small
   * (content writes: ≤ 64 KiB) and never have more than one in flight.
   */
  lockstep<S extends ServiceName, M extends BidiMethod<S>>(
    service: S,
    method: M,
    options: CallOptions = {},
  ): LockstepStream<RequestOf<S, M>, ResponseOf<S, M>> {
    const def = this.#method(service, method);
    const what = `${shortService(service)}/${method}`;
    this.#assertOpen(what);
    const stepMs = options.deadlineMs ?? this.defaultDeadlineMs;
    // The whole call has no deadline (a large blob takes long); each step has.
    const call = this.#shared.client.makeBidiStreamRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      this.#metadata(options),
      {},
    );
    const received: unknown[] = [];
    let failure: KeonError | undefined;
    let ended = false;
    let finished = false;
    let wake: (() => void) | undefined;
    const notify = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    call.on("data", (message: unknown) => {
      received.push(message);
      notify();
    });
    call.on("error", (error: unknown) => {
      failure ??= toKeonError(error, what);
      notify();
    });
    call.on("end", () => {
      ended = true;
      notify();
    });
    call.on("status", () => {
      finished = true;
      notify();
    });
    const onAbort = (): void => call.cancel();
    options.signal?.addEventListener("abort", onAbort, { once: true });

    /** Wait until `ready()` holds, a failure arrives, or stepMs passes. */
    const waitFor = async (ready: () => boolean, step: string, limitMs = stepMs): Promise<void> => {
      const started = Date.now();
      while (!ready()) {
        if (failure !== undefined) throw failure;
        const left = limitMs - (Date.now() - started);
        if (left <= 0) {
          call.cancel();
          throw new KeonError("DEADLINE_EXCEEDED", `containerd ${what}: no answer to ${step} within ${limitMs} ms`, { details: { reason: "step-timeout", step } });
        }
        await new Promise<void>((resolve) => {
          const timer = Number.isFinite(left) ? setTimeout(resolve, left) : undefined;
          wake = () => {
            if (timer !== undefined) clearTimeout(timer);
            resolve();
          };
        });
      }
    };

    return {
      exchange: async (request, exchangeOptions) => {
        if (failure !== undefined) throw failure;
        if (ended) throw new KeonError("CONTAINERD_ERROR", `containerd ${what}: stream already ended`);
        if (!call.write(request as object)) {
          let drained = false;
          call.once("drain", () => {
            drained = true;
            notify();
          });
          await waitFor(() => drained, "drain", exchangeOptions?.deadlineMs);
        }
        // Wait for the answer or the call's final status (grpc-js emits the
        // stream end before the error that carries the status code).
        await waitFor(() => received.length > 0 || finished, "request", exchangeOptions?.deadlineMs);
        const next = received.shift();
        if (next === undefined) {
          if (failure !== undefined) throw failure;
          throw new KeonError("CONTAINERD_ERROR", `containerd ${what}: stream ended without a response`);
        }
        return next as ResponseOf<S, M>;
      },
      end: async () => {
        call.end();
        try {
          await waitFor(() => finished, "end");
        } finally {
          options.signal?.removeEventListener("abort", onAbort);
        }
        if (failure !== undefined) throw failure;
      },
      cancel: () => {
        options.signal?.removeEventListener("abort", onAbort);
        call.cancel();
      },
    };
  }

  /** Decode a message by full protobuf name (e.g. an `Any` payload). */
  decode<K extends keyof ContainerdMessages>(typeName: K, bytes: Buffer | Uint8Array): ContainerdMessages[K];
  decode(typeName: string, bytes: Buffer | Uint8Array): unknown;
  decode(typeName: string, bytes: Buffer | Uint8Array): unknown {
    return this.#messageType(typeName).deserialize(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  /** Encode a message by full protobuf name (e.g. to pack it into an `Any`). */
  encode(typeName: keyof ContainerdMessages, message: object): Buffer {
    return this.#messageType(typeName).serialize(message);
  }

  /** Whether the loaded protos know this message type. */
  knowsMessage(typeName: string): boolean {
    const def = this.#shared.definition[typeName];
    return def !== undefined && "format" in def && def.format === "Protocol Buffer 3 DescriptorProto";
  }

  #messageType(typeName: string): { serialize(v: object): Buffer; deserialize(b: Buffer): unknown } {
    if (!this.knowsMessage(typeName)) {
      throw new KeonError("CONTAINERD_ERROR", `unknown protobuf message type ${typeName}`);
    }
    return this.#shared.definition[typeName] as unknown as {
      serialize(v: object): Buffer;
      deserialize(b: Buffer): unknown;
    };
  }

  #method(service: string, method: string): MethodDefinition<object, object> {
    const def = this.#shared.definition[service] as ServiceDefinition | undefined;
    const m = def?.[method];
    if (m === undefined) throw new KeonError("CONTAINERD_ERROR", `unknown containerd method ${service}/${method}`);
    return m;
  }

  #assertOpen(what: string): void {
    if (this.#shared.closed) throw new KeonError("CONTAINERD_UNAVAILABLE", `containerd ${what}: connection closed`);
  }

  #metadata(options: CallOptions): grpc.Metadata {
    const metadata = new grpc.Metadata();
    metadata.set("containerd-namespace", options.namespace ?? this.namespace);
    if (options.lease !== undefined) metadata.set("containerd-lease", options.lease);
    // Fail fast while containerd is down instead of queueing until the deadline.
    metadata.setOptions({ waitForReady: false });
    return metadata;
  }

  #callOptions(options: CallOptions): grpc.CallOptions {
    const ms = options.deadlineMs ?? this.defaultDeadlineMs;
    return Number.isFinite(ms) ? { deadline: Date.now() + ms } : {};
  }
}

/** A function, not an inline check: TypeScript would keep a narrowing from before an await. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function shortService(service: string): string {
  return service.slice(service.lastIndexOf(".") + 1);
}

function cancelledError(what: string): KeonError {
  return new KeonError("CONTAINERD_ERROR", `containerd ${what}: cancelled before it started`, {
    details: { call: what, grpcStatus: "CANCELLED" },
  });
}
