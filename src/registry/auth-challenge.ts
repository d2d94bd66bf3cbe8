/**
 * @module
 * `WWW-Authenticate` challenges (RFC 7235): `Bearer realm="…",service="…",
 * scope="…"` or `Basic realm="…"`, possibly several in one header. Pure.
 */

export interface AuthChallenge {
  /** Lower-cased: "bearer", "basic". */
  scheme: string;
  /** Parameter names lower-cased; values unquoted. */
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

/** Every challenge of a header value; malformed tails are dropped rather than guessed at. */
export function parseAuthChallenges(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let at = 0;
  const skipSpaces = (): void => {
    while (at < header.length && (header[at] === " " || header[at] === "\t")) at++;
  };
  const token = (): string | undefined => {
    const match = TOKEN.exec(header.slice(at));
    if (match === null) return undefined;
    at += match[0].length;
    return match[0];
  };
  const quoted = (): string | undefined => {
    if (header[at] !== '"') return undefined;
    at++;
    let value = "";
    while (at < header.length && header[at] !== '"') {
      if (header[at] === "\\" && at + 1 < header.length) at++;
      value += header[at];
      at++;
    }
    if (header[at] !== '"') return undefined;
    at++;
    return value;
  };

  const bare = (): string | undefined => {
    const match = /^[^\s,"]+/.exec(header.slice(at));
    if (match === null) return undefined;
    at += match[0].length;
    return match[0];
  };

  while (at < header.length) {
    skipSpaces();
    while (header[at] === ",") {
      at++;
      skipSpaces();
    }
    const scheme = token();
    if (scheme === undefined) break;
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    // Parameters until the next scheme (a token not followed by '=').
    for (;;) {
      skipSpaces();
      const start = at;
      const name = token();
      if (name === undefined) break;
      skipSpaces();
      if (header[at] !== "=") {
        at = start; // the next challenge's scheme
        break;
      }
      at++;
      skipSpaces();
      // Unquoted values are tokens by the RFC; some servers send URLs unquoted, so read to the next comma.
      const value = quoted() ?? bare();
      if (value === undefined) return challenges;
      challenge.params[name.toLowerCase()] = value;
      skipSpaces();
      if (header[at] === ",") at++;
      else break;
    }
  }
  return challenges;
}

/** The challenge Keon answers: Bearer if offered (registries prefer it), else Basic; undefined if neither. */
export function pickChallenge(challenges: readonly AuthChallenge[]): AuthChallenge | undefined {
  return challenges.find((c) => c.scheme === "bearer" && c.params["realm"] !== undefined) ?? challenges.find((c) => c.scheme === "basic");
}
