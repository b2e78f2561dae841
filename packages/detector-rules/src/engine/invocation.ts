import type { ParsedScript } from "unbash";
import type { PathClass } from "./paths.js";
import type { Arg } from "./words.js";

/** What a command reads on its standard input: it matters when the command is an interpreter. */
export type Stdin =
  /** Nothing redirected or piped: the terminal (an interactive interpreter is a REPL). */
  | { kind: "terminal" }
  /** The output of earlier pipeline stages. */
  | { kind: "pipe"; producers: Producers }
  /** A heredoc or here-string; `literal` when nothing in it is expanded. */
  | { kind: "text"; text: string; literal: boolean }
  /** `< FILE`. */
  | { kind: "file"; arg: Arg }
  /** `< <(…)`: the output of a process substitution. */
  | { kind: "generated"; scripts: ParsedScript[] }
  /** `<&N` or anything else the detector cannot follow. */
  | { kind: "descriptor" };

/** What the stages before a pipe produce, as far as the detector can tell. */
export interface Producers {
  /** One of them downloads (curl, wget, …). */
  download: boolean;
  /** One of them decodes or decompresses (base64 -d, xxd -r, gunzip): hidden text. */
  decodes: boolean;
  /** The programs, by name. */
  programs: string[];
  /** The exact text they print, when it is known (`echo 'x'`, `printf '%s' x`). */
  text: string | undefined;
  /** Where the paths they print point, when they list paths (`find . -name x`, `git ls-files`); `unknown` otherwise. */
  paths: PathClass;
}

/** One command to judge: a parsed simple command, or one made up from a wrapper's arguments. */
export interface Invocation {
  /** The command word as written. */
  name: Arg;
  /** The program, once resolved (the name, or the last part of a path). */
  program: string;
  args: Arg[];
  /** Variables assigned for this command only (`A=1 cmd`, `env A=1 cmd`). */
  env: Map<string, Arg>;
  stdin: Stdin;
  /** The part of the command line it comes from (for findings). */
  at: string;
  /** Arguments appended at run time that the detector cannot see (`xargs`, `find -exec … {}`), and where they point. */
  appended?: PathClass;
  /** The program was named by a path: in the project, a system directory, or a user tool directory. */
  via?: "project" | "system" | "user";
}
