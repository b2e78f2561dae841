import type { FindingId, SandboxFindingId } from "../findings.js";
import type { HandlerName } from "../handlers/index.js";

/**
 * What the detector knows about one program: the argument shapes that keep it local, and every
 * way its arguments can make it do more (run another program, write a file, change directory).
 * Tools are data (src/tools/*.ts); a tool that needs more than data names a handler
 * (src/handlers/*.ts). Every tool's examples run as tests (test/tool-examples.test.ts).
 *
 * Deny by default: a tool with `verbs` is local only for the verbs listed with a local outcome;
 * any other verb, and a verb that is not a literal, goes to the sandbox.
 */
export interface Tool extends Level {
  /** Command names (after wrappers are unwrapped and a path is reduced to its last part). */
  names: readonly string[];
  /** One line: what the tool is. */
  about: string;
  /**
   * Options of the tool level that are also recognised after the verb (`npm i --prefix x`). By
   * default tool-level options count only before the verb (`git -c k=v log` vs `git log -c`).
   */
  optionsAnywhere?: boolean;
  /** Words starting with `+` before the verb are settings (`cargo +nightly build`). */
  plusOptions?: boolean;
  /** Names that are this tool only when run by a path (`./gradlew`, `./mvnw`): a bare `gradlew` is not on PATH. */
  pathNames?: readonly string[];
  /** The name also comes with a version suffix (`python3.12`, `gcc-13`, `pip3.11`). */
  versioned?: boolean;
  /** Options are long with one dash (`find -name`, `java -jar`): no `-abc` clusters. */
  singleDashLong?: boolean;
  /**
   * Whether a name in quotes or with a backslash (`"rm"`, `\cp`) is a disguise. Default: yes,
   * unless every outcome of the tool is `local.read`.
   */
  risky?: boolean;
  /** Commands this tool must decide `local` and `sandbox`: each runs as a test. */
  examples: { local: readonly string[]; sandbox: readonly string[] };
}

/** The tool itself or one of its verbs (`git`, `git stash`, `docker compose up`). */
export interface Level {
  /**
   * Outcome at this level when nothing below decides: for a verb, what the verb does; for a tool
   * without verbs, what running it does. Default for a tool without verbs: `local.read`.
   */
  is?: FindingId;
  /**
   * A word that is not a listed verb names a project script or file (`yarn build`, `pnpm dev`,
   * `bun index.ts`): project code, judged by the `npm-scripts` handler. Every built-in verb of such
   * a tool must then be listed, risky ones with their finding.
   */
  scripts?: boolean;
  /** Outcome when a tool with verbs is given none (`yarn` installs; `git` prints help). Default: `exec.unknown-verb`. */
  bare?: FindingId;
  /** Subcommands, deny by default. A string is the outcome of a verb with no structure of its own. */
  verbs?: Readonly<Record<string, Level | FindingId>>;
  /** Options at this level, by name (`-o`, `--output`). See {@link OptionEffect}. */
  options?: Readonly<Record<string, OptionEffect>>;
  /**
   * Outcome overrides, first match wins: when one of `if` is present (an option, or
   * `--opt=value` exactly), the outcome becomes `is`. Real dry runs (`--dry-run` → `local.pkg-read`),
   * forms that do more (`-g` → `pkg.install`).
   */
  when?: readonly { if: readonly string[]; is: FindingId }[];
  /** The outcome when this verb is given no positional argument (`rustup default` prints the default; with a name it sets it). */
  emptyIs?: FindingId;
  /** The outcome is `local.read` when one of the positional arguments is one of these words (`service nginx status`, `ufw status`). */
  readWords?: readonly string[];
  /** What the positional arguments are: paths read (default), written, deleted, or free text. */
  positionals?: "read" | "write" | "delete" | "text" | "last-written";
  /**
   * The positional at this index (0-based, after options) starts a command the tool runs
   * (`sudo CMD…`, `timeout 5 CMD…`, `uv run CMD…`): it is analysed as a command of its own.
   */
  command?: number;
  /** Options end at the first positional (a script or command whose own arguments follow: `bash x.sh --opt`, `uv run pytest -x`). */
  optionsEndAtPositional?: boolean;
  /** A handler that judges what data cannot (src/handlers); it runs after the generic checks. */
  handler?: HandlerName;
}

/**
 * What an option does. Options that take a value:
 * - `"value"`: a harmless value (`-n 5`): listed so the value is not read as a verb or a path;
 * - `"write"` / `"delete"`: a path the tool writes or deletes (`sort -o FILE`);
 * - `"read"`: a path it reads (listed only for parsing);
 * - `"cwd"`: the directory it works in (`make -C DIR`, `git -C DIR`); writes are judged there;
 * - `"shell"`: shell code it runs (`nodemon --exec '…'`, `watchexec -s '…'`): analysed as a script;
 * - `"command"`: a command line it runs with more arguments appended (`rsync -e 'ssh -p 22'`);
 * - `"program"`: a program it runs on its data (`sort --compress-program=PROG`);
 * - `"script"`: a file it loads as code (`bash --rcfile F`, `make -f F`): judged like running it;
 * - `"code:<lang>"`: inline code in a language (`node -e`, `lua -e`);
 * - `"config:git"`: a `key=value` git configuration (`git -c`), judged by what the key runs;
 * - a sandbox finding id: the option itself sends the command to the sandbox (`--upload-pack`).
 * Options without a value: `{ flag: id }`, whose presence adds that finding (a sandbox id) or, for
 * a local id, makes the outcome local (a real dry run); `{ flag: "none" }` is a known harmless flag
 * (useful only to stop a cluster from hiding a value option).
 */
export type OptionEffect =
  | "value"
  | "write"
  | "delete"
  | "read"
  | "cwd"
  | "shell"
  | "command"
  | "program"
  | "script"
  | CodeLanguageEffect
  | "config:git"
  | SandboxFindingId
  | { flag: FindingId | "none" }
  /** A harmless option that takes several values (`hyperfine --parameter-scan NAME MIN MAX`). */
  | { values: number };

export type CodeLanguage =
  | "python"
  | "js"
  | "ruby"
  | "perl"
  | "php"
  | "lua"
  | "r"
  | "julia"
  | "tcl"
  | "vim"
  | "go"
  | "rust"
  | "java"
  | "c"
  | "csharp"
  | "cmake"
  | "unknown";
export type CodeLanguageEffect = `code:${CodeLanguage}`;

/** Whether an option effect takes a value. */
export function takesValue(effect: OptionEffect): boolean {
  return typeof effect === "string" || "values" in effect;
}

/** Options that take a value and do nothing else with it (`--name VALUE`): the common entry of an options table. */
export function values(...names: string[]): Record<string, OptionEffect> {
  return Object.fromEntries(names.map((n) => [n, "value" as const]));
}
