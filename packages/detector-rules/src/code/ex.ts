/**
 * Editor commands: vim/ex command lines (`vim -c CMD`, `+CMD`, `--cmd CMD`, `-S` scripts) and
 * ed scripts fed on standard input. Deny by default: only commands known to edit, move around,
 * print or write the buffer are understood; `!`, `:r !cmd`, `:w !cmd`, expressions, `:normal`,
 * `:source`, scripting languages and anything unknown make `runs` true.
 */
export interface EditorEffects {
  runs: boolean;
  writes: string[];
}

const EX_SAFE = new Set([
  "q",
  "qu",
  "qui",
  "quit",
  "qa",
  "qall",
  "quita",
  "quitall",
  "cq",
  "cquit",
  "d",
  "de",
  "del",
  "delete",
  "y",
  "ya",
  "yank",
  "m",
  "mo",
  "move",
  "t",
  "co",
  "copy",
  "j",
  "jo",
  "join",
  "p",
  "pr",
  "print",
  "nu",
  "number",
  "l",
  "list",
  "a",
  "append",
  "i",
  "insert",
  "c",
  "change",
  "u",
  "un",
  "undo",
  "red",
  "redo",
  "noh",
  "nohlsearch",
  "sor",
  "sort",
  "ret",
  "retab",
  "le",
  "left",
  "ri",
  "right",
  "ce",
  "center",
  "syn",
  "syntax",
  "filet",
  "filetype",
  "e",
  "edit",
  "ene",
  "enew",
  "b",
  "bn",
  "bp",
  "bd",
  "bnext",
  "bprevious",
  "bdelete",
  "k",
  "ma",
  "mark",
  "pu",
  "put",
  "norm!",
  "undoj",
  "undojoin",
  "s",
  "su",
  "substitute",
  "g",
  "global",
  "v",
  "vglobal",
  "&",
  "&&",
  "~",
  "w",
  "wr",
  "write",
  "wq",
  "x",
  "xi",
  "xit",
  "exi",
  "exit",
  "wa",
  "wall",
  "wqa",
  "wqall",
  "xa",
  "xall",
  "up",
  "update",
  "sav",
  "saveas",
  "se",
  "set",
  "setl",
  "setlocal",
  "r",
  "read",
  ">",
  "<",
  "=",
]);
const WRITES = new Set(["w", "wr", "write", "wq", "x", "xi", "xit", "exi", "exit", "up", "update", "sav", "saveas"]);
const DANGEROUS_OPTIONS =
  /^(sh|shell|shellcmdflag|shcf|mp|makeprg|gp|grepprg|kp|keywordprg|ep|equalprg|fp|formatprg|dex|diffexpr|pex|patchexpr|bdir|backupdir|dir|directory|udir|undodir|vdir|viewdir|rtp|runtimepath|pp|packpath|ml|modeline|ex|exrc|secure|fex|formatexpr|inex|includeexpr|inde|indentexpr|fde|foldexpr|cfu|completefunc|ofu|omnifunc|tfu|tagfunc|ccv|charconvert|pexpr|printexpr|tsr|thesaurus|shellpipe|sp|shellredir|srr|shelltemp|stmp|viminfo|vi|shada|sd|backup|bk|writebackup|wb|swapfile|swf|undofile|udf)\b/;

/** One ex command line (may hold several commands separated by `|`). */
export function analyseEx(line: string): EditorEffects {
  const out: EditorEffects = { runs: false, writes: [] };
  exCommand(line, out, 0);
  return out;
}

function exCommand(text: string, out: EditorEffects, depth: number): void {
  if (depth > 4) {
    out.runs = true;
    return;
  }
  let s = text.replace(/^[\s:]+/, "");
  if (s === "") return;
  // Range: %, ., $, numbers, marks, /pat/, ?pat?, +-, , ;
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if ("%.$,;+- \t0123456789".includes(c)) i++;
    else if (c === "'" && i + 1 < s.length) i += 2;
    else if (c === "/" || c === "?") {
      const end = s.indexOf(c, i + 1);
      if (end < 0) {
        out.runs = true;
        return;
      }
      i = end + 1;
    } else break;
  }
  s = s.slice(i);
  if (s.startsWith("!")) {
    out.runs = true;
    return;
  }
  const m = /^([A-Za-z]+|[&~<>=])(!?)/.exec(s);
  if (!m) {
    if (s.trim() !== "") out.runs = true;
    return;
  }
  const name = m[1] as string;
  const rest = s.slice(m[0].length);
  if (!EX_SAFE.has(name)) {
    out.runs = true;
    return;
  }
  if (name === "s" || name === "su" || name === "substitute" || name === "&" || name === "&&" || name === "~") {
    const delim = rest[0];
    if (delim && !/[A-Za-z0-9\s"|]/.test(delim)) {
      // s/pat/rep/flags [| next]: `\=` in the replacement is an expression (it can call system()).
      const parts = splitDelimited(rest, delim);
      if (!parts) {
        out.runs = true;
        return;
      }
      if (parts.replacement.startsWith("\\=")) out.runs = true;
      const tail = parts.tail.replace(/^[&cegiInp#lr]*/, "");
      nextCommand(tail, out, depth);
    } else nextCommand(rest, out, depth);
    return;
  }
  if (name === "g" || name === "global" || name === "v" || name === "vglobal") {
    const delim = rest[0];
    if (!delim || /[A-Za-z0-9\s"|]/.test(delim)) {
      out.runs = true;
      return;
    }
    const end = findUnescaped(rest, delim, 1);
    if (end < 0) {
      out.runs = true;
      return;
    }
    // The command runs for each matching line: its whole remainder (including `|`) is that command.
    exCommand(rest.slice(end + 1), out, depth + 1);
    return;
  }
  if (name === "se" || name === "set" || name === "setl" || name === "setlocal") {
    const [options, tail] = splitBar(rest);
    for (const opt of options.trim().split(/\s+/)) if (DANGEROUS_OPTIONS.test(opt.replace(/^(no|inv)/, ""))) out.runs = true;
    nextCommand(tail, out, depth);
    return;
  }
  if (name === "r" || name === "read" || name === "e" || name === "edit") {
    const [arg, tail] = splitBar(rest);
    if (arg.trim().startsWith("!") || arg.includes("`")) out.runs = true;
    nextCommand(tail, out, depth);
    return;
  }
  if (WRITES.has(name) || name === "wa" || name === "wall" || name === "wqa" || name === "wqall" || name === "xa" || name === "xall") {
    const [arg, tail] = splitBar(rest);
    const target = arg.trim().replace(/^>>\s*/, "");
    if (target.startsWith("!") || target.includes("`")) out.runs = true;
    else if (target !== "" && !target.startsWith("++")) out.writes.push(target);
    nextCommand(tail, out, depth);
    return;
  }
  if (name === "norm!" || name === "a" || name === "append" || name === "i" || name === "insert" || name === "c" || name === "change") {
    // Text (or keys) up to the end: it is not a command, unless it is `:normal` keys, which can be.
    if (name === "norm!") out.runs = true;
    return;
  }
  const [, tail] = splitBar(rest);
  nextCommand(tail, out, depth);
}

function nextCommand(text: string, out: EditorEffects, depth: number): void {
  const t = text.trimStart();
  if (t.startsWith("|")) exCommand(t.slice(1), out, depth);
  else if (t !== "" && !t.startsWith('"')) {
    // Arguments the command does not take: not understood.
    if (/[`!]/.test(t)) out.runs = true;
  }
}

function splitBar(text: string): [string, string] {
  const i = findUnescaped(text, "|", 0);
  return i < 0 ? [text, ""] : [text.slice(0, i), text.slice(i)];
}

function findUnescaped(text: string, ch: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === ch) return i;
  }
  return -1;
}

function splitDelimited(text: string, delim: string): { replacement: string; tail: string } | undefined {
  const a = findUnescaped(text, delim, 1);
  if (a < 0) return { replacement: "", tail: "" };
  const b = findUnescaped(text, delim, a + 1);
  if (b < 0) return { replacement: text.slice(a + 1), tail: "" };
  return { replacement: text.slice(a + 1, b), tail: text.slice(b + 1) };
}

/** An ed script (one command per line; `a`/`i`/`c` text runs up to a line holding `.`). */
export function analyseEd(script: string): EditorEffects {
  const out: EditorEffects = { runs: false, writes: [] };
  let text = false;
  for (const raw of script.split("\n")) {
    if (text) {
      if (raw === ".") text = false;
      continue;
    }
    const line = raw.replace(/^[\s.$,;0-9+\-'a-z]*?(?=[a-zA-Z!=]|$)/, "");
    const cmd = line[0];
    if (cmd === undefined) continue;
    if (cmd === "!") {
      out.runs = true;
      continue;
    }
    if (cmd === "a" || cmd === "i" || cmd === "c") {
      text = true;
      continue;
    }
    const arg = line.slice(line[1] === "q" ? 2 : 1).trim();
    if (cmd === "w" || cmd === "W" || cmd === "f") {
      if (arg.startsWith("!")) out.runs = true;
      else if (arg !== "") out.writes.push(arg);
    } else if ((cmd === "r" || cmd === "e" || cmd === "E") && arg.startsWith("!")) out.runs = true;
    else if ((cmd === "g" || cmd === "G" || cmd === "v" || cmd === "V") && line.includes("!")) out.runs = true;
  }
  return out;
}
