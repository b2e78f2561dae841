/**
 * sed scripts, parsed command by command in one pass (no regular expressions on the script):
 * `e` and the `s///e` flag run commands; `w FILE`, `W FILE` and the `s///w FILE` flag write files.
 * A script the parser does not understand is reported as such (the caller sends it to the sandbox).
 */
export interface SedEffects {
  /** Runs the pattern space or a command the script computes (`e` alone, the `s///e` flag). */
  runs: boolean;
  /** Commands given in the script (`e COMMAND`): visible, judged as shell code. */
  commands: string[];
  writes: string[];
  /** Text the script puts into the file: `s` replacements (with `\/` unescaped) and `a`/`i`/`c` text. */
  inserted: string[];
  /** The parser met something it does not know. */
  unknown: boolean;
}

const SIMPLE = new Set(["d", "D", "g", "G", "h", "H", "l", "n", "N", "p", "P", "x", "z", "=", "F", "}"]);

export function analyseSed(script: string): SedEffects {
  const out: SedEffects = { runs: false, commands: [], writes: [], inserted: [], unknown: false };
  const n = script.length;
  let i = 0;
  const skipBlank = () => {
    while (i < n && (script[i] === " " || script[i] === "\t")) i++;
  };
  const readToEol = (): string => {
    const start = i;
    while (i < n && script[i] !== "\n") i++;
    return script.slice(start, i);
  };
  /** A delimited section (`/re/`, or `\cREc`) starting at i (the delimiter); returns false on an unterminated one. */
  const skipDelimited = (delim: string, regex = true): boolean => {
    i++;
    while (i < n && script[i] !== delim) {
      if (script[i] === "\\") i++;
      else if (script[i] === "\n" && delim !== "\n") return false;
      else if (regex && script[i] === "[") {
        // A bracket expression: the delimiter is literal inside it (GNU sed).
        let j = i + 1;
        if (script[j] === "^") j++;
        if (script[j] === "]") j++;
        while (j < n && script[j] !== "]" && script[j] !== "\n") {
          if (script[j] === "[" && (script[j + 1] === ":" || script[j + 1] === "." || script[j + 1] === "=")) {
            const close = script.indexOf(`${script[j + 1]}]`, j + 2);
            if (close < 0) return false;
            j = close + 2;
          } else j++;
        }
        if (script[j] !== "]") return false;
        i = j;
      }
      i++;
    }
    if (i >= n) return false;
    i++;
    return true;
  };
  const address = (): boolean => {
    skipBlank();
    if (script[i] === "$") i++;
    else if (script[i] === "/") {
      if (!skipDelimited("/")) return false;
      while (script[i] === "I" || script[i] === "M") i++;
    } else if (script[i] === "\\" && i + 1 < n) {
      i++;
      if (!skipDelimited(script[i] as string)) return false;
      while (script[i] === "I" || script[i] === "M") i++;
    } else {
      while (i < n && /[0-9~+]/.test(script[i] as string)) i++;
    }
    return true;
  };
  while (i < n) {
    skipBlank();
    const c = script[i];
    if (c === undefined) break;
    if (c === "\n" || c === ";") {
      i++;
      continue;
    }
    if (c === "#") {
      readToEol();
      continue;
    }
    // Addresses: ADDR[,ADDR][!]
    if (!address()) return { ...out, unknown: true };
    skipBlank();
    if (script[i] === ",") {
      i++;
      if (!address()) return { ...out, unknown: true };
    }
    skipBlank();
    while (script[i] === "!") {
      i++;
      skipBlank();
    }
    const cmd = script[i];
    if (cmd === undefined) break;
    i++;
    if (cmd === "{" || SIMPLE.has(cmd)) continue;
    if (cmd === "\n" || cmd === ";") continue;
    switch (cmd) {
      case "s": {
        const delim = script[i];
        if (delim === undefined || delim === "\n" || delim === "\\") return { ...out, unknown: true };
        // pattern and replacement
        if (!skipDelimited(delim)) return { ...out, unknown: true };
        i--;
        const from = i + 1;
        if (!skipDelimited(delim, false)) return { ...out, unknown: true };
        out.inserted.push(script.slice(from, i - 1).replace(/\\(.)/g, "$1"));
        // flags
        while (i < n && /[gpiImMe0-9]/.test(script[i] as string)) {
          if (script[i] === "e") out.runs = true;
          i++;
        }
        if (script[i] === "w") {
          i++;
          skipBlank();
          out.writes.push(readToEol().trim());
        }
        continue;
      }
      case "y": {
        const delim = script[i];
        if (delim === undefined || delim === "\n" || delim === "\\") return { ...out, unknown: true };
        if (!skipDelimited(delim)) return { ...out, unknown: true };
        i--;
        if (!skipDelimited(delim)) return { ...out, unknown: true };
        continue;
      }
      case "e": {
        skipBlank();
        const command = readToEol().trim();
        if (command === "") out.runs = true;
        else out.commands.push(command);
        continue;
      }
      case "w":
      case "W":
        skipBlank();
        out.writes.push(readToEol().trim());
        continue;
      case "r":
      case "R":
        readToEol();
        continue;
      case "a":
      case "i":
      case "c":
        {
          // Text to the end of the line (GNU one-liner form), with backslash continuations.
          const from = i;
          while (i < n && script[i] !== "\n") i += script[i] === "\\" ? 2 : 1;
          out.inserted.push(
            script
              .slice(from, i)
              .replace(/^\s*\\?\s*/, "")
              .replace(/\\(.)/g, "$1"),
          );
        }
        continue;
      case ":":
        readToEol();
        continue;
      case "b":
      case "t":
      case "T":
        while (i < n && script[i] !== ";" && script[i] !== "\n" && script[i] !== "}") i++;
        continue;
      case "q":
      case "Q":
      case "l":
      case "L":
        while (i < n && /[0-9 \t]/.test(script[i] as string)) i++;
        continue;
      case "v":
        while (i < n && script[i] !== ";" && script[i] !== "\n") i++;
        continue;
      default:
        return { ...out, unknown: true };
    }
  }
  return out;
}
