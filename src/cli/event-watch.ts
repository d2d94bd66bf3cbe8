/**
 * @module
 * Follows keond's event stream until Ctrl-C (or SIGTERM): one place for the
 * signal handling, the request, the error check and the parsing that
 * `events -w` and `get -w` share. Each event is handed over parsed;
 * a frame that is not JSON is skipped.
 */
import { apiError, type ApiClient } from "./client.ts";
import { readSse } from "./sse.ts";

export async function watchEvents(
  client: ApiClient,
  query: Record<string, string | undefined>,
  onEvent: (event: unknown) => void | Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    const response = await client.request("GET", "/v1/events", { query, headers: { accept: "text/event-stream" }, signal: controller.signal });
    if (!response.ok || response.body === null) throw apiError(response.status, await response.text(), "GET /v1/events");
    for await (const message of readSse(response.body)) {
      let event: unknown;
      try {
        event = JSON.parse(message.data);
      } catch {
        continue;
      }
      await onEvent(event);
    }
  } catch (error) {
    // Interrupted by the operator: that is how a watch ends.
    if (!controller.signal.aborted) throw error;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
