import type { FindingId, SandboxFindingId } from "../findings.js";
import { FINDINGS } from "../findings.js";
import { type Level, type OptionEffect, type Tool, takesValue } from "../tools/spec.js";
import { type Arg, sliceArg } from "./words.js";

/** One option as given: its name, its value (for value options) and what it does. */
export interface GivenOption {
  name: string;
  value: Arg | undefined;
  effect: OptionEffect | undefined;
  /** The word it came from. */
  arg: Arg;
}

/** An invocation read against a tool's levels: verbs, options, positionals, the command it runs. */
export interface Parsed {
  /** The verb path (`["stash", "drop"]`). */
  verbs: string[];
  /** The deepest level reached (the tool itself when it has no verb). */
  level: Level;
  /** Every level on the way, the tool first. */
  levels: Level[];
  /** The outcome of the deepest level, after `when` overrides and dry-run flags. */
  outcome: FindingId;
  options: GivenOption[];
  positionals: Arg[];
  /** Index in the invocation's arguments where a command the tool runs starts. */
  commandAt: number | undefined;
  /** Findings the parse itself made (a verb that is not known, a dynamic word where it decides). */
  problems: { id: SandboxFindingId; what: string }[];
  /** Whether an option (by any of its names) was given. */
  has(...names: string[]): boolean;
  /** The value of the first of these options that was given. */
  value(...names: string[]): Arg | undefined;
}

const SAFE_EFFECTS = new Set<unknown>(["value", "read"]);
/** An unlisted verb of a tool that runs project scripts by name (`yarn build`). */
const SCRIPT_LEVEL: Level = { is: "local.project-code", handler: "npm-scripts" };

function isDangerous(effect: OptionEffect): boolean {
  if (typeof effect === "object")
    return "flag" in effect && effect.flag !== "none" && FINDINGS[effect.flag as FindingId]?.verdict === "sandbox";
  return !SAFE_EFFECTS.has(effect);
}

function hasDangerousOptions(levels: readonly Level[]): boolean {
  for (const level of levels) for (const effect of Object.values(level.options ?? {})) if (isDangerous(effect)) return true;
  return false;
}

/** Option names of a table, without `--opt=value` keys (cached: tables are static data). */
const keyCache = new WeakMap<object, readonly string[]>();
function keysOf(table: Readonly<Record<string, OptionEffect>>): readonly string[] {
  let keys = keyCache.get(table);
  if (!keys) {
    keys = Object.keys(table).filter((k) => !k.includes("="));
    keyCache.set(table, keys);
  }
  return keys;
}

/** The full name of the option the last {@link lookup} found (`--discard-changes` for `--discard`). */
let lookedUp: string | undefined;

/** Looks an option up: exactly, then (long options) by an unambiguous or dangerous prefix, as getopt_long allows. */
function lookup(name: string, tables: readonly Readonly<Record<string, OptionEffect>>[]): OptionEffect | undefined {
  lookedUp = name;
  for (const t of tables) if (Object.hasOwn(t, name)) return t[name];
  if (!name.startsWith("--") || name.length < 4) return undefined;
  let candidate: OptionEffect | undefined;
  let candidateName: string | undefined;
  let count = 0;
  for (const t of tables)
    for (const key of keysOf(t)) {
      if (!key.startsWith(name)) continue;
      const effect = t[key] as OptionEffect;
      // An abbreviation that could be a dangerous option counts as it (fail closed).
      if (isDangerous(effect)) {
        lookedUp = key;
        return effect;
      }
      candidate = effect;
      candidateName = key;
      count++;
    }
  if (count === 1) lookedUp = candidateName;
  return count === 1 ? candidate : undefined;
}

/** The option a word with a known start names (`-j…`, `--output=…`), when that much is certain. */
function knownOptionOfPrefix(
  prefix: string,
  tables: readonly Readonly<Record<string, OptionEffect>>[],
  tool: Tool,
): { name: string; effect: OptionEffect } | undefined {
  if (prefix.startsWith("--")) {
    const eq = prefix.indexOf("=");
    if (eq < 0) return undefined;
    const name = prefix.slice(0, eq);
    const effect = lookup(name, tables);
    return effect === undefined ? undefined : { name, effect };
  }
  if (prefix.length < 2 || !prefix.startsWith("-") || tool.singleDashLong) return undefined;
  const name = prefix.slice(0, 2);
  const effect = lookup(name, tables);
  return effect !== undefined && takesValue(effect) ? { name, effect } : undefined;
}

/** Reads `args` against `tool`. */
export function parseArgs(tool: Tool, args: readonly Arg[]): Parsed {
  const levels: Level[] = [tool];
  const verbs: string[] = [];
  const options: GivenOption[] = [];
  const positionals: Arg[] = [];
  const problems: Parsed["problems"] = [];
  let commandAt: number | undefined;
  let endOfOptions = false;
  let verbPending = tool.verbs !== undefined;
  let positionalIndex = 0;
  let stopped = false;

  const tables = (): Readonly<Record<string, OptionEffect>>[] => {
    const current = levels[levels.length - 1] as Level;
    const out = [current.options ?? {}];
    if (levels.length > 1) {
      if (tool.optionsAnywhere) for (let i = levels.length - 2; i >= 0; i--) out.push((levels[i] as Level).options ?? {});
    }
    return out;
  };

  for (let i = 0; i < args.length && !stopped; i++) {
    const arg = args[i] as Arg;
    const level = levels[levels.length - 1] as Level;
    const v = arg.value;
    // A word that may be an option: it starts with `-`, or its start is unknown.
    // A process substitution is a /dev/fd path, never an option.
    const substitutedPath = arg.processSubstitutions.length > 0 && (arg.text.startsWith("<(") || arg.text.startsWith(">("));
    const optionLike =
      !endOfOptions &&
      (v === undefined ? (arg.prefix === "" || arg.prefix.startsWith("-")) && !substitutedPath : v.startsWith("-") && v !== "-");

    if (v === undefined) {
      if (verbPending) {
        problems.push({ id: "exec.dynamic-word", what: `takes its subcommand from \`${arg.text}\`, which is not a literal` });
        stopped = true;
        break;
      }
      if (level.command !== undefined && positionalIndex === level.command) {
        commandAt = i; // the inner command's name is judged (and found dynamic) there
        break;
      }
      if (optionLike && !arg.globbed && hasDangerousOptions(tool.optionsAnywhere ? levels : [level])) {
        // `-j"$(nproc)"`, `--output=$X`: the option is known, only its value is not.
        const known = knownOptionOfPrefix(arg.prefix, tables(), tool);
        if (known === undefined || isDangerous(known.effect)) {
          problems.push({
            id: "exec.dynamic-word",
            what: `passes \`${arg.text}\`, which is not a literal and may be an option that runs programs or writes files`,
          });
        }
        if (known && takesValue(known.effect)) {
          options.push({ name: known.name, value: { ...arg, value: undefined, prefix: "" }, effect: known.effect, arg });
          continue;
        }
      }
      positionals.push(arg);
      positionalIndex++;
      if (tool.optionsEndAtPositional || level.optionsEndAtPositional) endOfOptions = true;
      continue;
    }
    const value = v as string;

    if (!endOfOptions && value === "--") {
      endOfOptions = true;
      continue;
    }
    if (optionLike && verbPending && level.verbs && Object.hasOwn(level.verbs, value)) {
      // An option that is a verb of its own (`brew --prefix`, `npm --version`).
      const next = level.verbs[value] as Level | FindingId;
      verbs.push(value);
      const nextLevel: Level = typeof next === "string" ? { is: next } : next;
      levels.push(nextLevel);
      verbPending = nextLevel.verbs !== undefined;
      positionalIndex = 0;
      continue;
    }
    if (optionLike) {
      const ts = tables();
      if (value.startsWith("--") || tool.singleDashLong) {
        let eq = value.indexOf("=");
        if (tool.singleDashLong && !value.startsWith("--")) {
          const colon = value.indexOf(":");
          if (colon > 0 && (eq < 0 || colon < eq) && lookup(value.slice(0, colon), ts) !== undefined) eq = colon;
        }
        const exactWithValue = eq > 0 ? lookup(value, ts) : undefined;
        const effect = exactWithValue ?? lookup(eq > 0 ? value.slice(0, eq) : value, ts);
        // An abbreviation is recorded under the option's full name (`--forc` is `--force`).
        const name = effect !== undefined && exactWithValue === undefined ? (lookedUp as string) : eq > 0 ? value.slice(0, eq) : value;
        if (effect !== undefined && typeof effect === "object" && "values" in effect) {
          options.push({ name, value: eq > 0 ? sliceArg(arg, eq + 1) : args[i + 1], effect, arg });
          i += effect.values - (eq > 0 ? 1 : 0);
          continue;
        }
        if (effect !== undefined && takesValue(effect) && !(exactWithValue !== undefined)) {
          const optValue = eq > 0 ? sliceArg(arg, eq + 1) : args[++i];
          options.push({ name, value: optValue, effect, arg });
        } else if (exactWithValue === undefined && eq > 0 && !/^(true|yes|1|on)$/i.test(value.slice(eq + 1))) {
          // `--flag=false`, `--dry-run=none`: not the flag itself.
          options.push({ name: value, value: undefined, effect: undefined, arg });
        } else options.push({ name: exactWithValue !== undefined ? value : name, value: undefined, effect, arg });
        continue;
      }
      const whole = value.length > 2 ? lookup(value, ts) : undefined;
      if (whole !== undefined) {
        // Listed as a whole (`-exec`, `-TT`): one option, not a cluster.
        options.push({ name: value, value: takesValue(whole) ? args[++i] : undefined, effect: whole, arg });
        continue;
      }
      // -abc: a cluster of one-letter options; a value option takes the rest of the cluster or the next word.
      let j = 1;
      let consumedNext = false;
      while (j < value.length) {
        if (value[j] === "=") break; // `-f=VALUE`: the rest is a value
        const name = `-${value[j]}`;
        const effect = lookup(name, ts);
        if (effect !== undefined && takesValue(effect)) {
          const rest = value.slice(j + 1);
          const optValue = rest !== "" ? sliceArg(arg, j + 1) : args[i + 1];
          if (rest === "") consumedNext = true;
          options.push({ name, value: optValue, effect, arg });
          break;
        }
        options.push({ name, value: undefined, effect, arg });
        j++;
      }
      if (consumedNext) i++;
      continue;
    }

    // A positional.
    if (level.command !== undefined && positionalIndex === level.command) {
      commandAt = i;
      break;
    }
    if (verbPending && tool.plusOptions && value.startsWith("+") && levels.length === 1) continue;
    if (verbPending) {
      const table = level.verbs as Readonly<Record<string, Level | FindingId>>;
      // A subcommand from a variable assigned a literal (`A=run; npm $A build`) or in quotes is known (R14);
      // one from a substitution is not.
      if (arg.unusual || arg.substitutions.length > 0 || arg.splits || arg.glob || arg.brace) {
        problems.push({ id: "exec.dynamic-word", what: `takes its subcommand from \`${arg.text}\`, which is not a literal` });
        stopped = true;
        break;
      }
      if (!Object.hasOwn(table, value) && level.scripts && value !== value.toLowerCase() && Object.hasOwn(table, value.toLowerCase())) {
        problems.push({ id: "exec.obfuscated", what: `writes the subcommand \`${value.toLowerCase()}\` in odd case` });
        stopped = true;
        break;
      }
      const next = Object.hasOwn(table, value) ? table[value] : level.scripts ? SCRIPT_LEVEL : undefined;
      if (next === undefined) {
        problems.push({ id: "exec.unknown-verb", what: `\`${[...verbs, value].join(" ")}\` is not a subcommand known to be local` });
        stopped = true;
        break;
      }
      verbs.push(value);
      const nextLevel: Level = typeof next === "string" ? { is: next } : next;
      levels.push(nextLevel);
      verbPending = nextLevel.verbs !== undefined;
      positionalIndex = 0;
      endOfOptions = false;
      continue;
    }
    positionals.push(arg);
    positionalIndex++;
    if (tool.optionsEndAtPositional || level.optionsEndAtPositional) endOfOptions = true;
  }

  const level = levels[levels.length - 1] as Level;
  let outcome: FindingId;
  if (verbPending && !stopped) outcome = level.bare ?? "exec.unknown-verb";
  else outcome = level.is ?? (levels.length === 1 ? "local.read" : "exec.unknown-verb");

  const given = new Set(options.map((o) => o.name));
  const givenExact = new Set(options.map((o) => o.arg.value));
  const present = (names: readonly string[]) => names.some((n) => given.has(n) || givenExact.has(n));
  // Long options the tables do not list may abbreviate one a `when` names (`git checkout --forc`):
  // for an override that sends to the sandbox, such a prefix counts (fail closed).
  const unlisted = options
    .filter((o) => o.effect === undefined && o.name.startsWith("--") && o.name.length > 3)
    .map((o) => o.name.split("=")[0] as string);
  const abbreviated = (names: readonly string[]) => unlisted.some((u) => names.some((n) => n.startsWith("--") && n.startsWith(u)));
  // `when` overrides, deepest level first.
  outer: for (let l = levels.length - 1; l >= 0; l--) {
    for (const w of (levels[l] as Level).when ?? []) {
      if (present(w.if) || (FINDINGS[w.is]?.verdict === "sandbox" && abbreviated(w.if))) {
        outcome = w.is;
        break outer;
      }
    }
  }
  if (level.emptyIs !== undefined && positionals.length === 0 && !stopped && !verbPending) outcome = level.emptyIs;
  if (level.readWords && positionals.some((p) => p.value !== undefined && level.readWords?.includes(p.value)) && !stopped)
    outcome = "local.read";
  for (const o of options) {
    if (
      typeof o.effect === "object" &&
      "flag" in o.effect &&
      o.effect.flag !== "none" &&
      FINDINGS[o.effect.flag as FindingId]?.verdict === "local"
    )
      outcome = o.effect.flag;
  }
  if (!stopped && outcome === "exec.unknown-verb" && problems.length === 0)
    problems.push({
      id: "exec.unknown-verb",
      what: verbPending
        ? `\`${[tool.names[0], ...verbs].join(" ")}\` without a subcommand is not known to be local`
        : `this form of \`${[tool.names[0], ...verbs].join(" ")}\` is not known to be local`,
    });

  return {
    verbs,
    level,
    levels,
    outcome,
    options,
    positionals,
    commandAt,
    problems,
    has: (...names: string[]) => present(names),
    value: (...names: string[]) => {
      for (const o of options) if (names.includes(o.name) && o.value) return o.value;
      return undefined;
    },
  };
}
