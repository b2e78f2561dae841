/**
 * A single-pass scanner for code of C-like and scripting languages: names (dotted chains such as
 * `os.system`, `Net::HTTP`, `$obj->run`), string literals, and the character that follows a name.
 * It never backtracks, so it is linear in the length of the code. String contents are scanned as
 * code too (a name inside a string still counts): interpolation (`f"{…}"`, `"#{…}"`, template
 * literals) makes strings code in most of these languages, and a false alarm only costs a sandbox
 * run.
 */
export interface Token {
  /** A name or dotted chain (`os.system`, `child_process`, `FileUtils.rm_rf`). */
  name: string;
  /** The next non-blank character after the name (`(` for a call). */
  next: string;
  /** Found inside a string literal. */
  inString: boolean;
  /** Where the name starts and ends in the code. */
  start: number;
  end: number;
}

export interface Scan {
  names: Token[];
  /** String literal contents, in order (for path checks). */
  strings: string[];
  /** A backtick appears (runs a command in Ruby, Perl, PHP, Julia and shells). */
  backticks: boolean;
}

const MAX_ITEMS = 20_000;

function isNameChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36;
}

function scanNames(code: string, from: number, to: number, out: Token[], inString = false): void {
  let i = from;
  while (i < to) {
    if (!isNameChar(code.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i;
    for (;;) {
      while (j < to && isNameChar(code.charCodeAt(j))) j++;
      if (j + 1 < to && code[j] === "." && isNameChar(code.charCodeAt(j + 1))) {
        j++;
        continue;
      }
      if (j + 2 < to && code[j] === ":" && code[j + 1] === ":" && isNameChar(code.charCodeAt(j + 2))) {
        j += 2;
        continue;
      }
      if (j + 2 < to && code[j] === "-" && code[j + 1] === ">" && isNameChar(code.charCodeAt(j + 2))) {
        j += 2;
        continue;
      }
      break;
    }
    let k = j;
    while (k < to && (code[k] === " " || code[k] === "\t")) k++;
    if (out.length < MAX_ITEMS) out.push({ name: code.slice(i, j), next: k < to ? (code[k] as string) : "", inString, start: i, end: j });
    i = j;
  }
}

export function scan(code: string): Scan {
  const names: Token[] = [];
  const strings: string[] = [];
  let backticks = false;
  const n = code.length;
  let i = 0;
  let start = 0;
  while (i < n) {
    const c = code.charCodeAt(i);
    if (c === 96) backticks = true;
    if (c !== 39 && c !== 34) {
      i++;
      continue;
    }
    // Code up to the quote, then the string: its content is recorded and scanned for names too.
    scanNames(code, start, i, names);
    const quote = code[i];
    let j = i + 1;
    while (j < n && code[j] !== quote && code[j] !== "\n") j += code[j] === "\\" ? 2 : 1;
    const end = Math.min(j, n);
    if (strings.length < MAX_ITEMS) strings.push(code.slice(i + 1, end));
    scanNames(code, i + 1, end, names, true);
    for (let b = i + 1; b < end; b++) if (code.charCodeAt(b) === 96) backticks = true;
    i = end + 1;
    start = i;
  }
  scanNames(code, start, n, names);
  return { names, strings, backticks };
}
