/** The CLI's view of a streamed pull (src/cli/verbs/image.ts): pure folding and rendering. */
import { describe, expect, test } from "bun:test";
import { applyPullLine, pullSummary, renderPullLayers, type PullLine, type PullView } from "../../../src/cli/verbs/image.ts";

const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;

describe("keon image pull view", () => {
  test("layers move from waiting through downloading to unpacked", () => {
    const lines: PullLine[] = [
      { type: "resolved", name: "r/x:1", digest: A, platform: "linux/amd64", layers: [{ digest: A, size: 2048 }, { digest: B, size: 10 }] },
      { type: "layer", digest: A, size: 2048, done: 1024, state: "downloading" },
      { type: "layer", digest: B, size: 10, done: 10, state: "present" },
    ];
    let view: PullView = { name: "", layers: [] };
    for (const line of lines) view = applyPullLine(view, line);
    expect(renderPullLayers(view)).toEqual(["sha256:aaaaaaaaaaaa  downloading  1.0Ki/2.0Ki", "sha256:bbbbbbbbbbbb  present      10B"]);
    view = applyPullLine(view, { type: "layer", digest: A, size: 2048, done: 2048, state: "done" });
    view = applyPullLine(view, { type: "unpack", layer: 0, digest: A });
    expect(view.layers.map((l) => l.state)).toEqual(["unpacking", "present"]);
    view = applyPullLine(view, { type: "unpack", layer: 1, digest: B });
    expect(view.layers.map((l) => l.state)).toEqual(["unpacked", "unpacking"]);
  });

  test("the summary names digest, platform, layers and what was fetched", () => {
    expect(pullSummary({ name: "r/x:1", digest: A, platform: "linux/amd64", layers: 3, bytesFetched: 3 * 1024 * 1024, blobsPresent: 1 })).toBe(
      "image/r/x:1 pulled (sha256:aaaaaaaaaaaa, linux/amd64, 3 layers, 3.0Mi fetched, 1 layer already present)\n",
    );
  });
});
