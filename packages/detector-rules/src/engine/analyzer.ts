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
import { analyseCode } from "../code/analyse.js";
import { FINDINGS, type Finding, type FindingId } from "../findings.js";
import { HANDLERS, type HandlerName } from "../handlers/index.js";
import type { RuleIndex } from "../matcher.js";
import { matches as matchesRule } from "../matcher.js";
import type { ToolIndex } from "../tools/index.js";
import type { Tool } from "../tools/spec.js";
import { type Budget, BudgetExceeded } from "./budget.js";
import type { ScriptLanguage, ToolContext } from "./context.js";
import { envVariable } from "./environment.js";
import type { Invocation, Stdin } from "./invocation.js";
import { InvocationContext } from "./invocation-context.js";
import { DOWNLOADERS, listsEverything, producers } from "./listings.js";
import { type Parsed, parseArgs } from "./parse-args.js";
import {
  classifyArg,
  classOf,
  installsIntoProject,
  isSystemBinDir,
  isSystemPath,
  isUserToolDir,
  isWholeDirectory,
  type PathClass,
  type Resolved,
  resolve,
} from "./paths.js";
import { basename, tidy } from "./paths-util.js";
import { gitConfigFile, judgeOrigin, loadsWritten, projectCodeRuns } from "./provenance.js";
import { type FileOrigin, FileSystemEffects, type FunctionDefinition, Scope } from "./scope.js";
import { type Arg, evaluate, fields, splitCommandText, syntheticArg } from "./words.js";

const LOOPS_DEPTH = 6;

function snippet(src: string, node: { pos: number; end: number }): string {
  return src.slice(node.pos, Math.min(node.end, node.pos + 200));
}

interface Snapshot {
  dir: string | undefined;
  alt: (string | undefined)[];
  vars: Map<string, string | undefined | null>;
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
        return this.loop(scope, (inner) => this.list(node.body.commands, inner, src, stdin));
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
        return this.loop(scope, (inner) => {
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
        return this.loop(scope, (inner) => this.list(node.body.commands, inner, src, stdin));
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

  /** A loop body runs zero or more times: judged from the entry state, then again if it changes state. */
  private loop(scope: Scope, body: (inner: Scope) => void): void {
    const entry = snapshot(scope);
    const first = scope.clone();
    body(first);
    const after = snapshot(first);
    merge(scope, [entry, after]);
    if (!sameState(entry, after) && scope.depth < LOOPS_DEPTH) {
      const second = scope.clone();
      body(second);
      merge(scope, [snapshot(scope), snapshot(second)]);
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
      for (const out of outputs) this.recordOutput(out, undefined, [], stdin, scope, false);
      return;
    }
    for (const [name, value] of env) this.envVariable(name, value, scope, at, env);
    const [name, ...rest] = args;
    if (!name) return;
    const inv: Invocation = { name, program: name.value ?? "", args: rest, env, stdin, at };
    this.invoke(inv, scope);
    for (const out of outputs)
      this.recordOutput(
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

  /** Records the origin of a file a command's output was redirected to. */
  private recordOutput(target: Arg, program: string | undefined, args: Arg[], stdin: Stdin, scope: Scope, append: boolean): void {
    const abs = resolve(target.value ?? "", scope.dir, scope);
    if (target.value === undefined || abs === undefined || abs.startsWith("~")) return;
    let origin: FileOrigin = { kind: "unknown" };
    const values = args.map((a) => a.value);
    if (program === undefined) origin = { kind: "text", text: "" };
    else if (program === "echo" && values.every((v) => v !== undefined) && !values.some((v) => /^-[a-zA-Z]*e/.test(v as string))) {
      const words = (values as string[]).filter((v, i) => !(i === 0 && /^-[nE]+$/.test(v)));
      origin = { kind: "text", text: words.join(" ") };
    } else if (program === "printf" && values.every((v) => v !== undefined)) {
      const [format, ...more] = values as string[];
      origin = { kind: "text", text: [unescapePrintf(format ?? "").replace(/%s/g, " "), ...more].join("\n") };
    } else if ((program === "cat" || program === "tee") && args.length === 0 && stdin.kind === "text") {
      origin = stdin.literal ? { kind: "text", text: stdin.text } : { kind: "unknown" };
    } else if (program === "cat" && args.length === 0 && stdin.kind === "pipe") {
      origin = stdin.producers.download
        ? { kind: "download" }
        : stdin.producers.text !== undefined
          ? { kind: "text", text: stdin.producers.text }
          : { kind: "unknown" };
    } else if (program === "cat" && args.length > 0) {
      const from = args.map((a) => (a.value !== undefined ? scope.effects.origin(resolve(a.value, scope.dir, scope) ?? "") : undefined));
      const outside = args.some((a) => classifyArg(a, scope, this.project) === "outside");
      origin = from.some((o) => o?.kind === "download") ? { kind: "download" } : outside ? { kind: "outside" } : { kind: "unknown" };
      if (from.every((o) => o?.kind === "text")) origin = { kind: "text", text: from.map((o) => (o as { text: string }).text).join("\n") };
    } else if (DOWNLOADERS.has(program)) origin = { kind: "download" };
    else if (stdin.kind === "pipe" && stdin.producers.download) origin = { kind: "download" };
    this.record(scope.effects, abs, origin, append);
  }

  record(effects: FileSystemEffects, abs: string, origin: FileOrigin, append = false): void {
    const files = effects.files;
    const previous = files.get(abs);
    if (origin.kind === "edited" && previous) {
      // An edit of a file the line already wrote: its text gains the inserted parts; a download stays one.
      if (previous.kind === "text") files.set(abs, { ...previous, text: `${previous.text}\n${origin.inserted.join("\n")}` });
      else if (previous.kind === "edited") files.set(abs, { kind: "edited", inserted: [...previous.inserted, ...origin.inserted] });
      else if (previous.kind === "project") files.set(abs, origin);
      this.judgedFiles.delete(abs);
      return;
    }
    if (append && origin.kind === "text") {
      const text = previous?.kind === "text" ? `${previous.text}\n${origin.text}` : origin.text;
      files.set(abs, { kind: "text", text, append: previous?.kind !== "text" || previous.append === true });
      return;
    }
    files.set(abs, previous?.kind === "download" && append ? previous : origin);
    this.judgedFiles.delete(abs);
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
      const where = this.programLocation(name, scope);
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
    this.runTool(tool, inv, scope);
  }

  private programLocation(name: Arg, scope: Scope): "project" | "system" | "user" | "outside" {
    const raw = name.value as string;
    const dirPart = raw.slice(0, raw.lastIndexOf("/")) || "/";
    const dir = resolve(dirPart, scope.dir, scope);
    const abs = resolve(raw, scope.dir, scope);
    const cls = classOf(abs, this.project);
    // A program under /tmp is outside code unless this line wrote it (then its content is judged).
    if (cls === "inside" || (cls === "tmp" && abs !== undefined && scope.effects.origin(abs) !== undefined)) return "project";
    if (dir !== undefined && isSystemBinDir(dir)) return "system";
    if (dir !== undefined && isUserToolDir(dir)) return "user";
    return "outside";
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

  /** Runs the generic checks and the tool's handlers. */
  runTool(tool: Tool, inv: Invocation, scope: Scope): void {
    const parsed = parseArgs(tool, inv.args);
    const at = inv.at;
    for (const p of parsed.problems) this.find(p.id, at, p.what);
    if (
      parsed.problems.some(
        (p) =>
          p.id === "exec.unknown-verb" ||
          p.id === "exec.obfuscated" ||
          (p.id === "exec.dynamic-word" && p.what.startsWith("takes its subcommand")),
      )
    )
      return;
    if (
      parsed.has("--help") &&
      parsed.commandAt === undefined &&
      !CODE_HANDLERS.has(tool.handler ?? "") &&
      !parsed.levels.some((l) => l.command !== undefined || CODE_HANDLERS.has(l.handler ?? ""))
    ) {
      // `TOOL … --help` prints help and exits.
      return this.find("local.read", at, "prints help");
    }
    const dirOption = parsed.options.find((o) => o.effect === "cwd" && o.value);
    const dir: Resolved = dirOption?.value
      ? dirOption.value.value !== undefined
        ? resolve(dirOption.value.value, scope.dir, scope)
        : undefined
      : scope.dir;
    const ctx = this.context(tool, inv, parsed, scope, dirOption ? dir : scope.dir);
    this.outcome(parsed.outcome, inv, parsed);
    for (const o of parsed.options) {
      const effect = o.effect;
      if (effect === undefined || effect === "value" || effect === "read" || effect === "cwd") continue;
      if (typeof effect === "object") {
        if ("flag" in effect && effect.flag !== "none" && FINDINGS[effect.flag].verdict === "sandbox")
          this.find(effect.flag, at, `${FINDINGS[effect.flag].description} (\`${o.name}\`)`);
        continue;
      }
      const value = o.value;
      if (!value) continue;
      switch (effect) {
        case "write":
        case "delete":
          ctx.path(value, effect, { dir: ctx.dir });
          break;
        case "shell":
          ctx.shell(value);
          break;
        case "command":
          ctx.commandText(value);
          break;
        case "program":
          this.programValue(value, scope, at);
          break;
        case "script":
          ctx.runFile(value, "shell");
          break;
        case "config:git": {
          const v = value.value;
          if (v === undefined) this.find("exec.dynamic-word", at, `sets git configuration from \`${value.text}\`, which is not a literal`);
          else {
            const eq = v.indexOf("=");
            ctx.gitConfig(eq < 0 ? v : v.slice(0, eq), eq < 0 ? undefined : syntheticArg(v.slice(eq + 1), value));
          }
          break;
        }
        default:
          if (effect.startsWith("code:")) ctx.code(value, effect.slice(5) as ScriptLanguage);
          else this.find(effect as FindingId, at, `${FINDINGS[effect as FindingId].description} (\`${o.name}\`)`);
      }
    }
    const positionalKind = parsed.level.positionals ?? (parsed.levels.length === 1 ? tool.positionals : undefined);
    if (positionalKind === "write" || positionalKind === "delete") {
      for (const p of parsed.positionals) ctx.path(p, positionalKind, { dir: ctx.dir });
      if (inv.appended) this.judgeClass(inv.appended, positionalKind, false, false, at);
    } else if (positionalKind === "last-written") {
      const last = parsed.positionals[parsed.positionals.length - 1];
      if (last) ctx.path(last, "write", { dir: ctx.dir });
    }
    if (
      parsed.outcome === "local.project-code" &&
      parsed.commandAt === undefined &&
      !parsed.levels.some((l) => l.handler !== undefined && CODE_HANDLERS.has(l.handler))
    )
      this.outsideTree(inv, parsed, positionalKind === undefined, scope, ctx.dir);
    if (dirOption && !READ_OUTCOMES.has(parsed.outcome)) {
      const cls = dir === undefined ? "unknown" : classOf(dir, this.project);
      if (cls === "outside" || cls === "unknown")
        this.find(
          tool.names.includes("git") ? "git.outside-repository" : "fs.write-outside",
          at,
          `works in ${dir ?? "a directory the detector cannot resolve"} (\`${dirOption.name}\`), outside the project`,
        );
    }
    if (parsed.commandAt !== undefined) {
      const words = inv.args.slice(parsed.commandAt);
      ctx.command(words);
    }
    // Each handler once: the tool's, then its verbs' (a verb may name the tool's handler again).
    const ran: HandlerName[] = [];
    for (const level of parsed.levels) {
      const h = level.handler;
      if (h === undefined || ran.includes(h)) continue;
      ran.push(h);
      HANDLERS[h](ctx);
    }
    if (parsed.outcome === "local.project-code") ctx.projectCode();
  }

  /**
   * `pytest ../other`, `black ~/x.py`, `eslint -c ~/evil.js`: a project tool loads the code and
   * configuration of the tree or file it is pointed at (conftest.py, eslint.config.js, build scripts,
   * plugins) or rewrites its files. Positionals outside the project count; option values count when
   * they are outside the system directories (`-I/usr/include` is not the user's code), or anywhere
   * when the option's name says it writes there (`--target-dir /opt/t`, `--outputFile=/etc/x`).
   */
  private outsideTree(inv: Invocation, parsed: Parsed, positionals: boolean, scope: Scope, dir: Resolved): void {
    // Most invocations name no absolute, home or parent path at all.
    if (!inv.args.some((a) => a.tilde || OUTSIDE_LOOKING.test(a.text))) return;
    const looksLikePath = (a: Arg) => a.tilde || PATH_START.test(a.value ?? a.prefix);
    // `option`: an option's value (under /tmp it is scratch output); `systemIsFine`: a value the tool only reads.
    const candidates: { arg: Arg; option: boolean; systemIsFine: boolean }[] = [];
    if (positionals) for (const p of parsed.positionals) candidates.push({ arg: p, option: false, systemIsFine: false });
    for (const o of parsed.options) {
      if ((o.effect === "value" || o.effect === "read") && o.value)
        candidates.push({ arg: o.value, option: true, systemIsFine: !WRITES.test(o.name) });
      else if (o.effect === undefined && o.arg.value !== undefined && o.arg.value.includes("=")) {
        // An option the table does not list, with its value inline (`--plugin=~/p.js`).
        const eq = o.arg.value.indexOf("=");
        candidates.push({
          arg: syntheticArg(o.arg.value.slice(eq + 1), o.arg),
          option: true,
          systemIsFine: !WRITES.test(o.arg.value.slice(0, eq)),
        });
      }
    }
    for (const { arg: a, option, systemIsFine } of candidates) {
      if (!looksLikePath(a)) continue;
      const cls = classifyArg(a, scope, this.project, dir);
      // What a project tool loads or runs from /tmp is outside code (`pytest /tmp/t`, `pytest -c /tmp/x.ini`);
      // values of options that say they write (`--cache-dir /tmp/x`) are scratch output.
      if (!(cls === "outside" || (cls === "tmp" && (!option || systemIsFine)))) continue;
      // A file this line wrote is judged by its content when the tool runs project code.
      const abs = a.value === undefined ? undefined : resolve(a.value, dir ?? scope.dir, scope);
      if (abs !== undefined && !abs.startsWith("~") && scope.effects.origin(abs) !== undefined) continue;
      if (systemIsFine && a.value !== undefined && !a.tilde && isSystemPath(resolve(a.value, dir ?? scope.dir, scope))) continue;
      return this.find("exec.outside-tree", inv.at, `points ${inv.program} at \`${tidy(a.text)}\`, outside the project`);
    }
  }

  private outcome(id: FindingId, inv: Invocation, parsed: Parsed): void {
    if (id === "exec.unknown-verb" && parsed.problems.some((p) => p.id === "exec.unknown-verb")) return; // reported with its words
    const spec = FINDINGS[id];
    const what = spec.verdict === "sandbox" ? `${spec.description} (${[inv.program, ...parsed.verbs].join(" ")})` : spec.description;
    this.find(id, inv.at, what);
  }

  private context(tool: Tool, inv: Invocation, parsed: Parsed, scope: Scope, dir: Resolved): ToolContext {
    return new InvocationContext(this, tool, inv, parsed, scope, dir);
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

  // ------------------------------------------------------------------ code and programs

  shellCode(code: Arg, scope: Scope, at: string, params?: Arg[]): void {
    if (code.value === undefined || code.substitutions.length > 0) {
      if (code.substitutions.some(usesDownloader)) return this.find("download.execute", at, "runs code it downloads");
      return this.find("exec.dynamic-code", at, `runs shell code built at run time (\`${tidy(code.text)}\`)`);
    }
    const inner = scope.clone(1);
    if (params) {
      // `sh -c 'CODE' $0 $1 …`: the positional parameters are known when they are literals.
      params.slice(0, 10).forEach((p, i) => {
        inner.vars.set(String(i), p.splits ? undefined : p.value);
      });
      inner.vars.set("#", String(Math.max(0, params.length - 1)));
      inner.vars.set("@", undefined);
      inner.vars.set("*", undefined);
    }
    this.text(code.value, inner, at);
  }

  inlineCode(code: Arg, language: ScriptLanguage, scope: Scope, at: string): void {
    if (language === "shell") return this.shellCode(code, scope, at);
    if (code.value === undefined || code.substitutions.length > 0) {
      if (code.substitutions.some(usesDownloader)) return this.find("download.execute", at, "runs code it downloads");
      return this.find("exec.dynamic-code", at, `runs ${language} code built at run time`);
    }
    this.budget.step(1 + (code.value.length >> 6));
    const analysis = analyseCode(code.value, language);
    for (const f of analysis.findings) this.find(f.id, at, `inline ${language} code that ${f.what}`);
    // Code files it writes (`fs.writeFileSync("package.json", …)`) hold its string literals from now on.
    for (const file of analysis.writesCode) {
      const abs = resolve(file, scope.dir, scope);
      if (abs !== undefined && !abs.startsWith("~")) this.record(scope.effects, abs, { kind: "edited", inserted: analysis.strings });
    }
    for (const c of analysis.commands) {
      if ("shell" in c) this.text(c.shell, scope.clone(1), at);
      else {
        const [name, ...rest] = c.argv;
        if (name !== undefined)
          this.invoke(
            {
              name: syntheticArg(name),
              program: name,
              args: rest.map((a) => syntheticArg(a)),
              env: new Map(),
              stdin: { kind: "descriptor" },
              at,
            },
            scope.clone(1),
          );
      }
    }
  }

  /** A command line given as one string (more arguments are appended at run time). */
  commandText(text: Arg, scope: Scope, at: string): void {
    if (text.value === undefined) return this.shellCode(text, scope, at);
    const words = splitCommandText(text.value);
    if (!words) return this.shellCode(text, scope, at);
    const [name, ...rest] = words;
    if (!name) return;
    this.invoke(
      {
        name: syntheticArg(name, text),
        program: name,
        args: rest.map((w) => syntheticArg(w, text)),
        env: new Map(),
        stdin: { kind: "descriptor" },
        at,
        appended: "unknown",
      },
      scope,
    );
  }

  /** A program run on a tool's data (`sort --compress-program=PROG`): no arguments, input from the tool. */
  programValue(value: Arg, scope: Scope, at: string): void {
    if (value.value === undefined)
      return this.find("exec.dynamic-code", at, `runs a program named by \`${tidy(value.text)}\`, which is not a literal`);
    const words = splitCommandText(value.value);
    if (!words || words.length === 0) return this.shellCode(value, scope, at);
    const [name, ...rest] = words;
    this.invoke(
      {
        name: syntheticArg(name as string, value),
        program: name as string,
        args: rest.map((w) => syntheticArg(w, value)),
        env: new Map(),
        stdin: { kind: "pipe", producers: { download: false, decodes: false, programs: [], text: undefined, paths: "unknown" } },
        at,
      },
      scope,
    );
  }

  /**
   * A program a tool runs with arguments of its own (`SHELL`, `GIT_EXTERNAL_DIFF`, `gpg.program`):
   * judged by where it is; a value with arguments or shell syntax is a command line.
   */
  executableValue(value: Arg, scope: Scope, at: string): void {
    const v = value.value;
    if (v === undefined) return this.find("exec.surface", at, `runs a program named by \`${tidy(value.text)}\`, which is not a literal`);
    const words = splitCommandText(v);
    if (words?.length !== 1) return this.commandText(value, scope, at);
    const name = words[0] as string;
    if (!name.includes("/")) {
      if (!this.tools.get(name))
        this.find("exec.unknown", at, `runs "${name}", which is neither a standard utility, a known developer tool nor a project path`);
      return;
    }
    const where = this.programLocation(syntheticArg(name, value), scope);
    if (where === "system" || where === "user") return;
    if (where === "outside") return this.find("exec.outside-program", at, `runs \`${tidy(name)}\`, a program from outside the project`);
    this.runPath(syntheticArg(name, value), "shell", scope, at, true);
  }

  /** Running a file: project code, judged by where it came from when the line wrote it. */
  runPath(file: Arg, language: ScriptLanguage, scope: Scope, at: string, asProgram: boolean): void {
    if (file.processSubstitutions.length > 0) {
      if (file.processSubstitutions.some(usesDownloader)) return this.find("download.execute", at, "runs code it downloads");
      return this.find("exec.generated-code", at, "runs code generated on the fly (a process substitution)");
    }
    const value = file.value;
    if (value === undefined && file.globbed) {
      const cls = classifyArg(file, scope, this.project);
      if (cls !== "inside") return this.find("exec.outside-program", at, "runs files listed outside the project");
      this.find("local.project-code", at);
      return this.projectCodeRuns(scope, at);
    }
    if (value === undefined) {
      if (file.substitutions.some(usesDownloader)) return this.find("download.execute", at, "runs code it downloads");
      return this.find("exec.dynamic-code", at, `runs a script whose path is not a literal (\`${tidy(file.text)}\`)`);
    }
    if (value === "-" || value === "/dev/stdin" || value === "/dev/fd/0" || value === "/proc/self/fd/0")
      return this.find("exec.piped-code", at, "runs code read from standard input");
    if (/^\/dev\/fd\/\d+$|^\/proc\/self\/fd\/\d+$/.test(value))
      return this.find("exec.generated-code", at, "runs code from a file descriptor");
    if (/^(https?|ftp):\/\//.test(value)) return this.find("download.execute", at, "runs a script from a URL");
    const abs = resolve(file.tilde && !value.startsWith("~") ? `~${value}` : value, scope.dir, scope);
    const cls = classifyArg(file, scope, this.project);
    if (abs !== undefined && !abs.startsWith("~")) {
      const origin = scope.effects.origin(abs);
      if (origin) return judgeOrigin(this, abs, origin, language, scope, at, true);
    }
    if (cls === "unknown") return this.find("exec.dynamic-code", at, "runs a script whose path the detector cannot resolve");
    if (cls !== "inside") {
      if (!asProgram && (cls === "null" || cls === "device")) return this.find("exec.generated-code", at, "runs code from a device");
      return this.find(
        "exec.outside-program",
        at,
        `runs \`${tidy(value)}\`, a ${asProgram ? "program" : "script"} from outside the project`,
      );
    }
    this.find("local.project-code", at);
    this.projectCodeRuns(scope, at);
  }

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

  /** An interpreter reading its program from standard input. */
  stdinCode(stdin: Stdin, language: ScriptLanguage, scope: Scope, at: string): void {
    switch (stdin.kind) {
      case "terminal":
        // No program given: it is read from standard input, which the caller supplies.
        return this.find("exec.piped-code", at, "starts an interpreter that reads its program from standard input");
      case "text":
        if (!stdin.literal) return this.find("exec.dynamic-code", at, "feeds an interpreter code built at run time");
        if (language === "shell") return this.text(stdin.text, scope.clone(1), at);
        return this.inlineCode(syntheticArg(stdin.text), language, scope, at);
      case "pipe":
        if (stdin.producers.download) return this.find("download.execute", at, "pipes downloaded code into an interpreter");
        return this.find(
          "exec.piped-code",
          at,
          `pipes code into an interpreter (from ${stdin.producers.programs.slice(0, 3).join(", ") || "a pipe"})`,
        );
      case "file":
        return this.runPath(stdin.arg, language, scope, at, false);
      case "generated":
        if (stdin.scripts.some(usesDownloader)) return this.find("download.execute", at, "feeds an interpreter code it downloads");
        return this.find("exec.generated-code", at, "feeds an interpreter code generated on the fly");
      case "descriptor":
        return this.find("exec.piped-code", at, "feeds an interpreter code from a file descriptor");
    }
  }

  // ------------------------------------------------------------------ environment

  /** An environment variable set for what runs next: judged by what it makes programs do. */
  envVariable(name: string, value: Arg, scope: Scope, at: string, siblings?: ReadonlyMap<string, Arg>, listedOnly = false): void {
    return envVariable(this, name, value, scope, at, siblings, listedOnly);
  }

  // ------------------------------------------------------------------ paths

  writePath(arg: Arg, kind: "write" | "delete", recursive: boolean, scope: Scope, at: string, dir?: Resolved): void {
    if (arg.brace && arg.value !== undefined) {
      const alternatives = expandBraces(arg.value);
      if (alternatives) {
        for (const a of alternatives) this.writePath({ ...arg, brace: false, value: a, prefix: a }, kind, recursive, scope, at, dir);
        return;
      }
    }
    // `tee >(sha256sum > x)`: a pipe into a process substitution, whose own commands are judged where they are.
    if (arg.value === undefined && arg.processSubstitutions.length > 0 && arg.text.trim().startsWith(">(")) return;
    if (kind === "delete" && this.isProjectRoot(arg, scope, dir)) return this.find("fs.wipe-project", at, "deletes the whole working tree");
    if (kind === "delete" && arg.globbed && listsEverything(this, arg, scope))
      return this.find("fs.wipe-project", at, "deletes every path a command lists, which may be the whole working tree");
    if (kind === "delete" && arg.listedAll && classifyArg(arg, scope, this.project, dir) === "inside")
      return this.find("fs.wipe-project", at, "deletes every entry of the working tree, one by one");
    if (kind === "delete" && recursive && arg.value !== undefined && /^(\.\/)?\.git\/?$/.test(arg.value))
      return this.find("fs.wipe-project", at, "deletes the project's history (.git)");
    const cls = classifyArg(arg, scope, this.project, dir);
    this.judgeClass(cls, kind, recursive, arg.glob || arg.value === undefined, at);
  }

  judgeClass(cls: PathClass, kind: "write" | "delete", recursive: boolean, pattern: boolean, at: string): void {
    switch (cls) {
      case "inside":
      case "tmp":
      case "null":
        return this.find("local.project-write", at);
      case "tmp-all":
        if (kind === "delete") return this.find("fs.wipe-tmp", at);
        return this.find("local.project-write", at);
      case "inside-all":
        if (kind === "delete")
          return this.find("fs.wipe-project", at, "deletes every path a command lists, which may be the whole working tree");
        return this.find("local.project-write", at);
      case "device":
        return this.find("fs.device", at);
      case "outside":
        if (kind === "delete" && (recursive || pattern)) return this.find("fs.destroy-outside", at);
        return this.find("fs.write-outside", at, `${kind === "delete" ? "deletes or moves" : "writes"} a file outside the project`);
      case "unknown":
        if (kind === "delete") return this.find("fs.destroy-unknown", at);
        return this.find("fs.write-outside", at, "writes a path the detector cannot resolve");
    }
  }

  isProjectRoot(arg: Arg, scope: Scope, dir?: Resolved): boolean {
    const value = arg.value;
    if (value === undefined) return false;
    const whole = isWholeDirectory(value);
    const dirs = dir !== undefined ? [dir] : scope.dirs();
    return dirs.some((d) => {
      if (d === undefined) return whole;
      if (whole) return d === this.project;
      return resolve(value.replace(/\/(\*|\.)?$/, ""), d, scope) === this.project;
    });
  }
}

/** A word that may hold a path outside the project: `/…`, `~…`, `..` (also after `=`). */
const OUTSIDE_LOOKING = /(^|=)["']?(\/|~|\.\.)/;
/** A path that starts outside the project; `//src:app` is a build label. */
const PATH_START = /^(\/(?!\/)|~|\.\.(\/|$))/;
/** Option names that say the value is written to (`--out-dir`, `--cache-location`). */
const WRITES = /out|dest|target|dist|build|cache|report|log|save|export|dump|artifact|site|install|prefix|dir$/i;

const READ_OUTCOMES = new Set<FindingId>(["local.read", "local.pkg-read"]);

/** Handlers of tools that run code whose own arguments may include `--help`. */
const CODE_HANDLERS = new Set([
  "shell",
  "python",
  "interpreter",
  "env",
  "xargs",
  "watch",
  "shell-positionals",
  "shell-joined",
  "entr",
  "nodemon",
  "parallel",
  "command-builtin",
  "busybox",
  "uv-run",
  "npm-scripts",
  "launcher",
  "corepack",
  "chdir-command",
  "yarn-node",
  "yarn-workspaces",
  "pnpm-recursive",
  "deno-run",
  "debugger",
  "git",
]);

/** Shell builtins: they run no program, so variables set for programs are not used yet. */
const BUILTINS = new Set([
  "cd",
  "pushd",
  "popd",
  "export",
  "declare",
  "typeset",
  "local",
  "readonly",
  "unset",
  "set",
  "shopt",
  "alias",
  "unalias",
  "echo",
  "printf",
  "read",
  "test",
  "[",
  "[[",
  "true",
  "false",
  ":",
  "shift",
  "return",
  "exit",
  "break",
  "continue",
  "trap",
  "type",
  "hash",
  "ulimit",
  "umask",
  "wait",
  "jobs",
  "let",
  "getopts",
  "mapfile",
  "readarray",
  "times",
  "caller",
  "dirs",
  "history",
  "compgen",
  "complete",
  "logout",
  "suspend",
  "bind",
  "disown",
  "bg",
  "fg",
  "help",
]);

function snapshot(scope: Scope): Snapshot {
  return { dir: scope.dir, alt: scope.alt, vars: new Map(scope.vars) };
}

function sameState(a: Snapshot, b: Snapshot): boolean {
  if (a.dir !== b.dir || a.vars.size !== b.vars.size) return false;
  for (const [k, v] of a.vars) if (!b.vars.has(k) || b.vars.get(k) !== v) return false;
  return true;
}

/** The state after one of several paths: variables that differ become unknown; directories all stay possible. */
function merge(scope: Scope, ends: readonly Snapshot[]): void {
  if (ends.length === 0) return;
  const last = ends[ends.length - 1] as Snapshot;
  const names = new Set<string>();
  for (const e of ends) for (const k of e.vars.keys()) names.add(k);
  for (const name of names) {
    const first = ends[0]?.vars.has(name) ? ends[0].vars.get(name) : "\u0000absent";
    const same = ends.every((e) => (e.vars.has(name) ? e.vars.get(name) : "\u0000absent") === first);
    if (same) {
      if (first === "\u0000absent") scope.vars.delete(name);
      else scope.vars.set(name, first as string | undefined | null);
    } else scope.vars.set(name, undefined);
  }
  const dirs: (string | undefined)[] = [];
  for (const e of ends) for (const d of [e.dir, ...e.alt]) if (!dirs.includes(d)) dirs.push(d);
  scope.dir = last.dir;
  const others = dirs.filter((d) => d !== last.dir);
  scope.alt = others.length > 4 ? [...others.slice(0, 3), undefined] : others;
}

function isDirChange(node: PipelineNode): boolean {
  return node.type === "Command" && node.name !== undefined && /^(cd|pushd|popd|chdir)$/.test(node.name.value);
}

function isExit(node: PipelineNode): boolean {
  if (node.type === "Command") return node.name !== undefined && /^(exit|return)$/.test(node.name.value);
  if (node.type === "BraceGroup") {
    const last = node.body.commands[node.body.commands.length - 1]?.command;
    return last !== undefined && last.type !== "AndOr" && isExit(last);
  }
  return false;
}

export function usesDownloader(script: ParsedScript): boolean {
  let found = false;
  const walk = (node: SyntaxNode) => {
    if (found) return;
    if (node.type === "Command" && node.name && DOWNLOADERS.has(basename(node.name.value))) found = true;
    forEachChild(node, walk);
  };
  walk(script);
  return found;
}

/** The literal directory part shared by glob words (`tests/*.py`, `tests/unit/*.py` → `tests/`); undefined when it may leave the project. */
function commonGlobPrefix(globs: string[]): string | undefined {
  const prefixes = globs.map((g) => {
    const first = g.search(/[*?[]/);
    const lit = first < 0 ? g : g.slice(0, first);
    return lit.slice(0, lit.lastIndexOf("/") + 1);
  });
  if (prefixes.some((p) => p.startsWith("/") || p.startsWith("~") || p.split("/").includes(".."))) return undefined;
  let common = prefixes[0] ?? "";
  for (const p of prefixes) while (!p.startsWith(common)) common = common.slice(0, common.slice(0, -1).lastIndexOf("/") + 1);
  return common;
}

/** The text `printf FORMAT` prints for its escapes (`\n`, `\t`, `\\`, octal). */
function unescapePrintf(format: string): string {
  return format.replace(/\\(0[0-7]{0,3}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (/^[0-7]/.test(e)) return String.fromCharCode(Number.parseInt(e, 8));
    return (
      ({ n: "\n", t: "\t", r: "\r", a: "\u0007", b: "\b", f: "\f", v: "\v", e: "\u001b", "\\": "\\" } as Record<string, string>)[e] ??
      `\\${e}`
    );
  });
}

/** A function body that runs the function itself in the background or in a pipe: a fork bomb. */
function spawnsItself(body: SyntaxNode, name: string): boolean {
  let found = false;
  const walk = (node: SyntaxNode, spawning: boolean) => {
    if (found) return;
    if (node.type === "Function") return;
    if (node.type === "Command" && spawning && node.name?.value === name) {
      found = true;
      return;
    }
    const here =
      spawning || (node.type === "Statement" && node.background === true) || (node.type === "Pipeline" && node.commands.length > 1);
    forEachChild(node, (child) => walk(child, here));
  };
  walk(body, false);
  return found;
}

function hasBackground(node: SyntaxNode): boolean {
  let found = false;
  const walk = (n: SyntaxNode) => {
    if (found) return;
    if (n.type === "Statement" && n.background) found = true;
    else forEachChild(n, walk);
  };
  walk(node);
  return found;
}

function alwaysTrue(statements: readonly Statement[]): boolean {
  if (statements.length !== 1) return false;
  const c = statements[0]?.command;
  if (c?.type === "Command" && c.name) return /^(true|:)$/.test(c.name.value) || (c.name.value === "[" && c.suffix.length === 2);
  return c?.type === "ArithmeticCommand" && /^\s*[1-9]\d*\s*$/.test(c.body);
}

function hasSpacedWord(node: SyntaxNode): boolean {
  if (node.type === "ArithmeticWord" && /\s/.test(node.value.trim())) return true;
  let found = false;
  forEachChild(node, (child) => {
    if (!found && child.type.startsWith("Arithmetic") && hasSpacedWord(child)) found = true;
  });
  return found;
}

/** `{a,b}c` → `ac`, `bc` (one level, up to 64 words); undefined when it is more than that. */
function expandBraces(value: string): string[] | undefined {
  const open = value.indexOf("{");
  const close = value.indexOf("}", open);
  if (open < 0 || close < 0) return undefined;
  const body = value.slice(open + 1, close);
  if (body.includes("{")) return undefined;
  const range = /^(-?\d+)\.\.(-?\d+)$/.exec(body);
  const items = range ? [] : body.split(",");
  if (range) {
    const a = Number(range[1]);
    const b = Number(range[2]);
    if (Math.abs(b - a) > 64) return undefined;
    for (let i = a; a <= b ? i <= b : i >= b; i += a <= b ? 1 : -1) items.push(String(i));
  }
  if (items.length > 64 || items.length < 2) return items.length < 2 ? [value] : undefined;
  const out = items.map((i) => value.slice(0, open) + i + value.slice(close + 1));
  return out.some((o) => o.includes("{")) ? out.flatMap((o) => expandBraces(o) ?? [o]) : out;
}

export { BudgetExceeded };
