/**
 * Shell pattern matching (`*`, `?`, `[…]`, backslash escapes) without regular expressions: the
 * classic two-pointer algorithm, O(pattern × text) in the worst case and linear in practice.
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    if (p < pattern.length) {
      const c = pattern[p] as string;
      if (c === "*") {
        starP = p++;
        starT = t;
        continue;
      }
      if (c === "?") {
        p++;
        t++;
        continue;
      }
      if (c === "[") {
        const end = classEnd(pattern, p);
        if (end > 0) {
          if (classMatches(pattern.slice(p + 1, end), text[t] as string)) {
            p = end + 1;
            t++;
            continue;
          }
        } else if (text[t] === "[") {
          p++;
          t++;
          continue;
        }
      } else if (c === "\\" && p + 1 < pattern.length) {
        if (pattern[p + 1] === text[t]) {
          p += 2;
          t++;
          continue;
        }
      } else if (c === text[t]) {
        p++;
        t++;
        continue;
      }
    }
    if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
      continue;
    }
    return false;
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}

function classEnd(pattern: string, open: number): number {
  let i = open + 1;
  if (pattern[i] === "!" || pattern[i] === "^") i++;
  if (pattern[i] === "]") i++;
  for (; i < pattern.length; i++) if (pattern[i] === "]") return i;
  return -1;
}

function classMatches(body: string, ch: string): boolean {
  let negate = false;
  let i = 0;
  if (body[0] === "!" || body[0] === "^") {
    negate = true;
    i = 1;
  }
  let hit = false;
  for (; i < body.length; i++) {
    const a = body[i] as string;
    if (body[i + 1] === "-" && i + 2 < body.length) {
      const b = body[i + 2] as string;
      if (ch >= a && ch <= b) hit = true;
      i += 2;
    } else if (a === ch) hit = true;
  }
  return hit !== negate;
}

/** True when a glob matches every name (`*`, `?*`, `**`, `*.*`-free): a filter that filters nothing. */
export function matchesEverything(pattern: string): boolean {
  if (pattern === "") return false;
  let stars = 0;
  let questions = 0;
  for (const ch of pattern) {
    if (ch === "*") stars++;
    else if (ch === "?") questions++;
    else return false;
  }
  return stars > 0 && questions <= 1;
}
