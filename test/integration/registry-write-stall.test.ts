/**
 * A Content.Write stream that stops answering mid-blob (what Bun 1.4's HTTP/2
 * client does on a process's first large pull: a WRITE's DATA is never sent)
 * against a real containerd: the stalled stream is given up, a new one STATs
 * the ingest and the blob resumes from containerd's offset, asking the body
 * again from there. The stall is injected where the lockstep deadline would
 * fire (the same error), so the test does not wait on Bun to misbehave.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import type { ContainerdClient } from "../../src/containerd/client.ts";
import { WRITE_CHUNK_BYTES } from "../../src/containerd/services/content.ts";
import { KeonError } from "../../src/model/errors.ts";
import { ingestBlob, ingestRef } from "../../src/registry/blob-ingest.ts";
import { CONTAINERD_BINARIES, requireBinaries, requireRoot, startContainerd, type TestContainerd } from "../harness/index.ts";

const SUITE = "registry blob ingest: a stalled Write stream";
const ready = requireRoot(SUITE) && requireBinaries(SUITE, CONTAINERD_BINARIES);

describe.skipIf(!ready)(SUITE, () => {
  let cd: TestContainerd;

  beforeAll(async () => {
    cd = await startContainerd();
  });

  afterAll(async () => {
    await cd?.stop();
  });

  test("the blob resumes on a new stream from containerd's offset and commits with the right digest", async () => {
    const data = crypto.getRandomValues(new Uint8Array(20 * WRITE_CHUNK_BYTES + 123));
    const digest = `sha256:${createHash("sha256").update(data).digest("hex")}`;
    await cd.client.leases.create({ id: "stall-test", expireAfterMs: 600_000 });
    const opened: number[] = [];
    let streams = 0;
    // The first stream stalls at its sixth WRITE: nothing is sent, the deadline's error comes back.
    const stalling = {
      content: cd.client.content,
      connection: {
        lockstep: (...args: Parameters<ContainerdClient["connection"]["lockstep"]>) => {
          const stream = cd.client.connection.lockstep(...args);
          if (++streams > 1) return stream;
          let writes = 0;
          return {
            ...stream,
            exchange: async (request: { action?: string }, options?: { deadlineMs?: number }) => {
              if (request.action === "WRITE" && ++writes === 6) {
                stream.cancel();
                throw new KeonError("DEADLINE_EXCEEDED", "containerd Content/Write: no answer to request within 3000 ms", { details: { reason: "step-timeout", step: "request" } });
              }
              return await stream.exchange(request as never, options);
            },
          };
        },
      },
    } as unknown as ContainerdClient;

    const outcome = await ingestBlob(stalling, {
      digest,
      size: data.length,
      lease: "stall-test",
      open: async (offset) => {
        opened.push(offset);
        return { offset, chunks: (async function* () { yield data.subarray(offset); })(), cancel: () => {} };
      },
    }, `layer ${digest}`);

    expect(outcome).toEqual({ outcome: "written", resumedFrom: 0, attempts: 2 });
    expect(streams).toBe(2);
    // Five WRITEs were acknowledged before the stall: the body is asked again from there.
    expect(opened).toEqual([0, 5 * WRITE_CHUNK_BYTES]);
    expect((await cd.client.content.info(digest))?.size).toBe(data.length);
    expect(await cd.client.content.listStatuses([`ref==${JSON.stringify(ingestRef(digest))}`])).toEqual([]);
    await cd.client.leases.delete("stall-test", true);
  });
});
