// The walk over a command line (RulesDetector makes one Analyzer per decision): it parses the
// text with unbash, follows the shell's control flow with the state it can know (directory,
// variables, functions; branches.ts merges the paths), evaluates words, records where written
// files come from (file-origins.ts), and sends every command it reaches to invoke(): functions
// the line defined, project programs, user rules, then the tool tables (run-tool.ts). The other
// judgements live in their own modules and are reached through this class, which the rest of the
// engine sees as "the engine": code and programs (programs.ts), written paths (write-paths.ts),
// file provenance (provenance.ts), environment variables (environment.ts).
import type {
  AndOr,
  Assignment,
  Command,
  CommandNode,
  ParsedScript,
  Pipeline,
  PipelineNode,
  Redirection,
  Statement,
  SyntaxNode,
  Word,
} from "unbash";
import { forEachChild, parse } from "unbash";
import { FINDINGS, type Finding, type FindingId } from "../findings.js";
import type { RuleIndex } from "../matcher.js";
import { matches as matchesRule } from "../matcher.js";
import type { ToolIndex } from "../tools/index.js";
import type { Tool } from "../tools/spec.js";
import { loop, merge, type Snapshot, snapshot } from "./branches.js";
import type { Budget } from "./budget.js";
import type { ScriptLanguage } from "./context.js";
import { envVariable } from "./environment.js";
import { record, recordOutput } from "./file-origins.js";
import type { Invocation, Stdin } from "./invocation.js";
import { listsEverything, producers } from "./listings.js";
import { classifyArg, installsIntoProject, isWholeDirectory, type PathClass, type Resolved } from "./paths.js";
import { basename, tidy } from "./paths-util.js";
import { commandText, executableValue, inlineCode, programLocation, runPath, shellCode, stdinCode } from "./programs.js";
import { gitConfigFile, loadsWritten, projectCodeRuns } from "./provenance.js";
import { runTool } from "./run-tool.js";
import { type FileOrigin, FileSystemEffects, type FunctionDefinition, Scope } from "./scope.js";
import {
  alwaysTrue,
  BUILTINS,
  commonGlobPrefix,
  expandBraces,
  hasBackground,
  hasSpacedWord,
  isDirChange,
  isExit,
  spawnsItself,
  usesDownloader,
} from "./shell-syntax.js";
import { type Arg, evaluate, fields, syntheticArg } from "./words.js";
import { isProjectRoot, judgeClass, writePath } from "./write-paths.js";

/** At most this much of the source shows where a finding is. */
function snippet(src: string, node: { pos: number; end: number }): string {
  return src.slice(node.pos, Math.min(node.end, node.pos + 200));
}

/** More findings than this add nothing to a decision (the first ones decide and explain it). */
const MAX_FINDINGS = 64;

/** Walks a command line and collects findings. One instance per decision. */
export class Analyzer {
  readonly findings: Finding[] = [];
  private readonly keys = new Set<string>();
  private readonly seenScripts = new WeakSet<object>();
  /** Files whose written content was judged already: each once per line (provenance.ts). */
  readonly judgedFiles = new Set<string>();
  private readonly judging = new Set<string>();
  private readonly definitions: FunctionDefinition[] = [];

  constructor(
    readonly project: string,
    private readonly tools: ToolIndex,
    private readonly user: { deny: RuleIndex; allow: RuleIndex },
    readonly budget: Budget,
    private readonly requestEnv: Readonly<Record<string, string>> = {},
  ) {}

  run(command: string): void {
    const scope = new Scope(new FileSystemEffects(), this.project);
    for (const [name, value] of Object.entries(this.requestEnv)) {
      scope.vars.set(name, value);
      scope.pending.push({ name, value: syntheticArg(value), at: `request environment: ${name}`, exported: true });
    }
    if (command.includes("expand_aliases")) scope.aliases = true;
    this.text(command, scope, command);
    for (let i = 0; i < this.definitions.length; i++) {
      const d = this.definitions[i] as FunctionDefinition;
      if (d.called) continue;
      d.called = true;
      this.node(d.body, d.scope, d.src, { kind: "terminal" });
    }
  }

  // ------------------------------------------------------------------ findings

  private add(id: Finding["id"], verdict: "sandbox" | "local", what: string, at: string, policy?: number): void {
    if (this.findings.length >= MAX_FINDINGS) return;
    if (verdict === "local" && this.keys.has(id)) return;
    const shown = tidy(at);
    const key = verdict === "local" ? id : `${id}\u0000${shown}`;
    if (this.keys.has(key)) return;
    this.keys.add(key);
    this.findings.push({ id, verdict, what, at: shown, ...(policy ? { policy } : {}) });
  }

  find(id: FindingId, at: string, what?: string): void {
    const spec = FINDINGS[id];
    this.add(id, spec.verdict, what ?? spec.description, at, "policy" in spec ? spec.policy : undefined);
  }

  // ------------------------------------------------------------------ scripts

  /** Shell text that becomes code: a command line, a `bash -c` string, a heredoc fed to a shell. */
  text(code: string, scope: Scope, at: string): void {
    this.budget.depth(scope.depth);
    this.budget.step(1 + (code.length >> 6));
    let ast: ParsedScript;
    try {
      ast = parse(code);
    } catch {
      return this.find("parse.error", at, "cannot be parsed");
    }
    this.script(ast, scope, ast.source ?? code);
  }

  private script(ast: ParsedScript, scope: Scope, src: string): void {
    this.seenScripts.add(ast);
    for (const error of ast.errors ?? []) {
      this.find(
        "parse.error",
        snippet(src, { pos: error.pos, end: Math.min(src.length, error.pos + 40) }) || src.slice(0, 80),
        `does not parse (${error.message})`,
      );
    }
    for (const statement of ast.commands) this.statement(statement, scope, src, { kind: "terminal" });
    // Every substitution is analysed, even in places the walk does not evaluate words.
    const text = src.length === ast.end - ast.pos ? src : src.slice(ast.pos, ast.end);
    if (text.includes("$(") || text.includes("`") || text.includes("<(") || text.includes(">(")) this.sweep(ast, scope, src);
  }

  private sweep(node: SyntaxNode, scope: Scope, src: string): void {
    forEachChild(node, (child) => {
      this.budget.step();
      if (
        (child.type === "CommandExpansion" || child.type === "ProcessSubstitution" || child.type === "ArithmeticCommandExpansion") &&
        child.script
      ) {
        if (!this.seenScripts.has(child.script)) this.script(child.script, scope.clone(), child.script.source ?? src);
        return;
      }
      if (child.type === "Script") return;
      if (child.type === "ArithmeticExpansion" && (!child.expression || hasSpacedWord(child.expression))) {
        if (!this.seenScripts.has(child)) {
          this.seenScripts.add(child);
          // Not arithmetic: judged as the command substitution a reader might take it for (fail closed).
          this.text(`( ${child.text.slice(3, -2)} )`, scope.clone(1), child.text);
        }
      }
      this.sweep(child, scope, src);
    });
  }

  /** Evaluates a word and analyses the substitutions in it, in order. */
  private word(w: Word, scope: Scope, src: string): Arg {
    const arg = evaluate(w, scope);
    for (const s of arg.substitutions) {
      if (this.seenScripts.has(s)) continue;
      this.script(s, scope.clone(), s.source ?? src);
    }
    return arg;
  }

  private words(w: Word, scope: Scope, src: string): Arg[] {
    // "${a[@]}" / ${a[*]} of an array the line assigned: its elements.
    const whole = /^"?\$\{([A-Za-z_][A-Za-z0-9_]*)\[[@*]\]\}"?$/.exec(w.text);
    const elements = whole ? scope.arrays.get(whole[1] as string) : undefined;
    if (elements) return elements.map((e) => syntheticArg(e, { text: w.text, pos: w.pos, end: w.end }));
    const arg = this.word(w, scope, src);
    if (scope.vars.has("IFS") && !arg.literal) return [{ ...arg, value: undefined, splits: true }];
    return fields(w, scope, arg) ?? [arg];
  }

  private statement(statement: Statement, scope: Scope, src: string, stdin: Stdin): void {
    this.node(statement.command, scope, src, stdin);
  }

  private list(statements: readonly Statement[], scope: Scope, src: string, stdin: Stdin): void {
    for (const s of statements) this.statement(s, scope, src, stdin);
  }

  private node(node: PipelineNode | AndOr | SyntaxNode, scope: Scope, src: string, stdin: Stdin): void {
    this.budget.step();
    switch (node.type) {
      case "Command":
        return this.command(node, scope, src, stdin);
      case "Pipeline":
        return this.pipeline(node, scope, src, stdin);
      case "AndOr":
        return this.andOr(node, scope, src, stdin);
      case "Subshell":
        return this.list(node.body.commands, scope.clone(), src, stdin);
      case "BraceGroup":
        return this.list(node.body.commands, scope, src, stdin);
      case "CompoundList":
        return this.list(node.commands, scope, src, stdin);
      case "If": {
        this.list(node.clause.commands, scope, src, stdin);
        const ends: Snapshot[] = [];
        const branch = (body: readonly Statement[]) => {
          const inner = scope.clone();
          this.list(body, inner, src, stdin);
          ends.push(snapshot(inner));
        };
        branch(node.then.commands);
        for (const elif of node.elif) {
          this.list(elif.clause.commands, scope, src, stdin);
          branch(elif.then.commands);
        }
        if (node.else) branch(node.else.commands);
        else ends.push(snapshot(scope));
        return merge(scope, ends);
      }
      case "While":
        if (node.kind === "while" && alwaysTrue(node.clause.commands) && hasBackground(node.body))
          this.find("sys.fork-bomb", snippet(src, node), "starts background processes in an endless loop");
        this.list(node.clause.commands, scope, src, stdin);
        return loop(scope, (inner) => this.list(node.body.commands, inner, src, stdin));
      case "For":
      case "Select": {
        const items = (node.wordlist ?? [])
          .flatMap((w) => this.words(w, scope, src))
          .flatMap((i) =>
            i.brace && i.value !== undefined
              ? (expandBraces(i.value) ?? [i.value]).map((v) => ({ ...i, brace: false, value: v, prefix: v }))
              : [i],
          );
        const name = node.name.value;
        const values =
          node.wordlist === undefined || items.some((i) => i.value === undefined || i.glob || i.brace)
            ? undefined
            : items.map((i) => i.value as string);
        const known = values && values.length <= 8 ? [...new Set(values)] : undefined;
        // `for f in tests/*.py`: the values are paths below the glob's literal directory.
        // `for f in $(git ls-files)`, `for f in $(ls dist/*.gz)`: paths a command lists, below its prefix.
        const globPrefix =
          !known &&
          items.length > 0 &&
          items.every((i) => i.glob && i.value !== undefined && i.variables.length === 0 && i.substitutions.length === 0)
            ? commonGlobPrefix(items.map((i) => i.value as string))
            : !known && items.length > 0 && items.every((i) => i.globbed && i.substitutions.length > 0)
              ? commonGlobPrefix(items.map((i) => i.prefix))
              : undefined;
        return loop(scope, (inner) => {
          if (!known) {
            inner.vars.set(name, undefined);
            if (globPrefix !== undefined) inner.globs.set(name, globPrefix);
            if (
              globPrefix !== undefined &&
              items.some((i) => (i.value !== undefined && isWholeDirectory(i.value)) || listsEverything(this, i, scope))
            )
              inner.globsAll.add(name);
            else inner.globsAll.delete(name);
            return this.list(node.body.commands, inner, src, stdin);
          }
          const ends: Snapshot[] = [];
          for (const value of known.length ? known : [""]) {
            const each = inner.clone();
            each.vars.set(name, value);
            this.list(node.body.commands, each, src, stdin);
            ends.push(snapshot(each));
          }
          merge(inner, ends);
        });
      }
      case "ArithmeticFor":
        if (!node.test && hasBackground(node.body))
          this.find("sys.fork-bomb", snippet(src, node), "starts background processes in an endless loop");
        return loop(scope, (inner) => this.list(node.body.commands, inner, src, stdin));
      case "Case": {
        this.word(node.word, scope, src);
        const ends: Snapshot[] = [snapshot(scope)];
        for (const item of node.items) {
          for (const p of item.pattern) this.word(p, scope, src);
          const inner = scope.clone();
          this.list(item.body.commands, inner, src, stdin);
          ends.push(snapshot(inner));
        }
        return merge(scope, ends);
      }
      case "Function": {
        const name = node.name.value;
        if (spawnsItself(node.body as SyntaxNode, name))
          this.find("sys.fork-bomb", snippet(src, node), `defines ${name}, which starts copies of itself in the background or in pipes`);
        // The body is judged where it is called, with the call's arguments; a function never called is judged at the end, as defined.
        const definition: FunctionDefinition = { body: node.body as CommandNode, src, scope: scope.clone(1), called: false };
        scope.functions.set(name, definition);
        this.definitions.push(definition);
        return;
      }
      case "Coproc":
        return this.node(node.body as CommandNode, scope.clone(), src, stdin);
      case "Redirected": {
        let inner = stdin;
        for (const r of node.redirects) inner = this.redirect(r, scope, src, inner) ?? inner;
        return this.node(node.command, scope, src, inner);
      }
      case "TestCommand":
        forEachChild(node, (child) => {
          if (child.type === "Word") this.word(child, scope, src);
        });
        return;
      case "ArithmeticCommand":
        // Bash reads `((a b))` that is not arithmetic as two nested subshells: judge it that way.
        if (!node.expression || hasSpacedWord(node.expression)) this.text(`( ${node.body} )`, scope.clone(1), snippet(src, node));
        return;
      default:
        return;
    }
  }

  private pipeline(node: Pipeline, scope: Scope, src: string, stdin: Stdin): void {
    node.commands.forEach((stage, index) => {
      const input: Stdin = index === 0 ? stdin : { kind: "pipe", producers: producers(this, node.commands.slice(0, index), scope) };
      // Every stage runs in a subshell; what it does to the file system persists.
      this.node(stage, node.commands.length > 1 ? scope.clone() : scope, src, input);
    });
  }

  private andOr(node: AndOr, scope: Scope, src: string, stdin: Stdin): void {
    const ends: Snapshot[] = [];
    node.commands.forEach((part, i) => {
      const before = { dir: scope.dir, alt: scope.alt };
      this.node(part, scope, src, stdin);
      const op = node.operators[i];
      const next = node.commands[i + 1];
      const changesDir = isDirChange(part);
      if (op === "||" && next && isExit(next)) {
        // `cd x || exit`: past this point the cd worked; the other path ends the shell.
        if (changesDir) scope.alt = [];
        ends.push(snapshot(scope));
        return;
      }
      if (i > 0 && node.operators[i - 1] === "||" && isExit(part)) return;
      ends.push(snapshot(scope));
      if (changesDir && op === "&&") scope.alt = [];
      else if (changesDir && op === "||") {
        scope.dir = before.dir;
        scope.alt = before.alt;
      }
    });
    merge(scope, ends);
  }

  // ------------------------------------------------------------------ commands

  private redirect(r: Redirection, scope: Scope, src: string, stdin: Stdin): Stdin | undefined {
    const at = snippet(src, r);
    if (r.type === "HereDoc") {
      if (!r.closing) this.find("parse.unterminated-heredoc", at);
      const parts = r.body.parts ?? [];
      const literal = r.delimiter?.quoted === true || !parts.some((p) => p.type !== "Literal");
      if (!literal) {
        // Substitutions in an unquoted heredoc run.
        const word: Word = { type: "Word", text: r.body.text, value: r.body.text, pos: r.body.pos, end: r.body.end, parts };
        this.word(word, scope, src);
      }
      return { kind: "text", text: r.body.text, literal };
    }
    if (r.type === "HereString") {
      if (!r.target) return stdin;
      const w = this.word(r.target, scope, src);
      return { kind: "text", text: w.value ?? w.text, literal: w.value !== undefined && w.substitutions.length === 0 };
    }
    if (!r.target) return undefined;
    const target = this.word(r.target, scope, src);
    if (target.value !== undefined && /^\/dev\/(tcp|udp)\//.test(target.value)) {
      const host = target.value.split("/")[3] ?? "";
      if (!/^(localhost|127(\.\d+){3}|::1)$/.test(host)) this.find("net.remote-session", at, "opens a network connection through /dev/tcp");
      else this.find("local.read", at);
      return undefined;
    }
    if (target.value === undefined && target.prefix.startsWith("/dev/")) {
      this.find("net.remote-session", at, "opens a device or connection the detector cannot resolve");
      return undefined;
    }
    const fd = r.descriptor?.type === "FileDescriptor" ? r.descriptor.value : undefined;
    if (r.operator === "<") {
      if (target.processSubstitutions.length > 0)
        return fd === undefined || fd === 0 ? { kind: "generated", scripts: target.processSubstitutions } : undefined;
      return fd === undefined || fd === 0 ? { kind: "file", arg: target } : undefined;
    }
    if (r.operator === "<&") return target.value === "-" || fd !== undefined ? undefined : { kind: "descriptor" };
    if (r.operator === ">&" && target.value !== undefined && /^\d+-?$|^-$/.test(target.value)) return undefined;
    if (target.processSubstitutions.length > 0) return undefined; // `> >(cmd)`: the command was analysed
    this.writePath(target, "write", false, scope, at);
    return undefined;
  }

  private command(cmd: Command, scope: Scope, src: string, inherited: Stdin): void {
    const at = snippet(src, cmd);
    let stdin = inherited;
    const args: Arg[] = [];
    const env = new Map<string, Arg>();
    const outputs: Arg[] = [];
    for (const item of cmd.prefix) {
      if (item.type === "Assignment") {
        const value = this.assignment(item, scope, src);
        env.set(item.name, value);
      } else {
        stdin = this.redirect(item, scope, src, stdin) ?? stdin;
        if (item.type === "Redirect" && item.target && /^(>|>>|>\||&>|&>>)$/.test(item.operator))
          outputs.push(evaluate(item.target, scope));
      }
    }
    if (cmd.name) for (const a of this.words(cmd.name, scope, src)) args.push(a);
    for (const item of cmd.suffix) {
      if (item.type === "Word") args.push(...this.words(item, scope, src));
      else if (item.type === "Assignment") {
        const value = this.assignment(item, scope, src);
        const known = item.value.type === "ArrayValue" ? undefined : value.value;
        args.push({
          ...value,
          text: item.text,
          value: known === undefined ? undefined : `${item.name}${item.append ? "+" : ""}=${known}`,
          prefix: `${item.name}=`,
          literal: value.literal,
        });
      } else {
        stdin = this.redirect(item, scope, src, stdin) ?? stdin;
        if (
          item.type === "Redirect" &&
          item.target &&
          /^(>|>>|>\||&>|&>>)$/.test(item.operator) &&
          (item.descriptor === undefined || (item.descriptor.type === "FileDescriptor" && item.descriptor.value === 1))
        )
          outputs.push(evaluate(item.target, scope));
      }
    }
    if (!cmd.name) {
      // Assignments alone set shell variables; what they make programs do is judged when a program runs.
      for (const [name, value] of env) {
        scope.vars.set(name, value.value);
        scope.pending.push({ name, value, at, exported: false });
      }
      for (const out of outputs) recordOutput(this, out, undefined, [], stdin, scope, false);
      return;
    }
    for (const [name, value] of env) this.envVariable(name, value, scope, at, env);
    const [name, ...rest] = args;
    if (!name) return;
    const inv: Invocation = { name, program: name.value ?? "", args: rest, env, stdin, at };
    this.invoke(inv, scope);
    for (const out of outputs)
      recordOutput(
        this,
        out,
        inv.program,
        rest,
        stdin,
        scope,
        cmd.suffix.some((s) => s.type === "Redirect" && s.operator === ">>"),
      );
  }

  private assignment(item: Assignment, scope: Scope, src: string): Arg {
    if (item.value.type === "ArrayValue") {
      const elements = item.value.elements.flatMap((e) => this.words(e, scope, src)).map((a) => (a.glob || a.brace ? undefined : a.value));
      if (!item.append && !item.index) scope.arrays.set(item.name, elements);
      else scope.arrays.delete(item.name);
      return syntheticArg(undefined, { text: item.text, pos: item.pos, end: item.end });
    }
    scope.arrays.delete(item.name);
    const value = this.word(item.value, scope, src);
    if (item.append || item.index) return { ...value, value: undefined };
    // Tilde after `=` and `:` is expanded in assignments.
    if (value.value !== undefined && (value.tilde || /(^|:)~(\/|:|$)/.test(item.value.text)))
      return { ...value, value: value.value.startsWith("~") ? value.value : `~/${value.value}`, tilde: true };
    return value;
  }

  /** Records where a file the line writes came from (file-origins.ts). */
  record(effects: FileSystemEffects, abs: string, origin: FileOrigin, append = false): void {
    record(this, effects, abs, origin, append);
  }

  // ------------------------------------------------------------------ invocations

  invoke(inv: Invocation, scope: Scope): void {
    this.budget.step();
    const { name, at } = inv;
    if (name.value === undefined || !name.literal) {
      if (name.substitutions.some((s) => usesDownloader(s)))
        return this.find("download.execute", at, "runs the output of a download as a command");
      if (name.value !== undefined && (name.glob || name.brace))
        return this.find("exec.dynamic-name", at, `runs a command named by a pattern (\`${name.text}\`)`);
      return this.find("exec.dynamic-name", at, `runs a command whose name is not a literal (\`${tidy(name.text)}\`)`);
    }
    const raw = name.value;
    if (raw === "" || name.unusual || /\s/.test(raw))
      return this.find("exec.obfuscated", at, "spells a command name with unusual characters");
    let tool: Tool | undefined;
    let program = raw;
    if (raw.includes("/")) {
      program = basename(raw);
      tool = this.tools.getByPath(program);
      const where = programLocation(this, name, scope);
      if (where === "outside" || (where === "user" && !tool))
        return this.find("exec.outside-program", at, `runs \`${tidy(raw)}\`, a program from outside the project`);
      if (!tool) return this.projectProgram(inv, scope);
      inv.via = where;
    } else {
      const fn = scope.functions.get(raw);
      if (fn) return this.callFunction(raw, fn, inv, scope);
      tool = this.tools.get(raw);
    }
    inv.program = program;
    if (scope.pending.length > 0 && !BUILTINS.has(program)) {
      // A program runs: the variables set for it are judged now.
      const pending = scope.pending;
      scope.pending = [];
      for (const p of pending) this.envVariable(p.name, p.value, scope, p.at, undefined, !p.exported);
    }
    if (name.quoted && (tool ? this.tools.risky(tool) : true))
      return this.find("exec.obfuscated", at, `disguises the command name "${program}" with quotes or backslashes`);
    const argv = inv.args.map((a) => a.value ?? a.text);
    for (const rule of this.user.deny.for(program)) {
      if (matchesRule(rule, argv)) this.add(`user.deny.${rule.rule.id}`, "sandbox", rule.rule.description, at, rule.rule.policy ?? 8);
    }
    const allowed = this.user.allow.for(program).find((rule) => matchesRule(rule, argv));
    if (allowed) return this.add(`user.allow.${allowed.rule.id}`, "local", allowed.rule.description, at);
    if (!tool)
      return this.find(
        "exec.unknown",
        at,
        `runs "${program}", which is neither a standard utility, a known developer tool nor a project path`,
      );
    runTool(this, tool, inv, scope);
  }

  private callFunction(name: string, fn: FunctionDefinition, inv: Invocation, scope: Scope): void {
    this.find("local.shell-function", inv.at, `calls the function ${name}, defined on the line`);
    fn.called = true;
    if (this.judging.has(name)) return;
    this.judging.add(name);
    try {
      // Judged in the state where it is called, with the call's arguments as $1, $2 … (R23).
      const inner = scope.clone(1);
      inv.args.slice(0, 9).forEach((a, i) => {
        inner.vars.set(String(i + 1), a.splits ? undefined : a.value);
      });
      for (let i = inv.args.length + 1; i <= 9; i++) inner.vars.set(String(i), null);
      inner.vars.set("#", String(inv.args.length));
      inner.vars.set("@", undefined);
      inner.vars.set("*", undefined);
      this.node(fn.body, inner, fn.src, inv.stdin);
    } finally {
      this.judging.delete(name);
    }
  }

  /** A program named by a path inside the project (or a named /tmp path): project code, judged by where it came from. */
  private projectProgram(inv: Invocation, scope: Scope): void {
    this.runPath(inv.name, "shell", scope, inv.at, true);
    // `./build.sh install`, `./x.py install --prefix=/usr/local`: the script's install target (its name is no evidence).
    const target = inv.args.find((a) => /^(un)?install([-_:].*)?$/.test(a.value ?? ""));
    if (target && !installsIntoProject(inv.args, (a) => classifyArg(a, scope, this.project)))
      this.find("build.install-target", inv.at, `asks a project program for its ${target.value} target, which writes outside the project`);
  }

  knowsTool(name: string): boolean {
    return this.tools.get(name) !== undefined;
  }

  /** What git-config and environment judgements need from the engine. */
  judgeContext(scope: Scope, at: string) {
    return {
      find: (id: FindingId, what?: string) => this.find(id, at, what),
      shell: (code: Arg) => this.shellCode(code, scope, at),
      commandText: (text: Arg) => this.commandText(text, scope, at),
      program: (value: Arg) => this.executableValue(value, scope, at),
      classify: (arg: Arg) => classifyArg(arg, scope, this.project),
      runFile: (file: Arg) => this.runPath(file, "shell", scope, at, false),
    };
  }

  // ------------------------------------------------------------------ code and programs (programs.ts)

  shellCode(code: Arg, scope: Scope, at: string, params?: Arg[]): void {
    shellCode(this, code, scope, at, params);
  }

  inlineCode(code: Arg, language: ScriptLanguage, scope: Scope, at: string): void {
    inlineCode(this, code, language, scope, at);
  }

  /** A command line given as one string (more arguments are appended at run time). */
  commandText(text: Arg, scope: Scope, at: string): void {
    commandText(this, text, scope, at);
  }

  /** A program a tool runs with arguments of its own (`SHELL`, `GIT_EXTERNAL_DIFF`, `gpg.program`). */
  executableValue(value: Arg, scope: Scope, at: string): void {
    executableValue(this, value, scope, at);
  }

  /** Running a file: project code, judged by where it came from when the line wrote it. */
  runPath(file: Arg, language: ScriptLanguage, scope: Scope, at: string, asProgram: boolean): void {
    runPath(this, file, language, scope, at, asProgram);
  }

  /** An interpreter reading its program from standard input. */
  stdinCode(stdin: Stdin, language: ScriptLanguage, scope: Scope, at: string): void {
    stdinCode(this, stdin, language, scope, at);
  }

  // ------------------------------------------------------------------ written files (provenance.ts)

  /** A tool loads files of the line's making whose path matches (`git` reads `.git/config`): they are judged by where they came from. */
  loadsWritten(scope: Scope, at: string, pattern: RegExp): void {
    return loadsWritten(this, scope, at, pattern);
  }

  /** A tool runs project code: every file the line wrote into the project is judged as code it may run. */
  projectCodeRuns(scope: Scope, at: string): void {
    return projectCodeRuns(this, scope, at);
  }

  gitConfigFile(text: string, scope: Scope, at: string): void {
    return gitConfigFile(this, text, scope, at);
  }

  // ------------------------------------------------------------------ environment

  /** An environment variable set for what runs next: judged by what it makes programs do. */
  envVariable(name: string, value: Arg, scope: Scope, at: string, siblings?: ReadonlyMap<string, Arg>, listedOnly = false): void {
    return envVariable(this, name, value, scope, at, siblings, listedOnly);
  }

  // ------------------------------------------------------------------ paths (write-paths.ts)

  writePath(arg: Arg, kind: "write" | "delete", recursive: boolean, scope: Scope, at: string, dir?: Resolved): void {
    writePath(this, arg, kind, recursive, scope, at, dir);
  }

  judgeClass(cls: PathClass, kind: "write" | "delete", recursive: boolean, pattern: boolean, at: string): void {
    judgeClass(this, cls, kind, recursive, pattern, at);
  }

  isProjectRoot(arg: Arg, scope: Scope, dir?: Resolved): boolean {
    return isProjectRoot(this, arg, scope, dir);
  }
}
