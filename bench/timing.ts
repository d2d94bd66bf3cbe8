/**
 * @module
 * The measuring loop shared by the benchmarks: one unmeasured warm-up of each
 * side (page cache, shim binary, first GC), then N rounds that alternate which
 * side goes first, so a slow drift of the host does not favour either side.
 * Setup and cleanup of each sample happen outside the timed part.
 */

export interface Side {
  /** Unmeasured preparation of one sample (e.g. a fresh namespace). */
  prepare?(round: number): Promise<void>;
  /** The timed work. */
  run(round: number): Promise<void>;
  /** Unmeasured cleanup after one sample; must leave the host as prepare found it. */
  cleanup?(round: number): Promise<void>;
}

async function sample(side: Side, round: number): Promise<number> {
  await side.prepare?.(round);
  const started = performance.now();
  try {
    await side.run(round);
    return performance.now() - started;
  } finally {
    await side.cleanup?.(round);
  }
}

/** Samples in ms of `keon` and `reference`, `n` each, after one warm-up of each. */
export async function measurePair(n: number, keon: Side, reference: Side): Promise<{ keon: number[]; reference: number[] }> {
  await sample(keon, -1);
  await sample(reference, -1);
  const result = { keon: [] as number[], reference: [] as number[] };
  for (let round = 0; round < n; round++) {
    if (round % 2 === 0) {
      result.keon.push(await sample(keon, round));
      result.reference.push(await sample(reference, round));
    } else {
      result.reference.push(await sample(reference, round));
      result.keon.push(await sample(keon, round));
    }
  }
  return result;
}

/**
 * Samples in ms of each named side, `n` each after one warm-up of each. The
 * order rotates every round (a b c, b c a, c a b …), so no side always runs
 * first or last.
 */
export async function measureInterleaved(n: number, sides: ReadonlyArray<readonly [string, Side]>, warmup = true): Promise<Record<string, number[]>> {
  if (warmup) for (const [, side] of sides) await sample(side, -1);
  const result: Record<string, number[]> = Object.fromEntries(sides.map(([name]) => [name, [] as number[]]));
  for (let round = 0; round < n; round++) {
    for (let i = 0; i < sides.length; i++) {
      const [name, side] = sides[(round + i) % sides.length]!;
      result[name]!.push(await sample(side, round));
    }
  }
  return result;
}
