import { isCodeFile } from "../engine/paths.js";
import type { SandboxFindingId } from "../findings.js";
import type { CodeLanguage } from "../tools/spec.js";
import { LANGUAGES, type LanguageRules } from "./languages.js";
import { type Scan, scan, type Token } from "./tokens.js";

/** One thing inline code does that the sandbox should contain. */
export interface CodeFinding {
  id: SandboxFindingId;
  what: string;
}

/** A program inline code runs with a literal command: judged as that command. */
export type CodeCommand = { shell: string } | { argv: string[] };

export interface CodeAnalysis {
  findings: CodeFinding[];
  /** Code files the code may write (a literal path when it writes files): their new content is its string literals. */
  writesCode: string[];
  /** The code's string literals. */
  strings: string[];
  /** Commands of process calls whose arguments are literals (`os.system("ls")`, `` `date` ``). */
  commands: CodeCommand[];
}

/** Reads a string literal at `i` (after optional Python prefixes); undefined when it is not a plain literal. */
function literalAt(code: string, i: number, lang: CodeLanguage): { value: string; end: number } | undefined {
  let j = i;
  while (j < code.length && /[rRbBuU]/.test(code[j] as string) && j - i < 2) j++;
  if (/[fF]/.test(code[j] ?? "")) return undefined;
  const quote = code[j];
  if (quote !== "'" && quote !== '"' && !(quote === "`" && lang === "js")) return undefined;
  let k = j + 1;
  let value = "";
  while (k < code.length && code[k] !== quote) {
    if (code[k] === "\\") {
      value += code[k + 1] ?? "";
      k += 2;
      continue;
    }
    value += code[k];
    k++;
  }
  if (k >= code.length) return undefined;
  // Interpolation makes a string computed.
  if (quote !== "'" && /\$\{|#\{|\$[A-Za-z_{]|@\{/.test(value) && lang !== "python") return undefined;
  if (quote === "`" && value.includes("${")) return undefined;
  return { value, end: k + 1 };
}

function skipBlank(code: string, i: number): number {
  while (i < code.length && (code[i] === " " || code[i] === "\t" || code[i] === "\n")) i++;
  return i;
}

/** The literal arguments of a process call starting after the callee name, or undefined when they are computed. */
function callArguments(code: string, end: number, lang: CodeLanguage): CodeCommand | undefined {
  let i = skipBlank(code, end);
  const paren = code[i] === "(";
  if (paren) i = skipBlank(code, i + 1);
  else if (!(lang === "perl" || lang === "ruby")) return undefined;
  const first = literalAt(code, i, lang);
  if (first) {
    let j = skipBlank(code, first.end);
    if (code[j] === "," && lang !== "python") {
      // program, [args] (`execFileSync("git", ["status"])`) or program, args… (perl/ruby system LIST)
      j = skipBlank(code, j + 1);
      const list = code[j] === "[" ? listAt(code, j, lang) : undefined;
      if (list) return { argv: [first.value, ...list.values] };
      const rest: string[] = [];
      let k = j;
      for (;;) {
        const lit = literalAt(code, k, lang);
        if (!lit) break;
        rest.push(lit.value);
        k = skipBlank(code, lit.end);
        if (code[k] !== ",") break;
        k = skipBlank(code, k + 1);
      }
      if (rest.length > 0) return { argv: [first.value, ...rest] };
      return { shell: first.value };
    }
    if (paren ? code[j] === ")" || code[j] === "," : /^[;\n)]|^$/.test(code[j] ?? "")) return { shell: first.value };
    return undefined;
  }
  if (code[i] === "[") {
    const list = listAt(code, i, lang);
    if (list && list.values.length > 0) return { argv: list.values };
  }
  return undefined;
}

function listAt(code: string, i: number, lang: CodeLanguage): { values: string[]; end: number } | undefined {
  const values: string[] = [];
  let k = skipBlank(code, i + 1);
  while (code[k] !== "]") {
    const lit = literalAt(code, k, lang);
    if (!lit) return undefined;
    values.push(lit.value);
    k = skipBlank(code, lit.end);
    if (code[k] === ",") k = skipBlank(code, k + 1);
    else if (code[k] !== "]") return undefined;
  }
  return { values, end: k + 1 };
}

/** A call whose first argument is one literal http(s) URL (`urlopen("https://x/a")`, `fetch('http://localhost:3000')`). */
function literalUrlCall(code: string, end: number, lang: CodeLanguage): boolean {
  let i = skipBlank(code, end);
  if (code[i] === "(") i = skipBlank(code, i + 1);
  else if (!(lang === "perl" || lang === "ruby")) return false;
  const lit = literalAt(code, i, lang);
  if (!lit || !/^https?:\/\/[^\s]+$/.test(lit.value)) return false;
  const after = skipBlank(code, lit.end);
  return code[after] === ")" || code[after] === "," || code[after] === undefined || code[after] === ";" || code[after] === "\n";
}

/** Whether a token sits in an import (`import subprocess`, `require("child_process")`, `use IPC::Open3`, `const { execSync } = require(…)`). */
function inImport(code: string, token: Token): boolean {
  const lineStart = Math.max(code.lastIndexOf("\n", token.start - 1), code.lastIndexOf(";", token.start - 1)) + 1;
  const before = code.slice(lineStart, token.start);
  if (token.inString) return /\b(require|import|from|use)\s*\(?\s*['"]$/.test(before);
  if (/^\s*(const|let|var)\s*\{[^}]*$/.test(before)) return true;
  if (token.next === "(") return false;
  return /^\s*(import|from|use|require)\b[^(]*$/.test(before);
}

interface NameMatcher {
  exact: Set<string>;
  members: Set<string>;
  calls: Set<string>;
  prefixes: string[];
}

function compile(entries: readonly string[]): NameMatcher {
  const m: NameMatcher = { exact: new Set(), members: new Set(), calls: new Set(), prefixes: [] };
  for (const e of entries) {
    if (e.endsWith("*")) m.prefixes.push(e.slice(0, -1));
    else if (e.endsWith("(")) m.calls.add(e.slice(0, -1));
    else if (e.startsWith(".")) m.members.add(e.slice(1));
    else m.exact.add(e);
  }
  return m;
}

function lastSegment(name: string): string {
  const i = Math.max(name.lastIndexOf("."), name.lastIndexOf(":"), name.lastIndexOf(">"));
  return i < 0 ? name : name.slice(i + 1);
}

function matches(m: NameMatcher, token: Token): boolean {
  const name = token.name;
  if (m.exact.has(name)) return true;
  if (m.exact.size > 0) {
    // A chain below a listed module (`subprocess.run`), or the listed chain at its end (`self.os.system`).
    for (let i = name.indexOf("."); i > 0; i = name.indexOf(".", i + 1)) if (m.exact.has(name.slice(0, i))) return true;
    for (let i = name.indexOf("::"); i > 0; i = name.indexOf("::", i + 2)) if (m.exact.has(name.slice(0, i))) return true;
  }
  const last = lastSegment(name);
  if (name !== last && m.members.has(last)) return true;
  if (token.next === "(" && m.calls.has(last)) return true;
  for (const p of m.prefixes) if (name.startsWith(p)) return true;
  return false;
}

interface Compiled {
  runs: NameMatcher;
  dynamic: NameMatcher;
  files: NameMatcher;
  network: NameMatcher;
  gets: NameMatcher;
  packages: NameMatcher;
  native: NameMatcher;
  opens: Set<string>;
  rules: LanguageRules;
}

const compiled = new Map<CodeLanguage, Compiled>();
function rulesFor(lang: CodeLanguage): Compiled | undefined {
  const cached = compiled.get(lang);
  if (cached) return cached;
  const rules = LANGUAGES[lang];
  if (!rules) return undefined;
  const c: Compiled = {
    runs: compile(rules.runs),
    dynamic: compile(rules.dynamic),
    files: compile(rules.files),
    network: compile(rules.network),
    gets: compile(rules.gets ?? []),
    packages: compile(rules.packages),
    native: compile(rules.native),
    opens: new Set(rules.opens),
    rules,
  };
  compiled.set(lang, c);
  return c;
}

const WRITE_MODE = /^[rwxabt+U]*[wax+][rwxabt+U]*$/;
const PERL_WRITE = /^\s*(\+?>|>>|\|)/;
const DYNAMIC_PATH_SOURCES = new Set([
  "expanduser",
  "expandvars",
  "environ",
  "getenv",
  "argv",
  "ARGV",
  "input",
  "homedir",
  "__file__",
  "glob",
  "walk",
  "listdir",
  "scandir",
  "readdir",
  "readdirSync",
  "stdin",
  "ENV",
  "$_",
  "$ARGV",
  "$ENV",
  "$_SERVER",
  "$_GET",
  "$_POST",
  "Sys.getenv",
  "path.expand",
  "homedir",
  "tmpdir",
]);

/** Whether a string literal could aim a write or delete outside the project. */
function riskyPathLiteral(s: string): boolean {
  if (s.startsWith("/") && !/^\/(tmp|var\/tmp)\/[^*?]/.test(s) && s !== "/dev/null") return true;
  if (s.startsWith("~") || s.includes("$HOME") || s.includes("%USERPROFILE%")) return true;
  return s === ".." || s.startsWith("../") || s.includes("/../") || s.endsWith("/..");
}

/**
 * What visible inline code does that the sandbox should contain. Empty when it only computes,
 * prints, or writes and deletes named relative paths inside the project. A language without
 * rules is not analysed at all: its code goes to the sandbox unless it is empty.
 */
export function analyseCode(code: string, lang: CodeLanguage): CodeAnalysis {
  const rules = rulesFor(lang);
  const commands: CodeCommand[] = [];
  if (!rules)
    return {
      writesCode: [],
      strings: [],
      findings:
        code.trim() === ""
          ? []
          : [{ id: "code.unanalysed", what: `is ${lang === "unknown" ? "code in a language" : lang} the detector does not analyse` }],
      commands,
    };
  const s: Scan = scan(code);
  const found = new Map<SandboxFindingId, string>();
  const add = (id: SandboxFindingId, what: string) => {
    if (!found.has(id)) found.set(id, what);
  };
  let files = false;
  const gets: string[] = [];
  const networkImports: string[] = [];
  let dynamicPaths = false;
  let opens = false;
  for (const t of s.names) {
    if (matches(rules.runs, t)) {
      // A process call with a literal command is judged as that command; anything else is not visible.
      if (inImport(code, t)) continue;
      const call = t.inString || rules.rules.opaqueCalls ? undefined : callArguments(code, t.end, lang);
      if (call) commands.push(call);
      else add("code.runs-programs", `runs other programs (${t.name})`);
    }
    if (matches(rules.dynamic, t)) {
      // Perl's `eval { … }` is exception handling, not code from a string.
      if (!(lang === "perl" && t.name === "eval" && t.next === "{"))
        add("code.dynamic", `evaluates code the detector cannot see (${t.name})`);
    }
    if (matches(rules.network, t)) {
      // Imports of network modules do nothing by themselves; a GET of one literal URL reads (R4).
      // A name inside a string counts only as a whole string (`__import__("socket")`), not as part of a URL.
      if (t.inString && !(/['"`]/.test(code[t.start - 1] ?? "") && /['"`]/.test(code[t.end] ?? ""))) continue;
      if (t.inString ? inImport(code, t) : inImport(code, t) && t.next !== "(") {
        networkImports.push(t.name);
        continue;
      }
      if (!t.inString && matches(rules.gets, t) && literalUrlCall(code, t.end, lang)) gets.push(t.name);
      else add("code.network", `opens network connections (${t.name})`);
    }
    if (matches(rules.packages, t)) add("code.packages", `manages packages (${t.name})`);
    if (matches(rules.native, t)) add("code.runs-programs", `loads native code (${t.name})`);
    if (matches(rules.files, t)) files = true;
    if (rules.opens.has(t.name) || rules.opens.has(lastSegment(t.name))) opens = true;
    if (
      !t.inString &&
      (DYNAMIC_PATH_SOURCES.has(t.name) ||
        DYNAMIC_PATH_SOURCES.has(lastSegment(t.name)) ||
        /^(process\.env|os\.environ|os\.getenv|Path\.home|os\.homedir|Dir\.home|ENV)(\.|$)/.test(t.name))
    )
      dynamicPaths = true;
    if (lang === "php" && t.name.startsWith("$") && t.next === "(") add("code.dynamic", `calls a function held in a variable (${t.name})`);
  }
  // Process functions bound under other names cannot be followed: `from subprocess import run`,
  // `import os as o`, `const { exec: e } = require("child_process")`.
  const head = code.length > 65536 ? code.slice(0, 65536) : code;
  if (lang === "python") {
    if (
      /\bfrom\s+(subprocess|pty|pexpect|commands|popen2|plumbum|sh)\s+import\b/.test(head) ||
      /\bimport\s+(os|subprocess|pty|pexpect|commands|posix)\s+as\b/.test(head)
    )
      add("code.runs-programs", "runs other programs through a name the detector cannot follow");
    const fromOs = /\bfrom\s+(os|posix|nt)\s+import\s+([^\n;]+)/.exec(head);
    if (fromOs && /\b(system|popen|exec\w*|spawn\w*|fork\w*|kill\w*|posix_spawn\w*|startfile)\b|\*/.test(fromOs[2] as string))
      add("code.runs-programs", "runs other programs through a name the detector cannot follow");
  }
  if (
    lang === "js" &&
    /\{[^}]*(\bas\s+\w+|\w+\s*:\s*\w+)[^}]*\}\s*(=\s*require\s*\(\s*['"](node:)?child_process|from\s*['"](node:)?child_process)/.test(head)
  )
    add("code.runs-programs", "runs other programs through a name the detector cannot follow");
  if (rules.rules.backticksRun && s.backticks) {
    for (const m of code.slice(0, 65536).matchAll(/`([^`]*)`/g)) {
      const body = m[1] as string;
      if (/\$|#\{/.test(body)) add("code.runs-programs", "runs shell commands built in backticks");
      else commands.push({ shell: body });
    }
    if ((code.match(/`/g)?.length ?? 0) % 2 === 1) add("code.runs-programs", "runs shell commands in backticks");
  }
  if ((lang === "ruby" || lang === "perl") && /%x[({[<|!/]|\bqx\s*[({[<|!/'"]/.test(code.length > 65536 ? code.slice(0, 65536) : code))
    add("code.runs-programs", "runs shell commands (%x, qx)");
  if (lang === "perl" && opens && s.strings.some((str) => /^\s*\||\|\s*$/.test(str) || str === "-|" || str === "|-"))
    add("code.runs-programs", "opens a pipe to a command");
  if (lang === "ruby" && s.strings.some((str) => str.startsWith("|"))) add("code.runs-programs", "opens a pipe to a command");
  if (lang === "tcl" && s.strings.some((str) => str.startsWith("|"))) add("code.runs-programs", "opens a pipe to a command");
  if (lang === "php" && s.strings.some((str) => /^(https?|ftp|php):\/\//.test(str))) add("code.network", "reads a URL");
  // Importing a network module is using it, unless the code only does literal GETs through the
  // module's own name (no `from m import x`, no alias, no destructuring that could hide a POST).
  const head64 = code.length > 65536 ? code.slice(0, 65536) : code;
  if (
    networkImports.length > 0 &&
    (gets.length === 0 ||
      /\bfrom\s+\S+\s+import\b(?!\s+(urlopen|get|head)\s*(;|$))|\bimport\s+\S+\s+as\b|\{[^}]*\}\s*=\s*require|import\s*\{/m.test(head64))
  )
    add("code.network", `opens network connections (${networkImports[0]})`);
  // A GET that names a state-changing method or sends a body is not a read.
  if (
    gets.length > 0 &&
    (s.strings.some((str) => /^(POST|PUT|PATCH|DELETE)$/i.test(str)) || /\b(data|body|json|files|method)\s*[=:]/.test(code))
  )
    add("code.network", `sends data over the network (${gets[0]})`);
  if (opens) {
    const writeMode = lang === "perl" ? s.strings.some((str) => PERL_WRITE.test(str)) : s.strings.some((str) => WRITE_MODE.test(str));
    if (writeMode) files = true;
  }
  if (files) {
    const literals = s.strings.filter((str) => str.trim() !== "");
    if (literals.length === 0 || dynamicPaths || literals.some(riskyPathLiteral))
      add("code.changes-files", "writes, moves or deletes files it names outside the project or computes");
  }
  const writesCode = files ? s.strings.filter((str) => /^[\w./-]+$/.test(str) && isCodeFile(str.startsWith("/") ? str : `/${str}`)) : [];
  return { findings: [...found].map(([id, what]) => ({ id, what })), commands, writesCode, strings: s.strings };
}
