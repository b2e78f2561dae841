import type { Rule } from "./rule.js";

/** A rule prepared for matching: regular expressions compiled, subcommands split into words. */
export interface CompiledRule {
  rule: Rule;
  subcommands: string[][] | undefined;
  exceptSubcommands: string[][] | undefined;
  args: RegExp[] | undefined;
  valueOptions: Set<string>;
}

/** `(?i)` at the start of a pattern means case-insensitive (JavaScript has no inline flag). */
function compilePattern(source: string): RegExp {
  return source.startsWith("(?i)") ? new RegExp(source.slice(4), "i") : new RegExp(source);
}

export function compileRule(rule: Rule): CompiledRule {
  return {
    rule,
    subcommands: rule.match.subcommands?.map((s) => s.split(" ")),
    exceptSubcommands: rule.match.exceptSubcommands?.map((s) => s.split(" ")),
    args: rule.match.args?.map(compilePattern),
    valueOptions: new Set(rule.match.valueOptions ?? []),
  };
}

/** Arguments that are not options, skipping the values of options that take one. */
export function positionals(args: readonly string[], valueOptions: ReadonlySet<string>): string[] {
  const out: string[] = [];
  let optionsDone = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!optionsDone && arg === "--") {
      optionsDone = true;
      continue;
    }
    if (!optionsDone && arg.startsWith("-") && arg !== "-") {
      if (valueOptions.has(arg)) i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** Whether `flag` is present: exactly, as `--flag=value`, or (one letter) inside a cluster like `-rf`. */
export function hasFlag(args: readonly string[], flag: string): boolean {
  const singleLetter = /^-[a-zA-Z0-9]$/.test(flag);
  for (const arg of args) {
    if (arg === "--") return false;
    if (arg === flag) return true;
    if (flag.startsWith("--") && arg.startsWith(`${flag}=`)) return true;
    if (singleLetter && /^-[a-zA-Z0-9]{2,}$/.test(arg) && arg.includes(flag[1] as string)) return true;
  }
  return false;
}

function startsWith(words: readonly string[], seq: readonly string[]): boolean {
  return seq.every((w, i) => words[i] === w);
}

/** Whether a command (`name` after unwrapping, `args` as values) matches the rule. */
export function matches(compiled: CompiledRule, args: readonly string[]): boolean {
  const m = compiled.rule.match;
  const needsPositionals = compiled.subcommands || compiled.exceptSubcommands || m.noPositionals;
  const pos = needsPositionals ? positionals(args, compiled.valueOptions) : [];
  if (m.noPositionals && pos.length > 0) return false;
  if (compiled.subcommands && !compiled.subcommands.some((seq) => startsWith(pos, seq))) return false;
  if (compiled.exceptSubcommands) {
    if (pos.length === 0) {
      if (!m.bare) return false;
    } else if (compiled.exceptSubcommands.some((seq) => startsWith(pos, seq))) {
      return false;
    }
  }
  if (m.flags && !m.flags.some((f) => hasFlag(args, f))) return false;
  if (m.exceptFlags?.some((f) => hasFlag(args, f))) return false;
  if (compiled.args && !args.some((a) => compiled.args?.some((re) => re.test(a)))) return false;
  return true;
}

/** Rules indexed by command name, for fast lookup. */
export class RuleIndex {
  private readonly byCommand = new Map<string, CompiledRule[]>();
  readonly all: CompiledRule[];

  constructor(rules: readonly Rule[]) {
    this.all = rules.map(compileRule);
    for (const compiled of this.all) {
      for (const name of compiled.rule.match.commands) {
        const list = this.byCommand.get(name);
        if (list) list.push(compiled);
        else this.byCommand.set(name, [compiled]);
      }
    }
  }

  /** Rules whose command list names `name`. */
  for(name: string): readonly CompiledRule[] {
    return this.byCommand.get(name) ?? [];
  }

  /** True when some sandbox rule names this command (it is a command worth disguising). */
  risky(name: string): boolean {
    return (this.byCommand.get(name) ?? []).some((c) => c.rule.verdict === "sandbox");
  }
}
