// The ToolContext that handlers get (context.ts): the engine's judgements bound to one invocation.
import type { FindingId } from "../findings.js";
import type { Tool } from "../tools/spec.js";
import type { Analyzer } from "./analyzer.js";
import type { ScriptLanguage, ToolContext } from "./context.js";
import { judgeGitConfig } from "./git-config.js";
import type { Invocation, Stdin } from "./invocation.js";
import type { Parsed } from "./parse-args.js";
import { classifyArg, type PathClass, type Resolved, resolve } from "./paths.js";
import type { FileOrigin, Scope } from "./scope.js";
import type { Arg } from "./words.js";

/** The engine as one handler sees it: one object per invocation, its methods on the prototype. */
export class InvocationContext implements ToolContext {
  readonly project: string;
  private readonly at: string;

  constructor(
    private readonly engine: Analyzer,
    readonly tool: Tool,
    readonly inv: Invocation,
    readonly parsed: Parsed,
    readonly scope: Scope,
    readonly dir: Resolved,
  ) {
    this.project = engine.project;
    this.at = inv.at;
  }

  find(id: FindingId, what?: string): void {
    this.engine.find(id, this.at, what);
  }
  isTool(name: string): boolean {
    return this.engine.knowsTool(name);
  }
  path(arg: Arg, kind: "write" | "delete", options?: { recursive?: boolean; dir?: Resolved }): void {
    this.engine.writePath(arg, kind, options?.recursive ?? false, this.scope, this.at, options?.dir);
  }
  judge(cls: PathClass, kind: "write" | "delete", options?: { recursive?: boolean; pattern?: boolean }): void {
    this.engine.judgeClass(cls, kind, options?.recursive ?? false, options?.pattern ?? false, this.at);
  }
  appendedPaths(kind: "write" | "delete", options?: { recursive?: boolean }): void {
    if (this.inv.appended) this.engine.judgeClass(this.inv.appended, kind, options?.recursive ?? false, true, this.at);
  }
  classify(arg: Arg, d?: Resolved): PathClass {
    return classifyArg(arg, this.scope, this.project, d);
  }
  resolve(arg: Arg, d?: Resolved): Resolved {
    if (arg.value === undefined) return undefined;
    return resolve(arg.tilde && !arg.value.startsWith("~") ? `~${arg.value}` : arg.value, d ?? this.scope.dir, this.scope);
  }
  isProjectRoot(arg: Arg): boolean {
    return this.engine.isProjectRoot(arg, this.scope);
  }
  shell(code: Arg, params?: Arg[]): void {
    this.engine.shellCode(code, this.scope, this.at, params);
  }
  code(code: Arg, language: ScriptLanguage): void {
    this.engine.inlineCode(code, language, this.scope, this.at);
  }
  command(words: Arg[], options?: { stdin?: Stdin; appended?: PathClass; env?: Map<string, Arg>; dir?: Arg }): void {
    const [name, ...rest] = words;
    if (!name) return;
    let where = this.scope;
    if (options?.dir) {
      // It runs in another directory (`env -C DIR`, `cmake -E chdir DIR`); files it writes are still the line's.
      where = this.scope.clone();
      where.changeDir(this.resolve(options.dir), true);
    }
    const inv: Invocation = {
      name,
      program: name.value ?? "",
      args: rest,
      env: options?.env ?? this.inv.env,
      stdin: options?.stdin ?? this.inv.stdin,
      at: this.at,
    };
    if (options?.appended) inv.appended = options.appended;
    this.engine.invoke(inv, where);
  }
  commandText(text: Arg): void {
    this.engine.commandText(text, this.scope, this.at);
  }
  runFile(file: Arg, language: ScriptLanguage): void {
    this.engine.runPath(file, language, this.scope, this.at, false);
  }
  stdinCode(language: ScriptLanguage): void {
    this.engine.stdinCode(this.inv.stdin, language, this.scope, this.at);
  }
  projectCode(): void {
    this.engine.projectCodeRuns(this.scope, this.at);
  }
  loads(pattern: RegExp): void {
    this.engine.loadsWritten(this.scope, this.at, pattern);
  }
  wrote(file: Arg, origin: FileOrigin): void {
    const abs = file.value === undefined ? undefined : resolve(file.value, this.dir ?? this.scope.dir, this.scope);
    if (abs !== undefined && !abs.startsWith("~")) this.engine.record(this.scope.effects, abs, origin);
  }
  gitConfig(key: string, value: Arg | undefined): void {
    judgeGitConfig(key, value, this.engine.judgeContext(this.scope, this.at));
  }
  env(name: string, value: Arg, deferred?: boolean): void {
    const exported = this.inv.program === "export" || this.parsed.has("-x");
    if (deferred) this.scope.pending.push({ name, value, at: this.at, exported });
    else this.engine.envVariable(name, value, this.scope, this.at);
  }
}
