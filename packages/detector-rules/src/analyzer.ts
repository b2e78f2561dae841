import type { Command, CommandNode, ParsedScript, Pipeline, Redirection, Statement, SyntaxNode, Word } from "unbash";
import { forEachChild, parse } from "unbash";
import { analyseAwk, analyseCode, analyseSed, type CodeFinding } from "./inline-code.js";
import { hasFlag, matches as matchesRule, positionals, type RuleIndex } from "./matcher.js";
import { classifyPath, type DirState, isWholeDirectory, type PathClass } from "./paths.js";
import { KNOWN_COMMANDS } from "./rules/index.js";
import { syntheticWord, type WordInfo, wordInfo } from "./words.js";

/** One reason to run a command somewhere, with the part of the command that triggered it. */
export interface Finding {
  id: string;
  verdict: "sandbox" | "local";
  policy?: number;
  /** What the rule says, in a few words. */
  what: string;
  /** The part of the command line it is about. */
  at: string;
}

interface Scope {
  cwd: DirState;
  /** Where commands run if an earlier `cd` (not guarded by `&&`) failed. */
  fallback: DirState | undefined;
  vars: Map<string, string>;
  functions: Set<string>;
  downloads: Set<string>;
  depth: number;
}

interface PipeContext {
  index: number;
  stages: readonly CommandNode[];
  src: string;
}

/** One command to judge: a parsed simple command, or one made up from a wrapper's arguments. */
interface Invocation {
  name: WordInfo;
  args: WordInfo[];
  /** A heredoc or herestring fed to its stdin. */
  input?: { text: string; static: boolean } | undefined;
  pipe?: PipeContext | undefined;
  /** Arguments appended at run time that the detector cannot see (xargs). */
  unknownArgs?: boolean;
  /** Paths that the unknown arguments come from (the producer of an xargs pipeline), when known. */
  unknownArgsClass?: PathClass;
  at: string;
}

const MAX_DEPTH = 8;
/** How bad a path class is for a write or delete: the worst one decides. */
const PATH_RANK: Record<PathClass, number> = { null: 0, inside: 1, tmp: 2, "tmp-all": 3, device: 4, outside: 5, unknown: 6 };
/** Commands handled by the engine rather than by data rules, but just as worth disguising. */
const RISKY_NAMES = new Set([
  "rm",
  "rmdir",
  "unlink",
  "mv",
  "cp",
  "dd",
  "chmod",
  "curl",
  "wget",
  "git",
  "python",
  "python3",
  "node",
  "perl",
  "ruby",
  "find",
  "xargs",
  "tar",
  "sed",
  "awk",
  "tee",
  "truncate",
  "ln",
  "source",
  ".",
]);
const SHELLS = new Set(["bash", "sh", "zsh", "dash", "ksh", "ash", "mksh", "fish", "busybox", "rbash"]);
const DOWNLOADERS = new Set(["curl", "wget", "fetch", "http", "https", "xh", "aria2c", "lwp-download", "GET"]);
const DB_CLIENTS = new Set(["psql", "mysql", "mariadb", "mongosh", "mongo", "redis-cli", "sqlcmd", "cqlsh", "clickhouse-client"]);
const INTERPRETER_LANG: Record<string, "python" | "js" | "ruby" | "perl" | "php" | "other"> = {
  python: "python",
  python2: "python",
  python3: "python",
  py: "python",
  pypy: "python",
  pypy3: "python",
  ipython: "python",
  node: "js",
  nodejs: "js",
  deno: "js",
  bun: "js",
  tsx: "js",
  "ts-node": "js",
  ruby: "ruby",
  irb: "ruby",
  perl: "perl",
  php: "php",
  lua: "other",
  luajit: "other",
  Rscript: "other",
  R: "other",
  osascript: "other",
  pwsh: "other",
  powershell: "other",
  tclsh: "other",
  wish: "other",
  julia: "other",
  groovy: "other",
};
const INLINE_CODE_FLAGS = new Set(["-c", "-e", "-E", "-r", "--eval", "-p", "--print", "--command", "-x"]);
const PYTHON_NAME = /^python[0-9.]*$|^pypy[0-9.]*$/;
const PIP_NAME = /^pip[0-9.]*$/;
const LOCALHOST = /^(https?:\/\/|ftp:\/\/)?(localhost|127(\.\d+){3}|\[::1\]|0\.0\.0\.0|host\.docker\.internal)([:/?#]|$)/i;
const READONLY_GIT = new Set([
  "status",
  "log",
  "diff",
  "show",
  "blame",
  "ls-files",
  "ls-tree",
  "rev-parse",
  "rev-list",
  "describe",
  "shortlog",
  "grep",
  "cat-file",
  "reflog",
  "whatchanged",
  "name-rev",
  "for-each-ref",
  "show-ref",
  "count-objects",
  "check-ignore",
  "var",
  "help",
  "version",
  "--version",
]);

/** Wrappers whose arguments are another command: how many leading arguments to skip, and which options take a value. */
const WRAPPERS: Record<string, { valueOptions: string[]; leading?: (args: string[]) => number }> = {
  sudo: { valueOptions: ["-u", "-g", "-h", "-p", "-C", "-D", "-R", "-T", "-U", "--user", "--group", "--host", "--prompt", "--chdir"] },
  doas: { valueOptions: ["-u", "-C"] },
  pkexec: { valueOptions: ["--user"] },
  runuser: { valueOptions: ["-u", "-g", "-G", "--user", "--group"] },
  env: { valueOptions: ["-u", "--unset", "-C", "--chdir", "-S", "--split-string"] },
  time: { valueOptions: ["-f", "--format", "-o", "--output"] },
  nohup: { valueOptions: [] },
  nice: { valueOptions: ["-n", "--adjustment"] },
  ionice: { valueOptions: ["-c", "-n", "-p", "-P", "-u", "--class", "--classdata"] },
  stdbuf: { valueOptions: ["-i", "-o", "-e"] },
  timeout: { valueOptions: ["-s", "--signal", "-k", "--kill-after"], leading: () => 1 },
  chronic: { valueOptions: [] },
  unbuffer: { valueOptions: [] },
  caffeinate: { valueOptions: ["-t", "-w"] },
  setsid: { valueOptions: [] },
  command: { valueOptions: [] },
  builtin: { valueOptions: [] },
  exec: { valueOptions: ["-a"] },
  xargs: {
    valueOptions: [
      "-n",
      "-I",
      "-i",
      "-P",
      "-L",
      "-l",
      "-d",
      "-a",
      "-E",
      "-e",
      "-s",
      "--max-args",
      "--replace",
      "--max-procs",
      "--max-lines",
      "--delimiter",
      "--arg-file",
      "--eof",
      "--max-chars",
      "--process-slot-var",
    ],
  },
  watch: { valueOptions: ["-n", "--interval", "-d", "--differences", "-q", "--equexit"] },
  strace: { valueOptions: ["-o", "-e", "-p", "-s", "-u", "-E"] },
  ltrace: { valueOptions: ["-o", "-e", "-p", "-s", "-u"] },
  flock: { valueOptions: ["-w", "--timeout", "-E", "--conflict-exit-code"], leading: () => 1 },
  "cross-env": { valueOptions: [] },
  dotenv: { valueOptions: ["-e", "-v"] },
  "env-cmd": { valueOptions: ["-f", "--file", "-e", "--environments"] },
  firejail: { valueOptions: [] },
  proxychains: { valueOptions: ["-f"] },
  proxychains4: { valueOptions: ["-f"] },
  torsocks: { valueOptions: [] },
  faketime: { valueOptions: [], leading: () => 1 },
  chrt: { valueOptions: [], leading: () => 1 },
  taskset: { valueOptions: [], leading: () => 1 },
  numactl: { valueOptions: [] },
};

/** `tool SUBCOMMAND cmd…` forms that run a command from the project's environment. */
const RUNNERS: Array<{ name: string; sub: string[]; valueOptions: string[] }> = [
  {
    name: "uv",
    sub: ["run"],
    valueOptions: ["--with", "--python", "-p", "--directory", "--project", "--package", "--env-file", "--extra", "--group"],
  },
  { name: "poetry", sub: ["run"], valueOptions: ["-C", "--directory", "-P", "--project"] },
  { name: "pipenv", sub: ["run"], valueOptions: [] },
  { name: "pdm", sub: ["run"], valueOptions: [] },
  { name: "hatch", sub: ["run"], valueOptions: [] },
  { name: "bundle", sub: ["exec"], valueOptions: [] },
  { name: "bundler", sub: ["exec"], valueOptions: [] },
  { name: "conda", sub: ["run"], valueOptions: ["-n", "--name", "-p", "--prefix"] },
  { name: "mamba", sub: ["run"], valueOptions: ["-n", "--name", "-p", "--prefix"] },
  { name: "micromamba", sub: ["run"], valueOptions: ["-n", "--name", "-p", "--prefix"] },
  { name: "pnpm", sub: ["exec"], valueOptions: ["-C", "--dir", "--filter"] },
  { name: "yarn", sub: ["exec"], valueOptions: [] },
  { name: "npm", sub: ["exec", "--no", "--"], valueOptions: [] },
  { name: "npx", sub: ["--no-install"], valueOptions: [] },
  { name: "npx", sub: ["--no"], valueOptions: [] },
  { name: "npx", sub: ["--offline"], valueOptions: [] },
  { name: "nix-shell", sub: ["--run"], valueOptions: [] },
];

/** The source of a node; cut to 200 characters here, tidied only when a finding is recorded (hot path). */
function snippet(src: string, node: { pos: number; end: number }): string {
  return src.slice(node.pos, Math.min(node.end, node.pos + 200));
}

function tidy(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 80 ? `${flat.slice(0, 77)}…` : flat;
}

function cloneScope(scope: Scope, depthIncrement = 0): Scope {
  return {
    cwd: scope.cwd,
    fallback: scope.fallback,
    vars: new Map(scope.vars),
    functions: new Set(scope.functions),
    downloads: scope.downloads,
    depth: scope.depth + depthIncrement,
  };
}

function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** Walks a command line and collects findings. One instance per detection. */
export class Analyzer {
  readonly findings: Finding[] = [];

  constructor(
    private readonly project: string,
    private readonly rules: RuleIndex,
    private readonly user: { deny: RuleIndex; allow: RuleIndex },
  ) {}

  run(command: string): void {
    const scope: Scope = {
      cwd: { path: this.project },
      fallback: undefined,
      vars: new Map(),
      functions: new Set(),
      downloads: new Set(),
      depth: 0,
    };
    this.scriptText(command, scope, command);
  }

  private add(id: string, verdict: "sandbox" | "local", what: string, raw: string, policy?: number): void {
    const at = tidy(raw);
    if (this.findings.some((f) => f.id === id && f.at === at)) return;
    this.findings.push({ id, verdict, what, at, ...(policy ? { policy } : {}) });
  }

  private sandbox(id: string, policy: number, what: string, at: string): void {
    this.add(id, "sandbox", what, at, policy);
  }

  /** Parses shell text (a command line, a `bash -c` string, a trap, a heredoc fed to a shell). */
  private scriptText(text: string, scope: Scope, at: string): void {
    if (scope.depth > MAX_DEPTH) return this.sandbox("parse.too-deep", 8, "nests shells too deeply to analyse", at);
    let ast: ParsedScript;
    try {
      ast = parse(text);
    } catch {
      return this.sandbox("parse.error", 8, "cannot be parsed", at);
    }
    this.script(ast, scope, ast.source ?? text);
  }

  private script(ast: ParsedScript, scope: Scope, src: string): void {
    for (const error of ast.errors ?? [])
      this.sandbox(
        "parse.error",
        8,
        `does not parse (${error.message})`,
        snippet(src, { pos: error.pos, end: Math.min(src.length, error.pos + 40) }) || src.slice(0, 80),
      );
    this.substitutions(ast, scope, src);
    for (const statement of ast.commands) this.statement(statement, scope, src);
  }

  /** Every command substitution, process substitution and `$((…$(…)…))` below `node`, analysed as a script of its own. */
  private substitutions(node: SyntaxNode, scope: Scope, src: string): void {
    forEachChild(node, (child) => {
      if (
        (child.type === "CommandExpansion" || child.type === "ProcessSubstitution" || child.type === "ArithmeticCommandExpansion") &&
        child.script
      ) {
        this.script(child.script, cloneScope(scope, 1), child.script.source ?? src);
        return;
      }
      if (child.type === "Script") return;
      if (child.type === "ArithmeticExpansion" && (!child.expression || hasSpacedWord(child.expression))) {
        // Not arithmetic: judged as the command substitution a reader might take it for (fail closed).
        this.scriptText(`( ${child.text.slice(3, -2)} )`, cloneScope(scope, 1), child.text);
      }
      this.substitutions(child, scope, src);
    });
  }

  private statement(statement: Statement, scope: Scope, src: string): void {
    this.node(statement.command, scope, src, undefined);
  }

  private node(
    node:
      | CommandNode
      | Pipeline
      | { type: "AndOr"; commands: readonly (CommandNode | Pipeline)[]; operators: readonly string[] }
      | SyntaxNode,
    scope: Scope,
    src: string,
    pipe: PipeContext | undefined,
  ): void {
    switch (node.type) {
      case "Command":
        return this.command(node, scope, src, pipe);
      case "Pipeline":
        node.commands.forEach((stage, index) => {
          this.node(stage, index > 0 ? cloneScope(scope) : scope, src, { index, stages: node.commands, src });
        });
        return;
      case "AndOr": {
        const before: DirState = scope.cwd;
        let cdSeen = false;
        node.commands.forEach((part, i) => {
          this.node(part, scope, src, undefined);
          const isCd = part.type === "Command" && part.name?.value === "cd";
          if (isCd) cdSeen = true;
          // After `cd X &&`, what follows runs only if the cd worked.
          if (isCd && node.operators[i] === "&&") scope.fallback = undefined;
        });
        if (cdSeen) scope.fallback = before;
        return;
      }
      case "Subshell":
      case "BraceGroup":
        return this.list(node.body.commands, node.type === "Subshell" ? cloneScope(scope) : scope, src);
      case "If":
        this.list(node.clause.commands, scope, src);
        this.list(node.then.commands, cloneScope(scope), src);
        for (const elif of node.elif) {
          this.list(elif.clause.commands, scope, src);
          this.list(elif.then.commands, cloneScope(scope), src);
        }
        if (node.else) this.list(node.else.commands, cloneScope(scope), src);
        return;
      case "While":
        this.list(node.clause.commands, scope, src);
        return this.list(node.body.commands, cloneScope(scope), src);
      case "For":
      case "Select": {
        const inner = cloneScope(scope);
        const items = (node.wordlist ?? []).map(wordInfo);
        const worst = this.worstValue(items, scope);
        if (worst !== undefined) inner.vars.set(node.name.value, worst);
        else inner.vars.delete(node.name.value);
        return this.list(node.body.commands, inner, src);
      }
      case "ArithmeticFor":
        return this.list(node.body.commands, cloneScope(scope), src);
      case "Case":
        for (const item of node.items) this.list(item.body.commands, cloneScope(scope), src);
        return;
      case "Function":
        scope.functions.add(node.name.value);
        // Its body runs when called; the detector cannot follow calls, so it judges the body now.
        return this.node(node.body as CommandNode, cloneScope(scope, 1), src, undefined);
      case "Coproc":
        return this.node(node.body as CommandNode, cloneScope(scope), src, undefined);
      case "Redirected":
        for (const r of node.redirects) this.redirect(r, scope, src);
        return this.node(node.command, scope, src, pipe);
      case "CompoundList":
        return this.list(node.commands, scope, src);
      case "ArithmeticCommand":
        // Bash reads `((a b))` that is not arithmetic as two nested subshells: judge it that way.
        if (!node.expression || hasSpacedWord(node.expression))
          this.scriptText(`( ${node.body} )`, cloneScope(scope, 1), snippet(src, node));
        return;
      default:
        return; // [[ ]]: its substitutions were analysed already
    }
  }

  private list(statements: readonly Statement[], scope: Scope, src: string): void {
    for (const statement of statements) this.statement(statement, scope, src);
  }

  /** For a loop variable: the candidate value that is worst for path checks, or undefined when unknown. */
  private worstValue(items: WordInfo[], scope: Scope): string | undefined {
    if (items.length === 0 || items.some((i) => !i.static)) return undefined;
    let worst = items[0] as WordInfo;
    for (const item of items) if (PATH_RANK[this.classify(item, scope)] > PATH_RANK[this.classify(worst, scope)]) worst = item;
    return worst.value;
  }

  private classify(word: WordInfo, scope: Scope): PathClass {
    const here = classifyPath(word, scope.cwd, this.project, scope.vars);
    if (!scope.fallback) return here;
    const there = classifyPath(word, scope.fallback, this.project, scope.vars);
    return PATH_RANK[there] > PATH_RANK[here] ? there : here;
  }

  private redirect(r: Redirection, scope: Scope, src: string): void {
    const at = snippet(src, r);
    if (r.type === "HereDoc") {
      if (!r.closing) this.sandbox("parse.unterminated-heredoc", 8, "has a heredoc that never ends", at);
      return;
    }
    if (r.type === "HereString" || !r.target) return;
    const target = wordInfo(r.target);
    if (/^\/dev\/(tcp|udp)\//.test(target.value)) return this.sandbox("net.dev-tcp", 7, "opens a network connection through /dev/tcp", at);
    if (r.operator === "<" || r.operator === "<&" || (r.operator === ">&" && /^\d+$|^-$/.test(target.value))) return;
    this.writePath(target, "write", false, scope, at);
  }

  private command(cmd: Command, scope: Scope, src: string, pipe: PipeContext | undefined): void {
    const at = snippet(src, cmd);
    let input: Invocation["input"];
    const args: WordInfo[] = [];
    for (const item of [...cmd.prefix, ...cmd.suffix]) {
      if (item.type === "Assignment") {
        if (!cmd.name) {
          const value = item.value.type === "Word" ? wordInfo(item.value) : undefined;
          if (value?.static) scope.vars.set(item.name, value.value);
          else scope.vars.delete(item.name);
        }
        continue;
      }
      if (item.type === "Word") {
        args.push(wordInfo(item));
        continue;
      }
      if (item.type === "HereDoc") {
        input = {
          text: item.body.text,
          static: item.delimiter?.quoted === true || !(item.body.parts ?? []).some((p) => p.type !== "Literal"),
        };
      } else if (item.type === "HereString" && item.target) {
        const w = wordInfo(item.target);
        input = { text: w.value, static: w.static };
      }
      this.redirect(item, scope, src);
    }
    if (!cmd.name) return;
    this.invocation({ name: wordInfo(cmd.name as Word), args, input, pipe, at }, scope);
  }

  private invocation(inv: Invocation, scope: Scope): void {
    const { at } = inv;
    const name = inv.name;
    if (!name.static) return this.sandbox("exec.dynamic-name", 8, "runs a command whose name comes from a variable or substitution", at);
    const raw = name.value;
    // Only printable ASCII without spaces: anything else in a name is a disguise.
    if (raw === "" || !/^[\x21-\x7e]+$/.test(raw)) {
      return this.sandbox("exec.obfuscated", 8, "spells a command name with unusual characters", at);
    }
    let base = raw;
    let projectPath = false;
    if (raw.includes("/")) {
      const where = this.classify(name, scope);
      // System binaries by full path, and project wrappers with rules of their own (./gradlew, ./mvnw).
      if (
        /^\/(usr\/)?(local\/)?s?bin\/[^/]+$/.test(raw) ||
        ((where === "inside" || where === "tmp") && this.rules.for(basename(raw)).length > 0)
      ) {
        base = basename(raw);
        projectPath = where === "inside" || where === "tmp";
      } else return this.projectProgram(inv, scope);
    }
    if (scope.functions.has(base)) return this.add("exec.shell-function", "local", "calls a function defined on the same line", at);
    if (name.quoted && (this.rules.risky(base) || RISKY_NAMES.has(base) || base in WRAPPERS || SHELLS.has(base) || base === "eval")) {
      return this.sandbox("exec.obfuscated", 8, `disguises the command name "${base}" with quotes or backslashes`, at);
    }
    if (
      base !== base.toLowerCase() &&
      !KNOWN_COMMANDS.has(base) &&
      (KNOWN_COMMANDS.has(base.toLowerCase()) || this.rules.risky(base.toLowerCase()))
    ) {
      return this.sandbox("exec.obfuscated", 8, `writes "${base.toLowerCase()}" in odd case`, at);
    }
    const argv = inv.args.map((a) => a.value);

    for (const rule of this.user.deny.for(base)) {
      if (matchesRule(rule, argv)) this.sandbox(`user.deny.${rule.rule.id}`, rule.rule.policy ?? 8, rule.rule.description, at);
    }
    const allowed = this.user.allow.for(base).find((rule) => matchesRule(rule, argv));
    if (allowed) return this.add(`user.allow.${allowed.rule.id}`, "local", allowed.rule.description, at);

    let matchedRule = false;
    // A database write counts only on a server elsewhere: the local socket or localhost is the developer's own.
    const dbLocal = DB_CLIENTS.has(base) && !databaseIsRemote(inv.args);
    for (const rule of this.rules.for(base)) {
      if (!matchesRule(rule, argv)) continue;
      if (dbLocal && rule.rule.id === "db.write") {
        matchedRule = true;
        continue;
      }
      matchedRule = true;
      this.add(rule.rule.id, rule.rule.verdict, rule.rule.description, at, rule.rule.policy);
    }

    if (this.special(base, inv, argv, scope)) return;
    if (!KNOWN_COMMANDS.has(base) && !matchedRule && !projectPath) {
      this.sandbox("exec.unknown", 8, `runs "${base}", which is neither a standard utility, a known developer tool nor a project path`, at);
    }
  }

  /** A program named by a path: project code runs locally; anything else is unknown. */
  private projectProgram(inv: Invocation, scope: Scope): void {
    const where = this.classify(inv.name, scope);
    const firstSegment = inv.name.value.replace(/^\.\//, "").split("/")[0] ?? "";
    if (scope.downloads.has(basename(inv.name.value)) || scope.downloads.has(firstSegment) || scope.vars.has("__stigmer_downloaded_cwd")) {
      return this.sandbox("download.run", 4, "runs a file downloaded on the same line", inv.at);
    }
    if (where === "inside" || where === "tmp") return this.add("exec.project-program", "local", "runs a program from the project", inv.at);
    this.sandbox("exec.outside-program", 8, "runs a program from outside the project", inv.at);
  }

  /** Command-specific analysis. Returns true when the command is fully judged (known). */
  private special(base: string, inv: Invocation, argv: string[], scope: Scope): boolean {
    const { at } = inv;
    const first = inv.args[0];
    switch (base) {
      case "eval":
        this.sandbox("exec.eval", 8, "evaluates a string as code", at);
        return true;
      case "cd": {
        const target = inv.args.find((a) => a.value !== "--" && !/^-[LPe@]+$/.test(a.value));
        const previous = scope.cwd;
        if (!target || target.value === "~" || target.value === "-") scope.cwd = { path: undefined };
        else {
          const cls = this.classify(target, scope);
          const resolved =
            cls === "inside" || cls === "tmp" || cls === "tmp-all" || cls === "outside"
              ? resolveDir(target, scope, this.project)
              : undefined;
          if (scope.downloads.has(basename(target.value))) scope.vars.set("__stigmer_downloaded_cwd", "1");
          scope.cwd = { path: resolved };
        }
        scope.fallback = previous;
        return true;
      }
      case "export":
      case "declare":
      case "typeset":
      case "local":
      case "readonly":
        for (const arg of inv.args) {
          const eq = arg.value.indexOf("=");
          if (eq > 0) {
            if (arg.static) scope.vars.set(arg.value.slice(0, eq), arg.value.slice(eq + 1));
            else scope.vars.delete(arg.value.slice(0, eq));
          }
        }
        return true;
      case "trap":
        if (first) this.codeString(first, scope, at, "shell");
        return true;
      case "source":
      case ".": {
        if (!first) return true;
        if (first.processSubstitutions.length > 0) {
          if (first.processSubstitutions.some((s) => usesDownloader(s))) this.sandbox("download.execute", 4, "runs code it downloads", at);
          else this.sandbox("exec.generated-code", 8, "runs code generated on the fly", at);
        } else if (!first.static && classifyPath(first, scope.cwd, this.project, scope.vars) !== "inside") {
          this.sandbox("exec.source-dynamic", 8, "sources a script whose path is held in a variable", at);
        } else if (scope.downloads.has(basename(first.value))) {
          this.sandbox("download.run", 4, "sources a file downloaded on the same line", at);
        }
        return true;
      }
      case "find":
        this.find(inv, scope);
        return true;
      case "awk":
      case "gawk":
      case "mawk":
      case "nawk":
      case "busybox-awk": {
        const program = positionals(
          argv,
          new Set(["-F", "-v", "-f", "--field-separator", "--assign", "-i", "--include", "-l", "--load"]),
        )[0];
        if (program !== undefined && !hasFlag(argv, "-f")) this.code(analyseAwk(program), at);
        return true;
      }
      case "sed":
      case "gsed":
        this.sed(inv, argv, scope);
        return true;
      case "perl":
        if (argv.some((a) => /^-[a-zA-Z]*i/.test(a) && !a.startsWith("--"))) {
          for (const target of positionalWords(inv.args, new Set())) this.writePath(target, "write", false, scope, inv.at);
        }
        break;
      case "curl":
      case "wget":
      case "http":
      case "https":
      case "xh":
      case "aria2c":
        this.network(base, inv, argv, scope);
        return true;
      case "nc":
      case "ncat":
      case "netcat":
        if (
          positionals(argv, new Set(["-p", "-s", "-w", "-i", "-q", "-x", "-e", "-c"])).some(
            (p) => !LOCALHOST.test(p) && !/^\d+(-\d+)?$/.test(p),
          ) ||
          hasFlag(argv, "-e") ||
          hasFlag(argv, "-c")
        ) {
          this.sandbox("net.raw-connection", 7, "opens a raw connection to another host", at);
        }
        return true;
      case "ping":
      case "ping6":
      case "dig":
      case "nslookup":
      case "host":
      case "traceroute":
      case "tracepath":
      case "mtr":
      case "whois":
        if (inv.args.some((a) => !a.static && !a.value.startsWith("-")))
          this.sandbox("net.exfiltrate", 7, "puts computed data into a network lookup", at);
        return true;
      case "scp":
      case "rsync":
        this.copyRemote(base, inv, argv, scope);
        return true;
      case "git":
        this.git(inv, argv, scope);
        return true;
      case "ssh-keygen":
        if (hasFlag(argv, "-R")) this.sandbox("fs.write-outside", 2, "edits ~/.ssh/known_hosts", at);
        else if (!["-l", "-y", "-F", "-L", "-Q", "-B"].some((f) => hasFlag(argv, f))) {
          const file = optionValue(inv.args, ["-f"]);
          if (!file) this.sandbox("fs.write-outside", 2, "writes a key under ~/.ssh", at);
          else this.writePath(file, "write", false, scope, at);
        }
        return true;
      case "ssh-add":
        if (!["-l", "-L", "-T"].some((f) => hasFlag(argv, f))) this.sandbox("sys.signal", 2, "changes the running ssh-agent", at);
        return true;
      case "make":
      case "gmake":
      case "ninja":
        if (
          positionals(argv, new Set(["-C", "-f", "-j", "-l", "-o", "-W", "-I", "--directory", "--file"])).some((t) =>
            /^(install|uninstall)(-.*)?$/.test(t),
          )
        ) {
          this.sandbox("build.install-target", 1, "runs an install target, which writes outside the project", at);
        }
        return true;
      case "cmake":
        if (hasFlag(argv, "--install") || (hasFlag(argv, "--build") && argv.includes("install")))
          this.sandbox("build.install-target", 1, "installs build results outside the project", at);
        return true;
      case "tar":
      case "bsdtar":
        this.tar(inv, argv, scope);
        return true;
      case "unzip":
        this.writePath(optionValue(inv.args, ["-d"]) ?? syntheticWord("."), "write", false, scope, at);
        return true;
      case "chmod": {
        const pos = positionalWords(inv.args, new Set(["--reference"]));
        for (const target of pos.slice(1)) this.writePath(target, "write", hasFlag(argv, "-R"), scope, at);
        this.unknownArgs(inv, "write", scope);
        return true;
      }
    }
    if (base in WRAPPERS) return this.wrapper(base, inv, argv, scope);
    const runner = RUNNERS.find((r) => r.name === base && startsWithWords(argv, r.sub));
    if (runner) {
      const rest = inv.args.slice(runner.sub.length);
      const inner = positionalIndex(
        rest.map((a) => a.value),
        new Set(runner.valueOptions),
      );
      if (base === "nix-shell") {
        const code = inv.args[inv.args.findIndex((a) => a.value === "--run") + 1];
        if (code) this.codeString(code, scope, at, "shell");
        return true;
      }
      if (inner !== undefined) this.invocation({ ...inv, name: rest[inner] as WordInfo, args: rest.slice(inner + 1) }, scope);
      return true;
    }
    if (SHELLS.has(base)) {
      this.shell(base, inv, argv, scope);
      return true;
    }
    if (PYTHON_NAME.test(base) || base in INTERPRETER_LANG) {
      this.interpreter(base, inv, argv, scope);
      return true;
    }
    if (DB_CLIENTS.has(base) && inv.pipe && inv.pipe.index > 0) {
      this.sandbox("db.piped-statements", 2, "pipes statements into a database client", at);
      return true;
    }
    this.writeTargets(base, inv, argv, scope);
    return false;
  }

  private wrapper(base: string, inv: Invocation, argv: string[], scope: Scope): boolean {
    const spec = WRAPPERS[base] as { valueOptions: string[]; leading?: (args: string[]) => number };
    if (base === "command" && (hasFlag(argv, "-v") || hasFlag(argv, "-V"))) return true;
    if (base === "exec" && inv.args.length === 0) return true;
    if (base === "env" && (hasFlag(argv, "-S") || hasFlag(argv, "--split-string"))) {
      const value = optionValue(inv.args, ["-S", "--split-string"]);
      if (value) this.codeString(value, scope, inv.at, "shell");
      return true;
    }
    const valueOptions = new Set(spec.valueOptions);
    let i = 0;
    while (i < inv.args.length) {
      const a = inv.args[i] as WordInfo;
      if (a.value === "--") {
        i++;
        break;
      }
      if (base === "env" && /^[A-Za-z_][A-Za-z0-9_]*=/.test(a.value)) {
        i++;
        continue;
      }
      if (base === "cross-env" && /^[A-Za-z_][A-Za-z0-9_]*=/.test(a.value)) {
        i++;
        continue;
      }
      if (a.value.startsWith("-") && a.value !== "-") {
        i += valueOptions.has(a.value) ? 2 : 1;
        continue;
      }
      break;
    }
    i += spec.leading?.(argv.slice(i)) ?? 0;
    if (base === "flock" && (inv.args[i - 1]?.value === "-c" || argv.includes("-c"))) {
      const code = optionValue(inv.args, ["-c", "--command"]);
      if (code) this.codeString(code, scope, inv.at, "shell");
      return true;
    }
    const inner = inv.args[i];
    if (!inner) return true;
    const rest = inv.args.slice(i + 1);
    if (base === "watch" && rest.length === 0) {
      this.codeString(inner, scope, inv.at, "shell");
      return true;
    }
    const next: Invocation = { ...inv, name: inner, args: rest };
    if (base === "xargs") {
      next.unknownArgs = true;
      next.unknownArgsClass = this.producerClass(inv, scope);
    }
    this.invocation(next, scope);
    return true;
  }

  /** Where the lines fed to xargs come from: `find`/`git ls-files`/`grep -l` on project paths give project paths. */
  private producerClass(inv: Invocation, scope: Scope): PathClass {
    const stage = inv.pipe ? inv.pipe.stages[0] : undefined;
    if (stage?.type !== "Command" || !stage.name) return "unknown";
    const name = stage.name.value;
    const args = stage.suffix.filter((s) => s.type === "Word").map((w) => wordInfo(w as Word));
    if (name === "git" && ["ls-files", "diff", "status", "grep"].includes(args[0]?.value ?? "")) return "inside";
    if (name === "find" || name === "grep" || name === "rg" || name === "fd") {
      const roots = name === "find" ? args.filter((_a, i) => i < firstExpression(args)) : args.filter((a) => !a.value.startsWith("-"));
      const classes = (roots.length ? roots : [syntheticWord(".")]).map((r) => this.classify(r, scope));
      if (name !== "find" && roots.length > 1) return classes.every((c) => c === "inside") ? "inside" : "unknown";
      return classes.every((c) => c === "inside") ? "inside" : "unknown";
    }
    return "unknown";
  }

  private unknownArgs(inv: Invocation, kind: "write" | "delete", _scope: Scope, recursive = false): void {
    if (!inv.unknownArgs) return;
    const cls = inv.unknownArgsClass ?? "unknown";
    this.judgePath(cls, kind, recursive, false, false, inv.at);
  }

  private shell(base: string, inv: Invocation, _argv: string[], scope: Scope): void {
    const { at } = inv;
    const cIndex = inv.args.findIndex((a) => /^-[a-zA-Z]*c[a-zA-Z]*$/.test(a.value) && !a.value.startsWith("--"));
    if (base === "busybox" && inv.args[0]?.value !== "sh" && inv.args[0]?.value !== "ash") {
      const inner = inv.args[0];
      if (inner) this.invocation({ ...inv, name: inner, args: inv.args.slice(1) }, scope);
      return;
    }
    if (cIndex >= 0) {
      const code = inv.args[cIndex + 1];
      if (!code) return;
      if (!code.static) {
        if (code.substitutions.some(usesDownloader)) return this.sandbox("download.execute", 4, "runs code it downloads", at);
        return this.sandbox("exec.dynamic-code", 8, "runs a shell string built at run time", at);
      }
      return this.scriptText(code.value, cloneScope(scope, 1), at);
    }
    const script = positionalWords(inv.args, new Set(["-o", "+o", "-O", "+O", "--rcfile", "--init-file"]))[0];
    if (script && script.value !== "-") {
      if (script.processSubstitutions.length > 0) {
        if (script.processSubstitutions.some(usesDownloader)) return this.sandbox("download.execute", 4, "runs code it downloads", at);
        return this.sandbox("exec.generated-code", 8, "runs code generated on the fly", at);
      }
      if (scope.downloads.has(basename(script.value)))
        return this.sandbox("download.run", 4, "runs a file downloaded on the same line", at);
      const where = this.classify(script, scope);
      if (where === "unknown") return this.sandbox("exec.dynamic-code", 8, "runs a script whose path is held in a variable", at);
      if (where !== "inside" && where !== "tmp")
        return this.sandbox("exec.outside-program", 8, "runs a script from outside the project", at);
      return this.add("exec.project-program", "local", "runs a script from the project", at);
    }
    this.stdinCode(inv, scope, "shell");
  }

  /** An interpreter or shell reading its program from stdin: a heredoc is analysed, a pipe is not. */
  private stdinCode(inv: Invocation, scope: Scope, lang: "shell" | "python" | "js" | "ruby" | "perl" | "php" | "other"): void {
    const { at } = inv;
    if (inv.input) {
      if (!inv.input.static) return this.sandbox("exec.dynamic-code", 8, "feeds an interpreter code built at run time", at);
      if (lang === "shell") return this.scriptText(inv.input.text, cloneScope(scope, 1), at);
      return this.code(analyseCode(inv.input.text, lang), at);
    }
    if (inv.pipe && inv.pipe.index > 0) {
      const producers = inv.pipe.stages.slice(0, inv.pipe.index);
      if (producers.some((p) => p.type === "Command" && DOWNLOADERS.has(basename(p.name?.value ?? "")))) {
        return this.sandbox("download.pipe-to-shell", 4, "pipes downloaded code into an interpreter", at);
      }
      return this.sandbox("exec.piped-code", 8, "pipes code into an interpreter", at);
    }
    // An interactive interpreter with nothing piped in: a REPL on the terminal.
  }

  private interpreter(base: string, inv: Invocation, _argv: string[], scope: Scope): void {
    const { at } = inv;
    const lang = PYTHON_NAME.test(base) ? "python" : (INTERPRETER_LANG[base] ?? "other");
    // `python -m pip …` is pip; `python -m venv` and other modules run like scripts.
    const mIndex = inv.args.findIndex((a) => a.value === "-m");
    if (lang === "python" && mIndex >= 0) {
      const module = inv.args[mIndex + 1];
      if (!module) return;
      if (
        PIP_NAME.test(module.value) ||
        module.value === "ensurepip" ||
        module.value === "pipx" ||
        module.value === "uv" ||
        module.value === "poetry" ||
        module.value === "conda"
      ) {
        return this.invocation(
          {
            ...inv,
            name: syntheticWord(module.value === "ensurepip" ? "pip" : module.value),
            args: module.value === "ensurepip" ? [syntheticWord("install")] : inv.args.slice(mIndex + 2),
          },
          scope,
        );
      }
      if (module.value === "http.server" || module.value === "venv" || module.value === "virtualenv") return;
      return;
    }
    if (base === "deno" || base === "bun") {
      const sub = inv.args[0]?.value;
      if (
        (base === "deno" || base === "bun") &&
        (sub === "run" || sub === "x") &&
        inv.args.some((a) => /^(https?:\/\/|jsr:|npm:)/.test(a.value))
      )
        return this.sandbox("download.execute", 4, "runs code fetched from a registry or URL", at);
      if (base === "deno" && (sub === "install" || sub === "upgrade")) return this.sandbox("pkg.deno-install", 1, "installs a tool", at);
      if (sub !== "-e" && sub !== "--eval" && sub !== "eval") return;
    }
    const codeIndex = inv.args.findIndex(
      (a) => INLINE_CODE_FLAGS.has(a.value) || (/^-[a-zA-Z]*[ceErp]$/.test(a.value) && lang !== "python" && !a.value.startsWith("--")),
    );
    if (codeIndex >= 0 && (lang === "python" ? ["-c"].includes(inv.args[codeIndex]?.value ?? "") : true)) {
      const code = inv.args[codeIndex + 1];
      if (code) return this.codeString(code, scope, at, lang);
    }
    if (lang === "python" && inv.args.some((a) => a.value === "-c")) {
      const code = inv.args[inv.args.findIndex((a) => a.value === "-c") + 1];
      if (code) return this.codeString(code, scope, at, lang);
    }
    const script = positionalWords(inv.args, new Set(["-W", "-X", "--require", "-r", "--import", "--loader", "-I", "--inspect-port"]))[0];
    if (script && script.value !== "-") {
      if (scope.downloads.has(basename(script.value)))
        return this.sandbox("download.run", 4, "runs a file downloaded on the same line", at);
      if (lang === "python" && basename(script.value) === "setup.py") {
        const verbs = inv.args.slice(inv.args.indexOf(script) + 1).map((a) => a.value);
        if (verbs.some((v) => ["install", "develop"].includes(v))) return this.sandbox("pkg.setup-py", 1, "installs a Python package", at);
        if (verbs.some((v) => ["upload", "register"].includes(v))) return this.sandbox("remote.publish", 2, "publishes a package", at);
      }
      if (/^https?:\/\//.test(script.value)) return this.sandbox("download.execute", 4, "runs a remote script", at);
      const where = this.classify(script, scope);
      if (where === "unknown") return this.sandbox("exec.dynamic-code", 8, "runs a script whose path is held in a variable", at);
      return;
    }
    this.stdinCode(inv, scope, lang);
  }

  /** Inline code given as a word: analysed when visible, sandboxed when built at run time. */
  private codeString(word: WordInfo, scope: Scope, at: string, lang: "shell" | "python" | "js" | "ruby" | "perl" | "php" | "other"): void {
    if (!word.static) {
      if (word.substitutions.some(usesDownloader)) return this.sandbox("download.execute", 4, "runs code it downloads", at);
      return this.sandbox("exec.dynamic-code", 8, "runs code built at run time", at);
    }
    if (lang === "shell") return this.scriptText(word.value, cloneScope(scope, 1), at);
    this.code(analyseCode(word.value, lang), at);
  }

  private code(found: CodeFinding[], at: string): void {
    for (const f of found) this.sandbox(f.ruleId, f.policy, `inline code that ${f.what}`, at);
  }

  private sed(inv: Invocation, argv: string[], scope: Scope): void {
    const inPlace = argv.some((a) => (/^-[a-zA-Z]*i/.test(a) && !a.startsWith("--")) || a.startsWith("--in-place"));
    const scripts: string[] = [];
    const files: WordInfo[] = [];
    let explicitScript = false;
    for (let i = 0; i < inv.args.length; i++) {
      const a = inv.args[i] as WordInfo;
      if (a.value === "-e" || a.value === "--expression") {
        explicitScript = true;
        scripts.push(inv.args[i + 1]?.value ?? "");
        i++;
      } else if (a.value === "-f" || a.value === "--file") {
        explicitScript = true;
        i++;
      } else if (a.value.startsWith("-") && a.value !== "-") {
      } else if (!explicitScript && scripts.length === 0) {
        scripts.push(a.value);
      } else {
        files.push(a);
      }
    }
    this.code(analyseSed(scripts.join("\n")), inv.at);
    if (inPlace) {
      for (const f of files) this.writePath(f, "write", false, scope, inv.at);
      this.unknownArgs(inv, "write", scope);
    }
  }

  private find(inv: Invocation, scope: Scope): void {
    const args = inv.args;
    const split = firstExpression(args);
    const roots = args.slice(0, split).filter((a) => !a.value.startsWith("-"));
    const expression = args.slice(split);
    const values = expression.map((a) => a.value);
    const rootWords = roots.length > 0 ? roots : [syntheticWord(".")];
    const rootClass = this.worstClass(rootWords, scope);
    const filtered = values.some((v) =>
      // -type alone does not narrow a delete: `find . -type f -delete` still empties the tree.
      /^-(i?name|i?path|i?wholename|i?regex|size|[acm](time|min|newer)|newer|empty|user|group|perm|links|inum|samefile)$/.test(v),
    );
    if (values.includes("-delete")) {
      const whole = rootWords.some((r) => this.isProjectRoot(r, scope));
      if (rootClass === "inside" && whole && !filtered) this.sandbox("fs.wipe-project", 6, "deletes the whole working tree", inv.at);
      else this.judgePath(rootClass, "delete", true, true, false, inv.at);
    }
    for (const flag of ["-fprint", "-fprint0", "-fprintf", "-fls"]) {
      const i = values.indexOf(flag);
      if (i >= 0 && expression[i + 1]) this.writePath(expression[i + 1] as WordInfo, "write", false, scope, inv.at);
    }
    for (let i = 0; i < values.length; i++) {
      if (!["-exec", "-execdir", "-ok", "-okdir"].includes(values[i] as string)) continue;
      let end = i + 1;
      while (end < values.length && values[end] !== ";" && values[end] !== "+") end++;
      const command = expression.slice(i + 1, end);
      if (
        command[0] &&
        ["rm", "unlink", "shred"].includes(basename(command[0].value)) &&
        !filtered &&
        rootWords.some((r) => this.isProjectRoot(r, scope))
      ) {
        this.sandbox("fs.wipe-project", 6, "deletes everything find lists in the working tree", inv.at);
      }
      if (command[0]) {
        const placeholder = syntheticWord(rootClass === "inside" ? "./found" : "/unknown/found", rootClass === "inside");
        const withPaths = command
          .slice(1)
          .map((w) => (w.value.includes("{}") ? (rootClass === "inside" ? placeholder : syntheticWord("$FOUND", false)) : w));
        this.invocation({ ...inv, name: command[0], args: withPaths, pipe: undefined }, scope);
      }
      i = end;
    }
  }

  private worstClass(words: WordInfo[], scope: Scope): PathClass {
    let worst: PathClass = "null";
    for (const w of words) {
      const c = this.classify(w, scope);
      if (PATH_RANK[c] > PATH_RANK[worst]) worst = c;
    }
    return worst;
  }

  private isProjectRoot(word: WordInfo, scope: Scope): boolean {
    const dirs = [scope.cwd, ...(scope.fallback ? [scope.fallback] : [])];
    return dirs.some((dir) => {
      if (dir.path === undefined) return isWholeDirectory(word.value);
      const resolved = resolveDir(word, { ...scope, cwd: dir }, this.project);
      return resolved === this.project || (isWholeDirectory(word.value) && dir.path === this.project);
    });
  }

  private network(base: string, inv: Invocation, argv: string[], scope: Scope): void {
    const { at } = inv;
    const urls = inv.args.filter(
      (a) =>
        /^(https?|ftp|s?ftp|scp|file|gopher|dict|ldap|smtp|telnet):\/\//i.test(a.value) ||
        /^[\w.-]+\.[a-z]{2,}(:\d+)?(\/|$)/i.test(a.value) ||
        /^(localhost|127\.)/.test(a.value),
    );
    const dynamicUrl = inv.args.some((a) => !a.static && !a.value.startsWith("-") && !isHeaderValue(inv.args, a));
    const local = urls.length > 0 && urls.every((u) => u.static && LOCALHOST.test(u.value)) && !dynamicUrl;
    const method = (optionValue(inv.args, ["-X", "--request", "--method"])?.value ?? "").toUpperCase();
    const changes =
      (method !== "" && method !== "GET" && method !== "HEAD" && method !== "OPTIONS") ||
      [
        "-d",
        "--data",
        "--data-raw",
        "--data-binary",
        "--data-urlencode",
        "--data-ascii",
        "--json",
        "-F",
        "--form",
        "--form-string",
        "--post-data",
        "--post-file",
        "--body-data",
        "--body-file",
        "-T",
        "--upload-file",
      ].some((f) => hasFlag(argv, f)) ||
      ((base === "http" || base === "https" || base === "xh") &&
        /^(POST|PUT|PATCH|DELETE)$/i.test(inv.args.find((a) => !a.value.startsWith("-"))?.value ?? "")) ||
      ((base === "http" || base === "https" || base === "xh") &&
        inv.args.some((a) => /^[\w.-]+(:=|=|@)/.test(a.value) && !a.value.includes("://")));
    const uploads =
      ["-T", "--upload-file", "--post-file", "--body-file"].some((f) => hasFlag(argv, f)) ||
      inv.args.some((a) => /^@/.test(a.value) || /=@/.test(a.value) || /^[\w-]+=@/.test(a.value));
    if (!local && uploads) this.sandbox("net.upload", 7, "uploads local files to another host", at);
    else if (!local && changes)
      this.sandbox("net.state-changing-request", 2, "sends a state-changing request to a host other than localhost", at);
    if (!local && dynamicUrl) this.sandbox("net.exfiltrate", 7, "puts computed data into a URL or host", at);
    // Downloads write files: into the project is fine, elsewhere is not.
    const output = optionValue(inv.args, [
      "-o",
      "--output",
      "-O",
      "--output-document",
      "-P",
      "--directory-prefix",
      "--output-dir",
      "-d",
      "--dir",
    ]);
    const remoteName =
      base === "curl"
        ? hasFlag(argv, "-O") || hasFlag(argv, "--remote-name") || hasFlag(argv, "--remote-name-all")
        : base === "wget" || base === "aria2c";
    if (output && output.value !== "-" && !(base === "curl" && output.value.startsWith("-"))) {
      this.writePath(output, "write", false, scope, at);
      scope.downloads.add(basename(output.value));
    }
    if (remoteName) for (const u of urls) scope.downloads.add(basename(u.value.replace(/[?#].*$/, "")));
  }

  private copyRemote(base: string, inv: Invocation, argv: string[], scope: Scope): void {
    const valueOptions = new Set(
      base === "scp"
        ? ["-P", "-i", "-o", "-F", "-c", "-l", "-S", "-J"]
        : [
            "-e",
            "--rsh",
            "--exclude",
            "--include",
            "--filter",
            "-f",
            "--files-from",
            "--exclude-from",
            "--include-from",
            "--port",
            "-B",
            "--block-size",
            "--chmod",
            "--chown",
            "--log-file",
            "--partial-dir",
            "--temp-dir",
            "-T",
            "--backup-dir",
            "--suffix",
            "--password-file",
          ],
    );
    const pos = positionalWords(inv.args, valueOptions);
    if (pos.length < 2) return;
    const remote = (w: WordInfo) => /^([\w.-]+@)?[\w.-]+:(?!\/\/)/.test(w.value) || /^rsync:\/\//.test(w.value) || /::/.test(w.value);
    const dest = pos[pos.length - 1] as WordInfo;
    if (remote(dest)) return this.sandbox("net.copy-to-remote", 7, "copies files to another host", inv.at);
    const deletes = base === "rsync" && argv.some((a) => a.startsWith("--delete") || a === "--remove-source-files");
    this.writePath(dest, deletes ? "delete" : "write", deletes, scope, inv.at);
    if (argv.includes("--remove-source-files"))
      for (const src of pos.slice(0, -1)) if (!remote(src)) this.writePath(src, "delete", false, scope, inv.at);
  }

  private git(inv: Invocation, argv: string[], scope: Scope): void {
    const { at } = inv;
    const dir = optionValue(inv.args, ["-C", "--git-dir", "--work-tree"]);
    const pos = positionals(argv, new Set(["-C", "--git-dir", "--work-tree", "-c", "--namespace", "--config-env"]));
    const sub = pos[0];
    if (
      dir &&
      sub &&
      !READONLY_GIT.has(sub) &&
      !(sub === "branch" && pos.length === 1) &&
      !(sub === "remote" && pos.length <= 1) &&
      !(sub === "config" && hasFlag(argv, "--get"))
    ) {
      const cls = this.classify(dir, scope);
      if (cls !== "inside" && cls !== "tmp") this.sandbox("git.outside-repository", 2, "changes a repository outside the project", at);
    }
    const words = positionalWords(
      inv.args,
      new Set([
        "-C",
        "--git-dir",
        "--work-tree",
        "-c",
        "-b",
        "--branch",
        "--depth",
        "-o",
        "--origin",
        "--reference",
        "--template",
        "--separate-git-dir",
        "-j",
        "--jobs",
        "--filter",
        "--config",
      ]),
    );
    if (sub === "clone") {
      const target = words[2] ?? syntheticWord(basename((words[1]?.value ?? "repo").replace(/\.git$/, "")));
      this.writePath(target, "write", false, scope, at);
      scope.downloads.add(basename(target.value));
    }
    if (sub === "worktree" && words[1]?.value === "add" && words[2]) this.writePath(words[2], "write", false, scope, at);
    if (
      (sub === "archive" || sub === "format-patch" || sub === "bundle") &&
      optionValue(inv.args, ["-o", "--output", "--output-directory"])
    ) {
      this.writePath(optionValue(inv.args, ["-o", "--output", "--output-directory"]) as WordInfo, "write", false, scope, at);
    }
  }

  private tar(inv: Invocation, argv: string[], scope: Scope): void {
    const { at } = inv;
    if (
      argv.some((a) => /^--(to-command|use-compress-program|checkpoint-action|rsh-command|info-script|new-volume-script)/.test(a)) ||
      hasFlag(argv, "-I")
    ) {
      return this.sandbox("exec.runs-programs", 8, "makes tar run another program", at);
    }
    const first = argv[0] ?? "";
    const extract =
      /(^|\s)-?-?[a-zA-Z]*x/.test(first.startsWith("-") ? first : `-${first}`) ||
      hasFlag(argv, "-x") ||
      argv.includes("--extract") ||
      argv.includes("--get");
    const create =
      /(^|\s)-?[a-zA-Z]*[cr]/.test(first.startsWith("-") ? first : `-${first}`) ||
      hasFlag(argv, "-c") ||
      argv.includes("--create") ||
      argv.includes("--append");
    if (extract) this.writePath(optionValue(inv.args, ["-C", "--directory"]) ?? syntheticWord("."), "write", false, scope, at);
    if (create) {
      const archive = optionValue(inv.args, ["-f", "--file"]) ?? attachedFileArgument(inv.args);
      if (archive && archive.value !== "-") this.writePath(archive, "write", false, scope, at);
    }
  }

  /** Commands that write, move or delete their path arguments. */
  private writeTargets(base: string, inv: Invocation, argv: string[], scope: Scope): void {
    const recursive = hasFlag(argv, "-r") || hasFlag(argv, "-R") || hasFlag(argv, "--recursive");
    switch (base) {
      case "rm":
      case "unlink":
      case "rmdir":
      case "srm": {
        for (const target of positionalWords(inv.args, new Set())) {
          if (this.isProjectRoot(target, scope) || (/^(\.\/)?\.git\/?$/.test(target.value) && recursive)) {
            this.sandbox("fs.wipe-project", 6, "deletes the whole working tree or its history", inv.at);
            continue;
          }
          this.writePath(target, "delete", recursive || base === "rmdir", scope, inv.at);
        }
        this.unknownArgs(inv, "delete", scope, recursive);
        return;
      }
      case "touch":
      case "mkdir":
      case "truncate":
      case "mkfifo":
      case "mknod":
      case "tee":
      case "gzip":
      case "gunzip":
      case "bzip2":
      case "bunzip2":
      case "xz":
      case "unxz":
      case "zstd":
      case "shred":
        for (const target of positionalWords(
          inv.args,
          new Set(["-s", "--size", "-m", "--mode", "-r", "--reference", "-d", "--date", "-t", "-S", "--suffix"]),
        ))
          this.writePath(target, "write", false, scope, inv.at);
        this.unknownArgs(inv, "write", scope);
        return;
      case "mv":
        for (const target of positionalWords(inv.args, new Set(["-t", "--target-directory", "-S", "--suffix"])))
          this.writePath(target, "delete", false, scope, inv.at);
        if (optionValue(inv.args, ["-t", "--target-directory"]))
          this.writePath(optionValue(inv.args, ["-t", "--target-directory"]) as WordInfo, "write", false, scope, inv.at);
        this.unknownArgs(inv, "delete", scope);
        return;
      case "cp":
      case "ln":
      case "install":
      case "rsync": {
        const target = optionValue(inv.args, ["-t", "--target-directory"]);
        const pos = positionalWords(
          inv.args,
          new Set(["-t", "--target-directory", "-S", "--suffix", "-m", "--mode", "-o", "--owner", "-g", "--group"]),
        );
        if (target) this.writePath(target, "write", false, scope, inv.at);
        else if (pos.length >= 2 || (base === "ln" && pos.length === 1))
          this.writePath(pos[pos.length - 1] as WordInfo, "write", false, scope, inv.at);
        else if (inv.unknownArgs) this.unknownArgs(inv, "write", scope);
        if (base === "install" && hasFlag(argv, "-d")) for (const p of pos) this.writePath(p, "write", false, scope, inv.at);
        return;
      }
      case "dd": {
        const out = inv.args.find((a) => a.value.startsWith("of="));
        if (out) this.writePath(syntheticWord(out.value.slice(3), out.static), "write", false, scope, inv.at);
        return;
      }
      case "sort": {
        const out = optionValue(inv.args, ["-o", "--output"]);
        if (out) this.writePath(out, "write", false, scope, inv.at);
        return;
      }
      case "zip": {
        const archive = positionalWords(inv.args, new Set(["-x", "-i", "-b", "-n", "-t", "-tt"]))[0];
        if (archive) this.writePath(archive, "write", false, scope, inv.at);
        if (hasFlag(argv, "-T") && (hasFlag(argv, "-TT") || argv.includes("--unzip-command")))
          this.sandbox("exec.runs-programs", 8, "makes zip run another program", inv.at);
        return;
      }
      case "openssl":
      case "gpg":
      case "patch": {
        const out = optionValue(inv.args, ["-out", "-o", "--output", "-d", "--directory"]);
        if (out) this.writePath(out, "write", false, scope, inv.at);
        return;
      }
    }
  }

  private writePath(word: WordInfo, kind: "write" | "delete", recursive: boolean, scope: Scope, at: string): void {
    this.judgePath(this.classify(word, scope), kind, recursive, word.glob, word.variables.length > 0 || word.substitutions.length > 0, at);
  }

  private judgePath(cls: PathClass, kind: "write" | "delete", recursive: boolean, glob: boolean, variable: boolean, at: string): void {
    switch (cls) {
      case "inside":
      case "tmp":
      case "null":
        return;
      case "tmp-all":
        if (kind === "delete") this.sandbox("fs.wipe-tmp", 5, "wipes /tmp wholesale", at);
        return;
      case "device":
        return this.sandbox("fs.device", 5, "writes to a device", at);
      case "outside":
        if (kind === "delete" && (recursive || glob))
          return this.sandbox("fs.destroy-outside", 5, "deletes recursively outside the project", at);
        return this.sandbox("fs.write-outside", 2, `${kind === "delete" ? "deletes or moves" : "writes"} files outside the project`, at);
      case "unknown":
        if (kind === "delete" && (recursive || glob || variable))
          return this.sandbox("fs.destroy-unknown", 5, "deletes a path held in a variable the detector cannot resolve", at);
        return this.sandbox(
          "fs.unknown-path",
          8,
          `${kind === "delete" ? "deletes or moves" : "writes"} a path the detector cannot resolve`,
          at,
        );
    }
  }
}

function hasSpacedWord(node: SyntaxNode): boolean {
  if (node.type === "ArithmeticWord" && /\s/.test(node.value.trim())) return true;
  let found = false;
  forEachChild(node, (child) => {
    if (!found && child.type.startsWith("Arithmetic") && hasSpacedWord(child)) found = true;
  });
  return found;
}

function databaseIsRemote(args: WordInfo[]): boolean {
  const host = optionValue(args, ["-h", "--host", "-H", "--hostname", "--server", "-S", "-u", "--uri", "--url"]);
  if (host && (!host.static || (!LOCALHOST.test(host.value) && !/^(localhost|127\.|\/)/.test(host.value)))) return true;
  return args.some(
    (a) =>
      (!a.static && !a.value.startsWith("-")) ||
      /^(postgres(ql)?|mysql|mongodb(\+srv)?|redis|rediss):\/\/(?!([^@/]*@)?(localhost|127\.0\.0\.1|\[::1\]))/i.test(a.value),
  );
}

function usesDownloader(script: ParsedScript): boolean {
  let found = false;
  const walk = (node: SyntaxNode) => {
    if (found) return;
    if (node.type === "Command" && node.name && DOWNLOADERS.has(basename(node.name.value))) found = true;
    forEachChild(node, walk);
  };
  walk(script);
  return found;
}

function startsWithWords(argv: string[], seq: string[]): boolean {
  return seq.every((w, i) => argv[i] === w);
}

/** Index of the first positional argument, skipping options (and values of value-taking options). */
function positionalIndex(argv: string[], valueOptions: Set<string>): number | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--") return i + 1 < argv.length ? i + 1 : undefined;
    if (a.startsWith("-") && a !== "-") {
      if (valueOptions.has(a)) i++;
      continue;
    }
    return i;
  }
  return undefined;
}

function positionalWords(args: WordInfo[], valueOptions: Set<string>): WordInfo[] {
  const out: WordInfo[] = [];
  let done = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as WordInfo;
    if (!done && a.value === "--") {
      done = true;
      continue;
    }
    if (!done && a.value.startsWith("-") && a.value !== "-" && a.static) {
      if (valueOptions.has(a.value)) i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

/** The value of the first of `names` (`-o FILE`, `--output=FILE`, `-oFILE` for one-letter options). */
function optionValue(args: WordInfo[], names: string[]): WordInfo | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as WordInfo;
    for (const name of names) {
      if (a.value === name) return args[i + 1];
      if (/^-[a-zA-Z]$/.test(name) && /^-[a-zA-Z]{2,}$/.test(a.value) && a.value.endsWith(name.slice(1))) return args[i + 1];
      if (name.startsWith("--") && a.value.startsWith(`${name}=`))
        return { ...a, value: a.value.slice(name.length + 1), text: a.text.slice(name.length + 1) };
      if (
        /^-[a-zA-Z]$/.test(name) &&
        a.value.startsWith(name) &&
        a.value.length > 2 &&
        !a.value.startsWith("--") &&
        /^-[a-zA-Z][^a-zA-Z-]/.test(a.value)
      ) {
        return { ...a, value: a.value.slice(2), text: a.text.slice(2) };
      }
    }
  }
  return undefined;
}

/** `tar cf archive.tar …`, `tar -czf archive.tgz …`: the archive follows the option cluster. */
function attachedFileArgument(args: WordInfo[]): WordInfo | undefined {
  const i = args.findIndex((a) => /^-?[a-zA-Z]*f[a-zA-Z]*$/.test(a.value) && !a.value.startsWith("--"));
  return i >= 0 ? args[i + 1] : undefined;
}

function firstExpression(args: WordInfo[]): number {
  const i = args.findIndex(
    (a, idx) => (a.value.startsWith("-") && !(idx === 0 && /^-(H|L|P|O\d|D)$/.test(a.value))) || a.value === "(" || a.value === "!",
  );
  return i < 0 ? args.length : i;
}

/** True when `word` is the value of a header or similar option (`-H "Authorization: $TOKEN"`), not a URL. */
function isHeaderValue(args: WordInfo[], word: WordInfo): boolean {
  const i = args.indexOf(word);
  const prev = args[i - 1]?.value ?? "";
  return [
    "-H",
    "--header",
    "-u",
    "--user",
    "-A",
    "--user-agent",
    "-e",
    "--referer",
    "-b",
    "--cookie",
    "-c",
    "--cookie-jar",
    "-o",
    "--output",
    "--oauth2-bearer",
    "--header=",
    "-w",
    "--write-out",
    "-m",
    "--max-time",
    "--connect-timeout",
    "--retry",
    "--cacert",
    "--cert",
    "--key",
  ].includes(prev);
}

function resolveDir(word: WordInfo, scope: { cwd: DirState; vars: ReadonlyMap<string, string> }, _project: string): string | undefined {
  let value = word.value;
  if (!word.static) {
    if (/^(\$PWD|\$\{PWD\}|\$\(pwd\))/.test(word.text)) value = word.text.replace(/^(\$PWD|\$\{PWD\}|\$\(pwd\))/, scope.cwd.path ?? "");
    else {
      const v = word.variables.length === 1 ? scope.vars.get(word.variables[0] as string) : undefined;
      if (v === undefined) return undefined;
      value = word.text.replace(/^["']?\$\{?\w+\}?/, v).replace(/["']/g, "");
    }
  }
  if (value === "~" || value.startsWith("~/")) return undefined;
  const base = value.startsWith("/") ? "" : (scope.cwd.path ?? "");
  if (!value.startsWith("/") && scope.cwd.path === undefined) return undefined;
  const parts = `${base}/${value}`.split("/");
  const out: string[] = [];
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return `/${out.join("/")}`;
}
