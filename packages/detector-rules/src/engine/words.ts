import type { ParameterExpansionPart, ParsedScript, Word, WordPart } from "unbash";
import { globMatch } from "./glob.js";

/**
 * What the detector knows about one shell word without running anything: its value when the line
 * itself determines it (literals, variables the line assigned, `${…}` operators on those), and
 * everything that makes it dynamic or suspicious.
 */
export interface Arg {
  /** Source text, as written. */
  text: string;
  /** The value after quote removal and the expansions the detector can evaluate; undefined when unknown. */
  value: string | undefined;
  /** Nothing in it is expanded: no parameter, command, arithmetic or process expansion, no ANSI-C or locale string, no glob or brace. */
  literal: boolean;
  /** Quotes or backslashes inside it (`p''ip`, `\rm`, `"rm"`). */
  quoted: boolean;
  /** Characters outside printable ASCII (invisible, homoglyphs, NBSP, control characters). */
  unusual: boolean;
  /** An unquoted glob (`*`, `?`, `[…]`, extended globs). */
  glob: boolean;
  /** An unquoted brace expansion (`{a,b}`, `{1..3}`). */
  brace: boolean;
  /** An unquoted expansion whose value is unknown: it may split into several words or glob. */
  splits: boolean;
  /** The literal text the word certainly starts with (empty when it starts with an unknown expansion). */
  prefix: string;
  /** Starts with an unquoted `~` (a home directory). */
  tilde: boolean;
  /**
   * The value is unknown but is a path the line listed itself (a loop variable over a glob such
   * as `tests/*.py`, or `$(git ls-files)`): it starts with `prefix` and cannot leave that directory.
   */
  globbed?: boolean;
  /** With `globbed`: the listing may be every entry of the project directory (`for d in *`). */
  listedAll?: boolean;
  /** Scripts of `$(…)`, backticks and process substitutions inside it. */
  substitutions: ParsedScript[];
  /** Scripts of process substitutions only (`<(curl …)`). */
  processSubstitutions: ParsedScript[];
  /** Names of the variables it expands. */
  variables: string[];
  /** Where it is in the source (for the part of the command a finding names). */
  pos: number;
  end: number;
}

/** What the line has set, as far as words are concerned. */
export interface VariableSource {
  /** A variable's value: a string when known, `undefined` when set to something unknown, `null` when unset on the line. Not present: unknown (the environment). */
  lookup(name: string): string | undefined | null | typeof NOT_SET;
  /** The directory commands run in, when known. */
  cwd(): string | undefined;
  /** For a loop variable over a glob: the literal directory prefix its values start with. */
  globPrefix?(name: string): string | undefined;
  /** For a loop variable over a glob: whether the glob matches every entry of the project directory. */
  globAll?(name: string): boolean;
}
export const NOT_SET = Symbol("not set on the line");

/** Characters the detector treats as a disguise in names: anything but printable ASCII. */
export function hasUnusualCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) {
      if (c === 0x0a || c === 0x09) continue;
      return true;
    }
  }
  return false;
}

const DEFAULT_IFS = " \t\n";
const MAX_EVALUATED = 8192;

interface Segment {
  value: string | undefined;
  /** Produced by an unquoted expansion: subject to word splitting. */
  splittable: boolean;
  /** An unknown value that is a path listed by the line (see Arg.globbed), starting with this. */
  listed?: string;
  listedAll?: boolean;
}

/** Shared by words with nothing expanded in them (most words): never written to. */
const NONE: never[] = Object.freeze([]) as never[];

/** Evaluates a word. `vars` is undefined for words with no line context (the engine's own). */
export function evaluate(word: Word, vars: VariableSource | undefined): Arg {
  if (!word.parts) {
    const text = word.text;
    return {
      text,
      value: word.value,
      literal: true,
      quoted: text.includes("\\") || text.includes("'") || text.includes('"'),
      unusual: hasUnusualCharacters(text),
      glob: false,
      brace: false,
      splits: false,
      prefix: word.value,
      tilde: text.startsWith("~"),
      substitutions: NONE,
      processSubstitutions: NONE,
      variables: NONE,
      pos: word.pos,
      end: word.end,
    };
  }
  const arg: Arg = {
    text: word.text,
    value: undefined,
    literal: true,
    quoted: false,
    unusual: hasUnusualCharacters(word.text),
    glob: false,
    brace: false,
    splits: false,
    prefix: "",
    tilde: false,
    substitutions: [],
    processSubstitutions: [],
    variables: [],
    pos: word.pos,
    end: word.end,
  };
  const segments: Segment[] = [];
  arg.tilde = word.parts[0]?.type === "Literal" && word.parts[0].text.startsWith("~");
  walkParts(word.parts, arg, segments, vars, false);
  let value = "";
  let known = true;
  let prefixDone = false;
  const unknown = segments.filter((s) => s.value === undefined);
  if (
    unknown.length === 1 &&
    unknown[0]?.listed !== undefined &&
    segments[0] === unknown[0] &&
    (segments.length === 1 || segments.slice(1).every((s) => s.value !== undefined && !s.value.split("/").includes("..")))
  ) {
    // Exactly one listed path, maybe with a plain suffix (`"$d/node_modules"`): known to stay below its prefix.
    arg.globbed = true;
    if (unknown[0].listedAll && segments.length === 1) arg.listedAll = true;
    arg.prefix = unknown[0].listed;
    arg.value = undefined;
    return arg;
  }
  for (const s of segments) {
    if (s.value === undefined) {
      known = false;
      prefixDone = true;
      if (s.splittable) arg.splits = true;
      continue;
    }
    value += s.value;
    if (!prefixDone) arg.prefix += s.value;
  }
  arg.value = known && value.length <= MAX_EVALUATED ? value : undefined;
  return arg;
}

function walkParts(parts: readonly WordPart[], arg: Arg, out: Segment[], vars: VariableSource | undefined, inQuotes: boolean): void {
  for (const part of parts) {
    switch (part.type) {
      case "Literal":
        if (part.text.includes("\\")) arg.quoted = true;
        out.push({ value: part.value, splittable: false });
        break;
      case "SingleQuoted":
        arg.quoted = true;
        out.push({ value: part.value, splittable: false });
        break;
      case "AnsiCQuoted":
        arg.quoted = true;
        arg.literal = false;
        out.push({ value: part.value, splittable: false });
        break;
      case "DoubleQuoted":
        arg.quoted = true;
        walkParts(part.parts as readonly WordPart[], arg, out, vars, true);
        break;
      case "LocaleString":
        arg.quoted = true;
        arg.literal = false;
        walkParts(part.parts as readonly WordPart[], arg, out, vars, true);
        break;
      case "SimpleExpansion": {
        arg.literal = false;
        const name = part.text.slice(1);
        arg.variables.push(name);
        const value = lookup(name, vars);
        const listed = value === undefined ? vars?.globPrefix?.(name) : undefined;
        out.push({ value, splittable: !inQuotes, ...(listed !== undefined ? { listed, listedAll: vars?.globAll?.(name) === true } : {}) });
        break;
      }
      case "ParameterExpansion": {
        arg.literal = false;
        arg.variables.push(part.parameter);
        for (const w of operandWords(part)) collectSubstitutions(w, arg);
        const value = parameter(part, vars);
        const plain = !part.operation && !part.index && !part.prefix;
        const listed = value === undefined && plain ? vars?.globPrefix?.(part.parameter) : undefined;
        out.push({
          value,
          splittable: !inQuotes,
          ...(listed !== undefined ? { listed, listedAll: vars?.globAll?.(part.parameter) === true } : {}),
        });
        break;
      }
      case "CommandExpansion": {
        arg.literal = false;
        if (part.script) arg.substitutions.push(part.script);
        const listed = part.script && listsProjectPaths(part.script) ? "" : undefined;
        out.push({ value: isPwd(part.text) ? vars?.cwd() : undefined, splittable: !inQuotes, ...(listed !== undefined ? { listed } : {}) });
        break;
      }
      case "ProcessSubstitution":
        arg.literal = false;
        if (part.script) {
          arg.substitutions.push(part.script);
          arg.processSubstitutions.push(part.script);
        }
        out.push({ value: undefined, splittable: false });
        break;
      case "ArithmeticExpansion":
        arg.literal = false;
        out.push({ value: undefined, splittable: !inQuotes });
        break;
      case "Glob":
      case "ExtendedGlob":
        arg.literal = false;
        arg.glob = true;
        out.push({ value: part.text, splittable: false });
        break;
      case "BraceExpansion":
        arg.literal = false;
        arg.brace = true;
        out.push({ value: part.text, splittable: false });
        break;
    }
  }
}

const LISTERS = /^(ls|find|fd|fdfind|git|rg|grep|ag)$/;
const FILTERS = /^(grep|egrep|fgrep|rg|sort|uniq|head|tail|cut|tr|cat|xargs-0)$/;

/**
 * `$(git ls-files '*.py')`, `$(find src -name '*.ts')`, `$(ls *.go)`: a substitution that only lists
 * project paths (relative arguments, filtered by grep/sort/head …).
 */
function listsProjectPaths(script: ParsedScript): boolean {
  if (script.commands.length !== 1) return false;
  const c = script.commands[0]?.command;
  const stages = c?.type === "Pipeline" ? c.commands : c ? [c] : [];
  return stages.every((stage, i) => {
    if (stage.type !== "Command" || !stage.name || stage.prefix.length > 0) return false;
    const name = stage.name.value;
    const words = stage.suffix.filter((s) => s.type === "Word").map((w) => (w as Word).value);
    if (stage.suffix.some((s) => s.type !== "Word")) return false;
    if (i > 0) return FILTERS.test(name) && !words.some((w) => w.startsWith("/") || w.includes(".."));
    if (!LISTERS.test(name)) return false;
    if (name === "git" && !/^(ls-files|diff)$/.test(words[0] ?? "")) return false;
    if ((name === "grep" || name === "rg" || name === "ag") && !words.some((w) => /^-[a-zA-Z]*[lL]|^--files/.test(w))) return false;
    if (name === "find" && words.some((w) => /^-(exec|execdir|ok|okdir|delete|fprint|fls|fprintf)/.test(w))) return false;
    return !words.some(
      (w) => w.startsWith("/") || w.startsWith("~") || w === ".." || w.startsWith("../") || w.includes("/../") || w.includes("$"),
    );
  });
}

function isPwd(text: string): boolean {
  const inner = text.replace(/^\$\(\s*|\s*\)$/g, "").replace(/^`\s*|\s*`$/g, "");
  return inner === "pwd" || inner === "pwd -P" || inner === "pwd -L";
}

function operandWords(part: ParameterExpansionPart): Word[] {
  const op = part.operation;
  const out: Word[] = [];
  if (part.index) out.push(part.index);
  if (!op) return out;
  if ("operand" in op && op.operand) out.push(op.operand);
  if (op.type === "Replace") out.push(op.pattern, op.replacement);
  if (op.type === "Slice") {
    out.push(op.offset);
    if (op.length) out.push(op.length);
  }
  return out;
}

function collectSubstitutions(word: Word, arg: Arg): void {
  const inner = evaluate(word, undefined);
  arg.substitutions.push(...inner.substitutions);
  arg.processSubstitutions.push(...inner.processSubstitutions);
}

/** A variable's value, or undefined when the detector cannot know it. */
/** Special parameters and variables that only ever hold digits: where they are in a path does not matter. */
const NUMERIC = new Set([
  "$",
  "!",
  "?",
  "#",
  "RANDOM",
  "PPID",
  "UID",
  "EUID",
  "BASHPID",
  "SECONDS",
  "LINENO",
  "EPOCHSECONDS",
  "SRANDOM",
  "SHLVL",
]);

function lookup(name: string, vars: VariableSource | undefined): string | undefined {
  if (!vars) return undefined;
  const v = vars.lookup(name);
  if (v === NOT_SET && NUMERIC.has(name)) return "0";
  if (v === NOT_SET) {
    if (name === "HOME") return "~";
    if (name === "PWD") return vars.cwd();
    if (name === "IFS") return DEFAULT_IFS;
    return undefined;
  }
  return v === null ? "" : v;
}

/** `${…}`: evaluated when the variable and the operator's operands are known. */
function parameter(part: ParameterExpansionPart, vars: VariableSource | undefined): string | undefined {
  if (!vars || part.index || part.prefix === "!") return undefined;
  const raw = vars.lookup(part.parameter);
  const state: { set: boolean; value: string | undefined } =
    raw === NOT_SET
      ? { set: part.parameter === "HOME" || part.parameter === "PWD" || part.parameter === "IFS", value: lookup(part.parameter, vars) }
      : raw === null
        ? { set: false, value: "" }
        : { set: true, value: raw };
  const known = raw !== NOT_SET || state.set;
  if (part.prefix === "#") return state.value === undefined ? undefined : String(state.value.length);
  const op = part.operation;
  if (!op) return state.value;
  const operand = (w: Word | undefined) => (w ? evaluate(w, vars).value : "");
  switch (op.type) {
    case "Default": {
      if (!known) return undefined; // the environment may or may not have it
      const colon = op.operator.startsWith(":");
      const which = op.operator.replace(":", "");
      const set = state.set;
      const v = state.value;
      if (set && colon && v === undefined) return undefined; // set, but empty or not: unknown
      const present = set && (!colon || v !== "");
      if (which === "-" || which === "=") return present ? v : operand(op.operand);
      if (which === "+") return present ? operand(op.operand) : "";
      return present ? v : undefined; // `?`: fails when absent
    }
    case "Remove": {
      const pattern = operand(op.operand);
      if (state.value === undefined || pattern === undefined) return undefined;
      return removeAffix(state.value, pattern, op.operator);
    }
    case "Replace": {
      const pattern = operand(op.pattern);
      const replacement = operand(op.replacement);
      if (state.value === undefined || pattern === undefined || replacement === undefined) return undefined;
      return replace(state.value, pattern, replacement, op.operator);
    }
    case "Slice": {
      const offset = Number(operand(op.offset));
      const length = op.length ? Number(operand(op.length)) : undefined;
      if (state.value === undefined || !Number.isInteger(offset) || (length !== undefined && !Number.isInteger(length))) return undefined;
      const start = offset < 0 ? Math.max(0, state.value.length + offset) : offset;
      if (length === undefined) return state.value.slice(start);
      return length < 0 ? state.value.slice(start, state.value.length + length) : state.value.slice(start, start + length);
    }
    case "CaseModification": {
      if (state.value === undefined || op.operand) return undefined;
      const v = state.value;
      if (op.operator === "^^") return v.toUpperCase();
      if (op.operator === ",,") return v.toLowerCase();
      if (op.operator === "^") return v.slice(0, 1).toUpperCase() + v.slice(1);
      return v.slice(0, 1).toLowerCase() + v.slice(1);
    }
    default:
      return undefined;
  }
}

const MAX_PATTERN_WORK = 512;

function removeAffix(value: string, pattern: string, operator: "#" | "##" | "%" | "%%"): string | undefined {
  if (value.length > MAX_PATTERN_WORK || pattern.length > 256) return undefined;
  const n = value.length;
  if (operator === "#" || operator === "##") {
    const lengths = operator === "#" ? ascending(n) : descending(n);
    for (const i of lengths) if (globMatch(pattern, value.slice(0, i))) return value.slice(i);
    return value;
  }
  const starts = operator === "%" ? descending(n) : ascending(n);
  for (const i of starts) if (globMatch(pattern, value.slice(i))) return value.slice(0, i);
  return value;
}

function replace(value: string, pattern: string, replacement: string, operator: "/" | "//" | "/#" | "/%"): string | undefined {
  if (value.length > 128 || pattern.length > 64) return undefined;
  if (pattern === "") return value;
  const n = value.length;
  if (operator === "/#") {
    for (const i of descending(n)) if (globMatch(pattern, value.slice(0, i))) return replacement + value.slice(i);
    return value;
  }
  if (operator === "/%") {
    for (const i of ascending(n)) if (globMatch(pattern, value.slice(i))) return value.slice(0, i) + replacement;
    return value;
  }
  let out = "";
  let i = 0;
  let replaced = false;
  while (i <= n) {
    let matched = -1;
    if (!(replaced && operator === "/"))
      for (const j of descending(n - i))
        if (j > 0 && globMatch(pattern, value.slice(i, i + j))) {
          matched = j;
          break;
        }
    if (matched > 0) {
      out += replacement;
      i += matched;
      replaced = true;
      continue;
    }
    if (i < n) out += value[i];
    i++;
  }
  return out;
}

function ascending(n: number): number[] {
  return Array.from({ length: n + 1 }, (_, i) => i);
}
function descending(n: number): number[] {
  return Array.from({ length: n + 1 }, (_, i) => n - i);
}

/**
 * The words a word becomes after field splitting of known unquoted expansions (`X="-rf ~"; rm $X`).
 * Undefined when it cannot be known (an unknown unquoted expansion).
 */
export function fields(word: Word, vars: VariableSource | undefined, arg: Arg): Arg[] | undefined {
  if (!word.parts || arg.literal) return [arg];
  if (arg.splits) return undefined;
  const segments: Segment[] = [];
  walkParts(word.parts, { ...arg, substitutions: [], processSubstitutions: [], variables: [] }, segments, vars, false);
  if (!segments.some((s) => s.splittable && s.value !== undefined && /[ \t\n]/.test(s.value))) return [arg];
  const words: string[] = [];
  let current = "";
  let open = false;
  for (const s of segments) {
    const v = s.value ?? "";
    if (!s.splittable) {
      current += v;
      open = true;
      continue;
    }
    for (const ch of v) {
      if (ch === " " || ch === "\t" || ch === "\n") {
        if (open) words.push(current);
        current = "";
        open = false;
      } else {
        current += ch;
        open = true;
      }
    }
  }
  if (open) words.push(current);
  return words.map((w) => ({ ...arg, value: w, prefix: w }));
}

/** A word made up by the engine (a value split out of an option, an inner command of a string). */
export function syntheticArg(value: string | undefined, from?: Partial<Arg>): Arg {
  return {
    text: value ?? from?.text ?? "",
    value,
    literal: value !== undefined,
    quoted: false,
    unusual: value !== undefined && hasUnusualCharacters(value),
    glob: false,
    brace: false,
    splits: false,
    prefix: value ?? "",
    tilde: value?.startsWith("~") ?? false,
    substitutions: NONE,
    processSubstitutions: NONE,
    variables: NONE,
    pos: from?.pos ?? 0,
    end: from?.end ?? 0,
  };
}

/** The part of an arg after `cut` characters of its value (`--output=FILE` → `FILE`). */
export function sliceArg(arg: Arg, cut: number): Arg {
  const value = arg.value?.slice(cut);
  return {
    ...arg,
    text: arg.text.slice(Math.min(cut, arg.text.length)),
    value,
    prefix: arg.prefix.slice(cut),
    tilde: value !== undefined ? value.startsWith("~") : false,
  };
}

/** Splits text on blanks into words, respecting simple quotes (`rsync -e 'ssh -p 22'` → `ssh`, `-p`, `22`). Undefined when it is not that simple. */
export function splitCommandText(text: string): string[] | undefined {
  const out: string[] = [];
  let current = "";
  let quote: string | undefined;
  let open = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quote) {
      if (ch === quote) quote = undefined;
      else current += ch;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      open = true;
      continue;
    }
    if (ch === " " || ch === "\t") {
      if (open) out.push(current);
      current = "";
      open = false;
      continue;
    }
    if ("$`\\;&|<>()\n*?[]{}~#".includes(ch)) return undefined;
    current += ch;
    open = true;
  }
  if (quote) return undefined;
  if (open) out.push(current);
  return out;
}
