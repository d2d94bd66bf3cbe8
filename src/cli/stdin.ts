/** @module Reading all of stdin (for `-f -`). */
export async function readStdin(): Promise<string> {
  return await new Response(Bun.stdin.stream()).text();
}
