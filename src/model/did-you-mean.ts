/**
 * @module
 * "Did you mean …?" for a misspelt field: the closest known name by edit
 * distance, when it is close enough to be a typo rather than another word.
 * Pure.
 */

/** Levenshtein distance (insert, delete, substitute: 1 each), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      const substitute = (previous[j - 1] as number) + (x[i - 1] === y[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitute));
    }
    previous = current;
  }
  return previous[y.length] as number;
}

/**
 * The known name nearest to `word`, or undefined when none is near: at most
 * a third of the word's length in edits (at least 1, at most 3), so `imag`
 * finds `image` but `foo` finds nothing. Ties go to the earlier name.
 */
export function closestName(word: string, known: readonly string[]): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    // The distance is at least the difference in length: skip the quadratic work when that already rules a name out.
    if (Math.abs(name.length - word.length) > limit) continue;
    const distance = editDistance(word, name);
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}
