import type { CommandNode } from "unbash";
import { NOT_SET, type VariableSource } from "./words.js";

/** Where a file written on the line came from: what running it would run. */
export type FileOrigin =
  /** Text the line wrote (echo, printf, a heredoc); `append` when added to an existing file. */
  | { kind: "text"; text: string; append?: boolean }
  /** Downloaded (curl -o, wget, git clone, an extracted download): running it is clause 4. */
  | { kind: "download" }
  /** Copied or moved from outside the project: not project code. */
  | { kind: "outside" }
  /** Copied from a project file: project code wherever it lands. */
  | { kind: "project" }
  /** A project file edited in place (`sed -i`): what the edit put in is judged, the rest is project code. */
  | { kind: "edited"; inserted: string[] }
  /** Written with content the detector cannot see (a command's output, an edit). */
  | { kind: "unknown" };

/** A function the line defined: judged where it is called, with the arguments of the call, or, if never called, where it is defined. */
export interface FunctionDefinition {
  body: CommandNode;
  src: string;
  /** The shell state where it was defined (for judging it if it is never called). */
  scope: Scope;
  called: boolean;
}

/** State that outlives subshells: what the line did to the file system. */
export class FileSystemEffects {
  /** Files and directories the line wrote, by absolute path (a directory covers what is below it). */
  readonly files = new Map<string, FileOrigin>();
  /** Symbolic and hard links the line created: absolute link path → target (absolute, `~…`, or undefined when unknown). */
  readonly links = new Map<string, string | undefined>();
  /** Paths the line made executable (`chmod +x`): programs, whatever their name. */
  readonly executables = new Set<string>();
  /** `npm pkg set scripts.x=…` and the like: package directory → script name → command text (undefined: unknown). */
  readonly packageScripts = new Map<string, Map<string, string | undefined>>();

  /** The origin of a path or of a directory above it. */
  origin(path: string): FileOrigin | undefined {
    const exact = this.files.get(path);
    if (exact) return exact;
    for (const [written, origin] of this.files) {
      if (origin.kind === "download" && path.startsWith(`${written}/`)) return origin;
    }
    return undefined;
  }
}

/** The shell state the walker tracks: directory, variables, functions, options. Cloned for subshells. */
export class Scope implements VariableSource {
  /** The directory commands run in; undefined when unknown (`cd "$X"`). */
  dir: string | undefined;
  /** Other directories commands may be running in, because a `cd` may have failed. */
  alt: (string | undefined)[] = [];
  /** `pushd` stack. */
  stack: (string | undefined)[] = [];
  /** Variables the line set: a known value, undefined (set to something unknown) or null (unset). */
  readonly vars: Map<string, string | undefined | null>;
  /** Functions defined on the line: their bodies, the source their positions refer to, whether a call was judged. */
  readonly functions: Map<string, FunctionDefinition>;
  /** `shopt -s expand_aliases` is on. */
  aliases = false;
  /** `set -e` is on: a failed `cd` stops the line. */
  errexit = false;
  /** Arrays the line assigned literal elements to. */
  arrays = new Map<string, (string | undefined)[]>();
  /** Loop variables over globs: the literal directory prefix of their values. */
  globs = new Map<string, string>();
  /** Loop variables over a glob that matches every entry of the project directory (`for d in *`). */
  globsAll = new Set<string>();
  /** Variables set for later programs (`export X=…`, `X=…`) that no program has run with yet. */
  /**
   * Variables set before the next program runs. `exported` ones (`export`, `declare -x`, the
   * request's environment) reach it whatever their name; a plain `X=v` reaches it only if X was
   * already exported, so only the variables the environment table lists are judged.
   */
  pending: { name: string; value: import("./words.js").Arg; at: string; exported: boolean }[] = [];
  /** How many strings-become-code levels deep this is (`bash -c '…'` inside `bash -c '…'`). */
  depth: number;

  constructor(
    readonly effects: FileSystemEffects,
    dir: string | undefined,
    vars?: Map<string, string | undefined | null>,
    functions?: Map<string, FunctionDefinition>,
    depth = 0,
  ) {
    this.dir = dir;
    this.vars = vars ?? new Map();
    this.functions = functions ?? new Map();
    this.depth = depth;
  }

  clone(depthIncrement = 0): Scope {
    const copy = new Scope(this.effects, this.dir, new Map(this.vars), new Map(this.functions), this.depth + depthIncrement);
    copy.alt = [...this.alt];
    copy.stack = [...this.stack];
    copy.aliases = this.aliases;
    copy.errexit = this.errexit;
    copy.pending = [...this.pending];
    copy.globs = new Map(this.globs);
    copy.globsAll = new Set(this.globsAll);
    copy.arrays = new Map(this.arrays);
    return copy;
  }

  lookup(name: string): string | undefined | null | typeof NOT_SET {
    return this.vars.has(name) ? (this.vars.get(name) as string | undefined | null) : NOT_SET;
  }

  cwd(): string | undefined {
    return this.dir;
  }

  globPrefix(name: string): string | undefined {
    return this.vars.has(name) && this.vars.get(name) !== undefined ? undefined : this.globs.get(name);
  }

  globAll(name: string): boolean {
    return this.globPrefix(name) !== undefined && this.globsAll.has(name);
  }

  /** Every directory a command may be running in. */
  dirs(): (string | undefined)[] {
    return this.alt.length === 0 ? [this.dir] : [this.dir, ...this.alt];
  }

  /** Moves to `dir`; the previous directory stays possible unless the move is known to have worked. */
  changeDir(dir: string | undefined, certain: boolean): void {
    if (!certain && !this.errexit) this.alt = [...new Set([this.dir, ...this.alt])].slice(0, 4);
    else this.alt = [];
    this.dir = dir;
  }
}
