import type { ToolContext } from "../engine/context.js";
import { resolve } from "../engine/paths.js";
import { type Arg, sliceArg, syntheticArg } from "../engine/words.js";

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `cd`, `pushd`, `popd`, `chdir`: where later commands run. A `cd` may fail, so the old directory stays possible. */
export function cd(ctx: ToolContext): void {
  const { scope, inv } = ctx;
  const program = inv.program;
  ctx.find("local.session");
  if (program === "popd") {
    const top = scope.stack.shift();
    scope.changeDir(scope.stack.length >= 0 ? top : undefined, false);
    return;
  }
  const target = ctx.parsed.positionals[0];
  let dir: string | undefined;
  if (!target) dir = program === "pushd" ? undefined : "~";
  else if (target.value === "-" || /^[+-]\d+$/.test(target.value ?? "")) dir = undefined;
  else if (target.value === undefined) dir = target.tilde || target.prefix.startsWith("~") ? "~" : undefined;
  else {
    const value = target.tilde && !target.value.startsWith("~") ? `~${target.value}` : target.value;
    // `CDPATH=… cd x` sets it for this cd only.
    const prefix = ctx.inv.env.get("CDPATH");
    const cdpath = prefix ? (prefix.value ?? null) : scope.vars.get("CDPATH");
    const relative = !value.startsWith("/") && !value.startsWith("~") && !/^\.\.?(\/|$)/.test(value);
    dir = relative && cdpath !== undefined && cdpath !== null && cdpath !== "" ? undefined : resolve(value, scope.dir, scope);
  }
  if (program === "pushd") scope.stack.unshift(scope.dir);
  scope.changeDir(dir, false);
}

/** `export`, `declare`, `typeset`, `local`, `readonly`: assignments, judged for what they make programs do. */
export function declare(ctx: ToolContext): void {
  const { scope, parsed } = ctx;
  ctx.find("local.session");
  const nameref = parsed.has("-n");
  const functions = parsed.has("-f", "-F");
  if (functions) return;
  for (const arg of parsed.positionals) {
    const text = arg.value ?? arg.prefix;
    const eq = text.indexOf("=");
    const name = eq > 0 ? text.slice(0, eq).replace(/\+$/, "") : text;
    if (!NAME.test(name)) continue;
    if (scope.arrays.has(name) && arg.text.includes("=(")) continue; // an array, recorded by the engine
    if (eq < 0) {
      if (ctx.inv.program === "local" || (ctx.inv.program === "declare" && !parsed.has("-x", "-p", "-g"))) scope.vars.set(name, undefined);
      continue;
    }
    const value = sliceArg(arg, eq + 1);
    const append = text[eq - 1] === "+";
    const known = nameref || append || parsed.has("-a", "-A", "-i") ? undefined : value.value;
    scope.vars.set(name, known);
    ctx.env(name, value, true);
  }
}

/** `unset NAME…` / `unset -f NAME…`. */
export function unset(ctx: ToolContext): void {
  ctx.find("local.session");
  for (const arg of ctx.parsed.positionals) {
    if (arg.value === undefined) continue;
    if (ctx.parsed.has("-f")) ctx.scope.functions.delete(arg.value);
    else ctx.scope.vars.set(arg.value, null);
  }
}

/** `read [-r] NAME…`: a here-string or heredoc gives the value; anything else is unknown. */
export function read(ctx: ToolContext): void {
  const { scope, inv, parsed } = ctx;
  ctx.find("local.session");
  const names = parsed.positionals.map((p) => p.value).filter((v): v is string => v !== undefined && NAME.test(v));
  const array = parsed.value("-a");
  if (array?.value) scope.vars.set(array.value, undefined);
  if (names.length === 0) return;
  const text =
    inv.stdin.kind === "text" && inv.stdin.literal && !parsed.has("-a", "-d", "-n", "-N", "-u") ? inv.stdin.text.split("\n")[0] : undefined;
  if (text === undefined) {
    for (const n of names) scope.vars.set(n, undefined);
    return;
  }
  const raw = parsed.has("-r") ? text : text.replace(/\\(.)/g, "$1");
  const words = raw.trim().split(/[ \t]+/);
  names.forEach((n, i) => {
    scope.vars.set(n, i === names.length - 1 ? words.slice(i).join(" ") : (words[i] ?? ""));
  });
}

/** `printf -v NAME FORMAT ARGS`: the variable gets the formatted text (known for `%s` formats). */
export function printf(ctx: ToolContext): void {
  const target = ctx.parsed.value("-v");
  ctx.find("local.read");
  if (!target?.value) return;
  ctx.find("local.session");
  // Not a literal assignment (R14): the variable is unknown.
  const [format] = ctx.parsed.positionals;
  ctx.scope.vars.set(target.value, undefined);
  ctx.env(target.value, syntheticArg(undefined, format), true);
}

/** `mapfile`, `readarray`, `let`, `getopts`: the variables they set are unknown. */
export function unknownVariables(ctx: ToolContext): void {
  ctx.find("local.session");
  for (const arg of ctx.parsed.positionals) {
    const name = (arg.value ?? "").split("=")[0] ?? "";
    if (NAME.test(name)) ctx.scope.vars.set(name, undefined);
  }
  const variable = ctx.parsed.value("-v");
  if (variable?.value) ctx.scope.vars.set(variable.value, undefined);
}

/** `set -e`, `set -o errexit`, `set -- ARGS`. */
export function set(ctx: ToolContext): void {
  const { scope, inv } = ctx;
  ctx.find("local.session");
  const words = inv.args.map((a) => a.value);
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === undefined) continue;
    if (w === "--") {
      inv.args.slice(i + 1).forEach((a, k) => {
        scope.vars.set(String(k + 1), a.value);
      });
      break;
    }
    if (/^-[a-zA-Z]*e/.test(w)) scope.errexit = true;
    if (/^\+[a-zA-Z]*e/.test(w)) scope.errexit = false;
    if ((w === "-o" || w === "+o") && words[i + 1] === "errexit") scope.errexit = w === "-o";
  }
}

/** `shopt -s expand_aliases` makes alias bodies code. */
export function shopt(ctx: ToolContext): void {
  ctx.find("local.session");
  if (ctx.parsed.has("-s") && ctx.parsed.positionals.some((p) => p.value === "expand_aliases")) ctx.scope.aliases = true;
}

/** `alias NAME=BODY`: a body is code when aliases are expanded (`shopt -s expand_aliases`, interactive shells). */
export function alias(ctx: ToolContext): void {
  ctx.find("local.session");
  if (!ctx.scope.aliases) return;
  for (const arg of ctx.parsed.positionals) {
    const text = arg.value;
    if (text === undefined) {
      ctx.find("exec.dynamic-code", "defines an alias from a value that is not a literal");
      continue;
    }
    const eq = text.indexOf("=");
    if (eq > 0) ctx.shell(syntheticArg(text.slice(eq + 1), arg));
  }
}

export type { Arg };
