import type { FindingId } from "../findings.js";
import type { CodeLanguage, Tool } from "../tools/spec.js";
import type { Invocation, Stdin } from "./invocation.js";
import type { Parsed } from "./parse-args.js";
import type { PathClass, Resolved } from "./paths.js";
import type { FileOrigin, Scope } from "./scope.js";
import type { Arg } from "./words.js";

/** The language a script or a program's input is in: the shell, or another language. */
export type ScriptLanguage = "shell" | CodeLanguage;

/**
 * What a handler (src/handlers) gets: the invocation, the generic parse of its arguments, the
 * shell state, and the engine's judgements. Handlers add findings through these calls only, so
 * every path, nested command and piece of code is judged the same way everywhere.
 */
export interface ToolContext {
  readonly tool: Tool;
  readonly inv: Invocation;
  readonly parsed: Parsed;
  readonly scope: Scope;
  /** The project directory. */
  readonly project: string;
  /** The directory the tool works in (a `cwd` option, else the shell's). */
  readonly dir: Resolved;

  /** Whether a bare name is a tool the detector knows. */
  isTool(name: string): boolean;
  /** Records a finding about this invocation (`what` defaults to the registry's description). */
  find(id: FindingId, what?: string): void;
  /** Judges a path the tool writes or deletes. */
  path(arg: Arg, kind: "write" | "delete", options?: { recursive?: boolean; dir?: Resolved }): void;
  /** Judges a write or delete whose target is known only by its class (`find ROOT -name x -delete`). */
  judge(cls: PathClass, kind: "write" | "delete", options?: { recursive?: boolean; pattern?: boolean }): void;
  /** Judges the paths appended at run time (`xargs`, `find -exec … {} +`), when there are any. */
  appendedPaths(kind: "write" | "delete", options?: { recursive?: boolean }): void;
  /** Where a path points (the worst of the directories the command may run in). */
  classify(arg: Arg, dir?: Resolved): PathClass;
  /** The absolute path an argument names, following links the line made; undefined when unknown. */
  resolve(arg: Arg, dir?: Resolved): Resolved;
  /** Whether `arg` names the project directory itself, or everything in it (`.`, `*`). */
  isProjectRoot(arg: Arg): boolean;
  /** Shell code the tool runs (`bash -c`, `watch`, `--exec`); `params` are its `$0`, `$1` … when given. */
  shell(code: Arg, params?: Arg[]): void;
  /** Code in another language the tool runs (`python -c`, `awk` programs go through their own analysers). */
  code(code: Arg, language: ScriptLanguage): void;
  /** A command line the tool runs, given as words (`sudo CMD…`, `find -exec CMD… ;`). */
  command(words: Arg[], options?: { stdin?: Stdin; appended?: PathClass; env?: Map<string, Arg>; dir?: Arg }): void;
  /** A command line the tool runs, given as one string with arguments appended (`rsync -e 'ssh -p 2'`). */
  commandText(text: Arg): void;
  /** A script file the tool runs or loads as code (`bash x.sh`, `make -f F`). */
  runFile(file: Arg, language: ScriptLanguage): void;
  /** The tool reads its program from standard input (a shell or interpreter with no script). */
  stdinCode(language: ScriptLanguage): void;
  /** The tool runs project code (a build, tests, a script runner): files the line wrote are judged. */
  projectCode(): void;
  /** The tool loads the files the line wrote whose path matches (`git` reads `.git/config`): they are judged. */
  loads(pattern: RegExp): void;
  /** A file the line writes, and where its content comes from. */
  wrote(file: Arg, origin: FileOrigin): void;
  /** A `key=value` git configuration (`git -c`, `git config k v`), judged by what the key runs. */
  gitConfig(key: string, value: Arg | undefined): void;
  /**
   * An environment variable set for what runs next, judged by what it makes programs do: now
   * (`env X=v cmd`), or, with `deferred`, when a program first runs after it (`export X=v`).
   */
  env(name: string, value: Arg, deferred?: boolean): void;
}
