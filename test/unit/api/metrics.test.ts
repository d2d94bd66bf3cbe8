import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { escapeLabelValue, renderMetrics } from "../../../src/api/metrics.ts";
import type { WorkerMetrics } from "../../../src/protocol/messages.ts";
import { call, makeApi, realmDoc, type TestApi } from "./helpers.ts";

let api: TestApi;
beforeEach(() => {
  api = makeApi();
});
afterEach(() => api.close());

function metrics(overrides: Partial<WorkerMetrics> = {}): WorkerMetrics {
  return {
    reconciles: 4,
    reconcileSecondsSum: 0.75,
    reconcileSecondsBuckets: { "0.1": 2, "0.5": 3, "1": 4 },
    restarts: 7,
    cellsByState: { Ready: 2, Error: 1 },
    containerdCalls: { "tasks.Start": { count: 3, secondsSum: 0.3, errors: 1, notFound: 0 }, "containers.Get": { count: 5, secondsSum: 0.1, errors: 0, notFound: 4 } },
    reconcileFailures: { ImageNotFound: 2 },
    ...overrides,
  };
}

const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\\\|\\"|\\n)*",?)*\})? (-?[0-9.e+-]+|\+Inf|-Inf|NaN)$/;

/** Every line is a comment or `name{labels} value`; returns the samples by series text. */
function parse(text: string): Map<string, number> {
  expect(text.endsWith("\n")).toBe(true);
  const samples = new Map<string, number>();
  for (const line of text.trimEnd().split("\n")) {
    if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    expect(line).toMatch(SAMPLE);
    const space = line.lastIndexOf(" ");
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

describe("/metrics", () => {
  test("renders the worker reports and health in the exposition format", async () => {
    api.bus.publish({ type: "metrics", realm: "main", metrics: metrics() });
    api.bus.publish({ type: "metrics", realm: "edge", metrics: metrics({ restarts: 1, containerdCalls: { "tasks.Start": { count: 2, secondsSum: 0.2, errors: 0, notFound: 0 } } }) });
    api.dispatch.workers = [
      { realm: "main", state: "ready", restarts: 0 },
      { realm: "edge", state: "restarting", restarts: 3, lastError: "boom" },
    ];
    const answer = await call(api, "/metrics");
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const samples = parse(answer.body);
    expect(samples.get('keon_reconcile_duration_seconds_bucket{realm="main",le="0.1"}')).toBe(2);
    expect(samples.get('keon_reconcile_duration_seconds_bucket{realm="main",le="1"}')).toBe(4);
    expect(samples.get('keon_reconcile_duration_seconds_bucket{realm="main",le="+Inf"}')).toBe(4);
    expect(samples.get('keon_reconcile_duration_seconds_sum{realm="main"}')).toBe(0.75);
    expect(samples.get('keon_reconcile_duration_seconds_count{realm="main"}')).toBe(4);
    expect(samples.get('keon_container_restarts_total{realm="main"}')).toBe(7);
    expect(samples.get('keon_container_restarts_total{realm="edge"}')).toBe(1);
    expect(samples.get('keon_cells{realm="main",state="Error"}')).toBe(1);
    expect(samples.get('keon_containerd_call_duration_seconds_count{method="tasks.Start"}')).toBe(5);
    expect(samples.get('keon_containerd_call_duration_seconds_sum{method="tasks.Start"}')).toBeCloseTo(0.5);
    expect(samples.get('keon_containerd_call_errors_total{method="tasks.Start"}')).toBe(1);
    // A lookup answered NOT_FOUND is counted apart from errors.
    expect(samples.get('keon_containerd_call_errors_total{method="containers.Get"}')).toBe(0);
    expect(samples.get('keon_containerd_call_not_found_total{method="containers.Get"}')).toBe(4);
    expect(samples.get('keon_reconcile_failures_total{realm="main",reason="ImageNotFound"}')).toBe(2);
    // Every cell state has a series, 0 when no cell is in it.
    expect(samples.get('keon_cells{realm="main",state="Failed"}')).toBe(0);
    // keond's own families.
    expect(samples.get('keon_build_info{version="0.0.0-test",bun="' + Bun.version + '",arch="' + process.arch + '"}')).toBe(1);
    expect(samples.get("process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(samples.get("process_open_fds")).toBeGreaterThan(0);
    expect(samples.get("process_start_time_seconds")).toBeGreaterThan(Date.now() / 1000 - 24 * 3600 * 365);
    expect(samples.get("process_start_time_seconds")).toBeLessThanOrEqual(Date.now() / 1000 + 1);
    expect(samples.get('keon_worker_up{realm="main"}')).toBe(1);
    expect(samples.get('keon_worker_up{realm="edge"}')).toBe(0);
    expect(samples.get('keon_worker_restarts_total{realm="edge"}')).toBe(3);
    // Each family is declared once, with its type.
    expect(answer.body.match(/# TYPE keon_reconcile_duration_seconds histogram/g)).toHaveLength(1);
  });

  test("API requests are timed by method, matched route pattern and status code", async () => {
    const put = await call(api, "/v1/realms/main", { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(realmDoc()) });
    expect(put.status).toBe(201);
    expect((await call(api, "/v1/realms/nope")).status).toBe(404);
    expect((await call(api, "/v1/realms/other")).status).toBe(404);
    expect((await call(api, "/no/such/route")).status).toBe(404);
    const samples = parse((await call(api, "/metrics")).body);
    const series = (labels: string) => samples.get(`keon_api_request_duration_seconds_count{${labels}}`);
    expect(series('method="PUT",route="/v1/realms/{realm}",code="201"')).toBe(1);
    // Two names, one route: the pattern, not the raw path, is the label.
    expect(series('method="GET",route="/v1/realms/{realm}",code="404"')).toBe(2);
    expect(series('method="GET",route="unmatched",code="404"')).toBe(1);
    expect(samples.get('keon_api_request_duration_seconds_bucket{method="PUT",route="/v1/realms/{realm}",code="201",le="+Inf"}')).toBe(1);
    expect([...samples.keys()].some((k) => k.includes("/v1/realms/nope"))).toBe(false);
  });

  test("the latest report wins and a gone realm's series go away", async () => {
    api.bus.publish({ type: "metrics", realm: "main", metrics: metrics({ restarts: 1 }) });
    api.bus.publish({ type: "metrics", realm: "main", metrics: metrics({ restarts: 2 }) });
    expect(parse((await call(api, "/metrics")).body).get('keon_container_restarts_total{realm="main"}')).toBe(2);
    api.bus.publish({ type: "realm-gone", realm: "main" });
    expect(parse((await call(api, "/metrics")).body).has('keon_container_restarts_total{realm="main"}')).toBe(false);
  });

  test("label values are escaped and the text still parses", () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const text = renderMetrics([["main", metrics({ containerdCalls: { 'we"ird\nname': { count: 1, secondsSum: 1, errors: 0, notFound: 0 } } })]], []);
    parse(text);
    expect(text).toContain('method="we\\"ird\\nname"');
  });
});
