/**
 * Shared vocabulary of the class generators: labelled cases, command shapes that wrappers can be
 * put around, the wrappers themselves, quoting helpers and the seed/run-count knobs.
 *
 * Every label comes from docs/auto-mode-policy.md alone; the `why` of a case names the clause or
 * reading (R1…R27) behind it, so a failing property says which sentence of the policy was missed.
 */
import fc from "fast-check";

/** Where the policy sends a command. */
export type Target = "local" | "sandbox";

/** A generated command with the label the policy gives it and the clause or reading behind it. */
export interface Case {
  readonly command: string;
  readonly expected: Target;
  readonly why: string;
}

/**
 * What may be put in front of a command's decisive part without changing what it does:
 * - `program`: it starts with a program name, so `timeout 10 …`, `nice -n 5 …`, `env A=1 …` work;
 * - `assignment`: it starts with `NAME=value` words, so only `env A=1 …` and `time …` work;
 * - `builtin`: it is a shell builtin (`source`, `eval`, `cd`, `pushd`, `read`), so only `time …`
 *   and `command …` work;
 * - `keyword`: nothing more may be put in front (it already starts with `time`).
 */
export type Head = "program" | "assignment" | "builtin" | "keyword";

/**
 * A command with its decisive part singled out: `before + core + after` is the command. Prefix
 * wrappers go in front of `core` only (so `c=rm; $c -rf ~` becomes `c=rm; timeout 10 $c -rf ~`, not
 * `timeout 10 c=rm; …`), list wrappers go around the whole text.
 */
export interface Shape {
  /** Statements that must run first in the same shell (assignments, `cd`, files written), with their separators. */
  readonly before: string;
  /** The decisive simple command or pipeline. */
  readonly core: string;
  /** What closes the command (`; done`, `; fi`, `\nEOF`, `&& popd`). */
  readonly after: string;
  readonly head: Head;
  /** The clause or reading that gives the label. */
  readonly why: string;
}

export interface ShapeOptions {
  readonly before?: string;
  readonly after?: string;
  readonly head?: Head;
}

/** Builds a {@link Shape}; by default the whole command is the core and starts with a program name. */
export function shape(core: string, why: string, options: ShapeOptions = {}): Shape {
  return { before: options.before ?? "", core, after: options.after ?? "", head: options.head ?? "program", why };
}

/**
 * A shape whose core is the last command of a `&&`/`;`/`||` list, so prefix wrappers never land on a
 * builtin such as `cd` at its start (`cd .. && rm -rf *` → before `cd .. && `, core `rm -rf *`).
 */
export function lastIsCore(command: string, why: string, head: Head = "program"): Shape {
  const m = /^(.*(?:&&|\|\||;) )(.+)$/s.exec(command);
  return m === null ? shape(command, why, { head }) : shape(m[2]!, why, { before: m[1]!, head });
}

/** The command text of a shape. */
export function textOf(s: Shape): string {
  return s.before + s.core + s.after;
}

/** A shell single-quoted word whose value is exactly `s` (`'` written as `'\''`). */
export function sq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * A readable, unambiguous rendering of a command for failure messages: JSON string syntax with every
 * character outside printable ASCII written as `\u{…}`, so a zero-width space or a Cyrillic letter
 * inside a name is visible.
 */
export function visible(s: string): string {
  return JSON.stringify(s).replace(/[^\x20-\x7e]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16).toUpperCase()}}`);
}

// ---------------------------------------------------------------------------------------------
// Wrappers. The policy: "Wrappers are transparent: sudo, env, time, timeout, nohup, nice, command,
// exec, xargs, uv run, poetry run, bundle exec, || true and the like do not change what the command
// inside them is". `sudo` is left out on purpose: it is clause 3 by itself, so it would make every
// look-alike a sandbox case.
// ---------------------------------------------------------------------------------------------

/** A wrapper put directly in front of a shape's core. */
export interface PrefixWrapper {
  readonly name: string;
  /** The heads it can be put in front of. */
  readonly accepts: readonly Head[];
  /** The head of the wrapped core. */
  readonly yields: Head;
  readonly apply: (core: string) => string;
}

export const PREFIX_WRAPPERS: readonly PrefixWrapper[] = [
  { name: "time", accepts: ["program", "assignment", "builtin"], yields: "keyword", apply: (c) => `time ${c}` },
  { name: "nice -n 5", accepts: ["program"], yields: "program", apply: (c) => `nice -n 5 ${c}` },
  { name: "env A=1", accepts: ["program", "assignment"], yields: "program", apply: (c) => `env A=1 ${c}` },
  { name: "timeout 10", accepts: ["program"], yields: "program", apply: (c) => `timeout 10 ${c}` },
  { name: "command", accepts: ["program", "builtin"], yields: "builtin", apply: (c) => `command ${c}` },
];

/** A wrapper put around a whole command: it must keep the command's meaning for every shape. */
export interface ListWrapper {
  readonly name: string;
  readonly apply: (text: string) => string;
}

// A text that spans lines may end with a heredoc's terminator line, after which nothing may follow
// on the same line; the multi-line forms put the closing token on a line of its own.
const multi = (t: string) => t.includes("\n");

// `((` and `$((` open arithmetic, not a subshell or a substitution: a text that starts with `(` is
// separated from the opening parenthesis by a space.
const open = (t: string) => (t.startsWith("(") ? ` ${t}` : t);

export const LIST_WRAPPERS: readonly ListWrapper[] = [
  { name: "(…)", apply: (t) => (multi(t) ? `(\n${t}\n)` : `(${open(t)})`) },
  { name: "{ …; }", apply: (t) => (multi(t) ? `{\n${t}\n}` : `{ ${t}; }`) },
  { name: "bash -c '…'", apply: (t) => `bash -c ${sq(t)}` },
  { name: "… && true", apply: (t) => (multi(t) ? `{\n${t}\n} && true` : `${t} && true`) },
  { name: "… || true", apply: (t) => (multi(t) ? `{\n${t}\n} || true` : `${t} || true`) },
  // Only a single command goes straight after `&&`: `true && D=dist; rm -rf "$D"` would make the
  // assignment conditional, and a conditional assignment leaves the variable unknown (R14).
  { name: "true && …", apply: (t) => (/[;&|\n]/.test(t) ? `true && {\n${t}\n}` : `true && ${t}`) },
  { name: "if true; then …; fi", apply: (t) => (multi(t) ? `if true; then\n${t}\nfi` : `if true; then ${t}; fi`) },
  { name: 'echo "$(…)"', apply: (t) => (multi(t) ? `echo "$(\n${t}\n)"` : `echo "$(${open(t)})"`) },
];

export interface WrapOptions {
  /** At most this many prefix wrappers (default 2). */
  readonly maxPrefix?: number;
  /** At most this many list wrappers (default 2). */
  readonly maxList?: number;
  /** Extra prefix wrappers for this class only (e.g. `uv run` for Python). */
  readonly extraPrefix?: readonly PrefixWrapper[];
}

/**
 * Applies prefix wrappers to the core (each one only where its `accepts` allows, the others are
 * skipped) and then list wrappers around the whole text.
 */
export function applyWrappers(
  s: Shape,
  prefix: readonly PrefixWrapper[],
  list: readonly ListWrapper[],
): { command: string; used: string[] } {
  let core = s.core;
  let head = s.head;
  const used: string[] = [];
  for (const w of prefix) {
    if (!w.accepts.includes(head)) continue;
    core = w.apply(core);
    head = w.yields;
    used.push(w.name);
  }
  let command = s.before + core + s.after;
  for (const w of list) {
    command = w.apply(command);
    used.push(w.name);
  }
  return { command, used };
}

/** Cases from shapes, each wrapped in up to `maxPrefix` prefix and `maxList` list wrappers. */
export function wrapped(shapes: fc.Arbitrary<Shape>, expected: Target, options: WrapOptions = {}): fc.Arbitrary<Case> {
  const prefixPool = [...PREFIX_WRAPPERS, ...(options.extraPrefix ?? [])];
  return fc
    .tuple(
      shapes,
      fc.array(fc.constantFrom(...prefixPool), { maxLength: options.maxPrefix ?? 2 }),
      fc.array(fc.constantFrom(...LIST_WRAPPERS), { maxLength: options.maxList ?? 2 }),
    )
    .map(([s, prefix, list]) => {
      const { command, used } = applyWrappers(s, prefix, list);
      return { command, expected, why: used.length > 0 ? `${s.why} [wrapped: ${used.join(", ")}]` : s.why };
    });
}

/** Cases from shapes without wrappers. */
export function bare(shapes: fc.Arbitrary<Shape>, expected: Target): fc.Arbitrary<Case> {
  return shapes.map((s) => ({ command: textOf(s), expected, why: s.why }));
}

// ---------------------------------------------------------------------------------------------
// Reproducibility knobs.
// ---------------------------------------------------------------------------------------------

/** The fast-check seed: `STIGMER_PBT_SEED` or a fixed default, so a failure reproduces. */
export function pbtSeed(): number {
  const raw = process.env.STIGMER_PBT_SEED;
  const n = raw === undefined || raw === "" ? Number.NaN : Number(raw);
  return Number.isInteger(n) ? n : 20_260_917;
}

/** Runs per property: `STIGMER_PBT_RUNS` or `fallback`. */
export function pbtRuns(fallback: number): number {
  const raw = process.env.STIGMER_PBT_RUNS;
  const n = raw === undefined || raw === "" ? Number.NaN : Number(raw);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}
