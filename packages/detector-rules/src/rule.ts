/**
 * A user's own rule (config file `plugins.rules.deny` / `allow`): matched against every command
 * the engine finds on the line, after wrappers are unwrapped. Built-in knowledge lives in
 * src/tools (see docs/detection-rules.md); these are for local policy without changing the package.
 */
export interface Rule {
  /** Stable id, shown in decisions (`pkg.pip`, `git.push`). Never reuse an id for another meaning. */
  id: string;
  /** One line: what the rule catches, in the words a user understands. */
  description: string;
  /** Where a match sends the command. */
  verdict: "sandbox" | "local";
  /**
   * The policy clause (docs/auto-mode-policy.md) a deny rule implements:
   * 1 packages/toolchains, 2 state outside the project, 3 privilege, 4 download and execute,
   * 5 destruction outside the project, 6 destruction of uncommitted work, 7 data off the machine,
   * 8 cannot be analysed.
   */
  policy?: 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;
  /** What it matches; every given field must hold (AND). */
  match: RuleMatch;
  /** Commands this rule must fire on, and commands it must not fire on. Both run as tests. */
  examples: { match: string[]; noMatch?: string[] };
}

export interface RuleMatch {
  /** Command names (after wrappers like `sudo`, `env`, `timeout` are unwrapped; paths reduced to their basename). */
  commands: string[];
  /**
   * The leading positional arguments (options and their values skipped), any of these sequences:
   * `["install"]`, `["compose up"]` (two words). A match needs the sequence at the start.
   */
  subcommands?: string[];
  /** Matches only when the leading positionals are NOT one of these sequences (read-only verbs, say). */
  exceptSubcommands?: string[];
  /** With `exceptSubcommands`: whether a bare command (no positional argument at all) matches. Default false. */
  bare?: boolean;
  /** Matches only a bare command: no positional argument at all (`yarn`, `yarn --frozen-lockfile`). */
  noPositionals?: boolean;
  /** Matches when any of these options is present (`-g`, `--global`; `--data` also matches `--data=x`; `-r` is found in `-rf`). */
  flags?: string[];
  /** Matches only when none of these options is present. */
  exceptFlags?: string[];
  /** Matches when any argument matches one of these regular expressions (source text, no slashes). */
  args?: string[];
  /** Options of these commands that take a separate value (so the value is not read as a subcommand). */
  valueOptions?: string[];
}
