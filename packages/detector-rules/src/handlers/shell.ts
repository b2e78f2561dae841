import type { ToolContext } from "../engine/context.js";
import { type Arg, syntheticArg } from "../engine/words.js";

/**
 * `bash`, `sh`, `zsh` …: `-c CODE` is analysed as a script (its positional parameters known when
 * they are literals), a script file is run as project code (judged by its content when the line
 * wrote it), and with neither, or with `-s`, the program comes from standard input.
 */
export function shell(ctx: ToolContext): void {
  const { parsed } = ctx;
  const hasC = parsed.options.some((o) => o.name === "-c" || o.name === "--command");
  const first = parsed.positionals[0];
  if (hasC) {
    const codeOption = parsed.options.find((o) => (o.name === "-c" || o.name === "--command") && o.value);
    const code = codeOption?.value ?? first;
    if (!code) return;
    const params = codeOption ? parsed.positionals : parsed.positionals.slice(1);
    return ctx.shell(code, params);
  }
  if (!first && ctx.inv.args.some((a) => /^(--version|--help|-h|-V)$/.test(a.value ?? ""))) return ctx.find("local.read");
  if (parsed.has("-s") || !first || first.value === "-") return ctx.stdinCode("shell");
  ctx.runFile(first, "shell");
}

/** `busybox APPLET args…`: the applet is the command. */
export function busybox(ctx: ToolContext): void {
  const [applet, ...rest] = ctx.parsed.positionals;
  if (!applet) return;
  const index = ctx.inv.args.indexOf(applet);
  ctx.command(index >= 0 ? ctx.inv.args.slice(index) : [applet, ...rest]);
}

/** `source FILE` / `. FILE`: runs the file in this shell; what it sets is unknown afterwards. */
export function source(ctx: ToolContext): void {
  const [file] = ctx.parsed.positionals;
  if (!file) return;
  if (file.value !== undefined && /^\/dev\/|^\/proc\/self\/fd\/|^-$/.test(file.value)) ctx.runFile(file, "shell");
  else if (file.value === undefined || !file.literal) {
    const cls = ctx.classify(file);
    if (cls !== "inside" || file.processSubstitutions.length > 0) ctx.runFile(file, "shell");
    else ctx.find("local.project-code");
  } else ctx.runFile(file, "shell");
  // Whatever the file sets is unknown from here on.
  for (const name of ctx.scope.vars.keys()) ctx.scope.vars.set(name, undefined);
}

/** `trap 'CODE' SIGNALS`: the code runs later, in this shell. */
export function trap(ctx: ToolContext): void {
  if (ctx.parsed.has("-l", "-p")) return;
  const [code] = ctx.parsed.positionals;
  if (!code || code.value === "-" || code.value === "") return;
  ctx.shell(code);
}

/** `watch [opts] CMD…`: the words are joined and run by `sh -c` (or run directly with `-x`). */
export function watch(ctx: ToolContext): void {
  const { parsed } = ctx;
  const words = fromFirstPositional(ctx);
  if (words.length === 0) return;
  if (parsed.has("-x", "--exec")) return ctx.command(words);
  if (words.some((p) => p.value === undefined)) return ctx.shell(syntheticArg(undefined, words[0]));
  ctx.shell(syntheticArg(words.map((p) => p.value).join(" "), words[0]));
}

/** The arguments from the first positional on, as given (options after it belong to the command). */
export function fromFirstPositional(ctx: ToolContext): Arg[] {
  const first = ctx.parsed.positionals[0];
  if (!first) return [];
  const start = ctx.inv.args.indexOf(first);
  return start >= 0 ? ctx.inv.args.slice(start) : ctx.parsed.positionals;
}

/** Each positional is a shell command (`hyperfine 'a' 'b'`, `concurrently 'a' 'b'`). */
export function shellPositionals(ctx: ToolContext): void {
  for (const p of ctx.parsed.positionals) {
    const short = p.value !== undefined ? /^(npm|yarn|pnpm|bun):(.+)$/.exec(p.value) : null;
    if (short) ctx.shell(syntheticArg(`${short[1]} run '${(short[2] as string).replace(/'/g, "")}'`, p));
    else ctx.shell(p);
  }
}

/** The positionals form one command, run through `sh -c` (`su -c`, `flock -c`, `script -c` style handled by options). */
export function shellJoined(ctx: ToolContext): void {
  const ps = fromFirstPositional(ctx);
  if (ps.length === 0) return;
  if (ps.some((p) => p.value === undefined)) return ctx.shell(syntheticArg(undefined, ps[0]));
  ctx.shell(syntheticArg(ps.map((p) => p.value).join(" "), ps[0]));
}

/** `command CMD…` / `builtin CMD…` run CMD; `command -v`/`-V` only look names up. */
export function commandBuiltin(ctx: ToolContext): void {
  const { parsed, inv } = ctx;
  if (parsed.has("-v", "-V")) return;
  const first = parsed.positionals[0];
  if (!first) return;
  const start = inv.args.indexOf(first);
  ctx.command(start >= 0 ? inv.args.slice(start) : parsed.positionals);
}

/** `entr [-s] CMD…`: runs CMD (or, with `-s`, a shell string) when files change. */
export function entr(ctx: ToolContext): void {
  const { parsed } = ctx;
  const first = parsed.positionals[0];
  if (!first) return;
  if (parsed.has("-s")) return ctx.shell(first);
  const words = fromFirstPositional(ctx).map((w) => (w.value === "/_" ? syntheticArg("./changed-file", w) : w));
  if (words.length === 1 && /\s/.test(first.value ?? "")) return ctx.shell(first);
  ctx.command(words);
}

/** `script [-c CMD] [FILE]`: without `-c` it starts an interactive shell that reads standard input. */
export function scriptSession(ctx: ToolContext): void {
  if (ctx.parsed.has("-c", "--command")) return;
  ctx.stdinCode("shell");
}

/** `nodemon [--exec CMD] [SCRIPT] [ARGS]`: CMD runs with the script appended; without it the script runs with node. */
export function nodemon(ctx: ToolContext): void {
  const { parsed } = ctx;
  const exec = parsed.value("-x", "--exec");
  const words = parsed.positionals;
  if (exec) {
    if (exec.value === undefined || words.some((w) => w.value === undefined)) return ctx.shell(syntheticArg(undefined, exec));
    if (/[|;&<>`$()]/.test(exec.value)) ctx.shell(exec);
    return ctx.shell(syntheticArg([exec.value, ...words.map((w) => w.value)].join(" "), exec));
  }
  if (words[0]) ctx.runFile(words[0], "js");
}
