/**
 * awk programs, in one pass: `system()`, pipes (`cmd | getline`, `print | "cmd"`, `|&`) and
 * `@load` run programs; `print > FILE` / `printf >> FILE` write files (a target that is not a
 * string literal is unknown).
 */
export interface AwkEffects {
  /** Runs a command the program computes. */
  runs: boolean;
  /** Commands given as string literals (`system("make")`, `"date" | getline`, `print | "sort"`): judged as shell code. */
  commands: string[];
  /** Files written: a path, or undefined when the target is computed. */
  writes: (string | undefined)[];
}

export function analyseAwk(program: string): AwkEffects {
  const out: AwkEffects = { runs: false, commands: [], writes: [] };
  // The last string literal and whether only that literal sits since the previous operator (for `"cmd" | getline`).
  let lastString: string | undefined;
  const n = program.length;
  let i = 0;
  let inPrint = false;
  let depth = 0;
  // Whether a `/` here starts a regular expression (after an operator) rather than a division.
  let regexAllowed = true;
  while (i < n) {
    const c = program[i] as string;
    if (c === '"') {
      const start = ++i;
      while (i < n && program[i] !== '"') i += program[i] === "\\" ? 2 : 1;
      lastString = program.slice(start, i);
      i++;
      regexAllowed = false;
      continue;
    }
    if (c === "#") {
      while (i < n && program[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && regexAllowed) {
      lastString = undefined;
      i++;
      while (i < n && program[i] !== "/" && program[i] !== "\n") {
        if (program[i] === "[") {
          while (i < n && program[i] !== "]" && program[i] !== "\n") i++;
        }
        i += program[i] === "\\" ? 2 : 1;
      }
      i++;
      regexAllowed = false;
      continue;
    }
    if (/[A-Za-z_@]/.test(c)) {
      lastString = undefined;
      const start = i;
      i++;
      while (i < n && /[A-Za-z0-9_]/.test(program[i] as string)) i++;
      const word = program.slice(start, i);
      if (word === "system") {
        let k = i;
        while (program[k] === " " || program[k] === "\t") k++;
        if (program[k] === "(") {
          // system("literal") is visible; anything else is computed.
          const m = /^\(\s*"((?:[^"\\]|\\.)*)"\s*\)/.exec(program.slice(k, k + 4096));
          if (m) out.commands.push((m[1] as string).replace(/\\(.)/g, "$1"));
          else out.runs = true;
        }
      } else if (word === "@load") out.runs = true;
      else if (word === "print" || word === "printf") {
        inPrint = true;
        depth = 0;
      }
      regexAllowed = word === "print" || word === "printf" || word === "return" || word === "in";
      continue;
    }
    if (c === "|") {
      if (program[i + 1] === "|") {
        i += 2;
        regexAllowed = true;
        lastString = undefined;
        continue;
      }
      // `"cmd" | getline` (the command is the literal before) or `print … | "cmd"` (the literal after).
      let k = i + 1;
      if (program[k] === "&") k++;
      while (program[k] === " " || program[k] === "\t") k++;
      if (program.startsWith("getline", k) && lastString !== undefined && program[i + 1] !== "&") out.commands.push(lastString);
      else if (program[k] === '"' && inPrint) {
        const m = /^"((?:[^"\\]|\\.)*)"\s*(?:[;}\n)]|$)/.exec(program.slice(k, k + 4096));
        if (m) out.commands.push((m[1] as string).replace(/\\(.)/g, "$1"));
        else out.runs = true;
      } else out.runs = true;
      i++;
      continue;
    }
    if (c === "(") depth++;
    else if (c === ")") depth = Math.max(0, depth - 1);
    else if (c === ";" || c === "\n" || c === "}" || c === "{") inPrint = false;
    else if (c === ">" && inPrint && depth === 0) {
      i++;
      if (program[i] === ">") i++;
      while (program[i] === " " || program[i] === "\t") i++;
      if (program[i] === '"') {
        const start = ++i;
        while (i < n && program[i] !== '"') i += program[i] === "\\" ? 2 : 1;
        const target = program.slice(start, i);
        i++;
        // "a" "b" concatenation or a variable after the literal makes it computed.
        let k = i;
        while (program[k] === " " || program[k] === "\t") k++;
        out.writes.push(/^[;}\n)]?$/.test(program[k] ?? "") || k >= n ? target : undefined);
      } else out.writes.push(undefined);
      regexAllowed = true;
      continue;
    }
    if (!/\s/.test(c)) {
      regexAllowed = c !== ")" && c !== "]" && !/[0-9$]/.test(c);
      lastString = undefined;
    }
    i++;
  }
  return out;
}
