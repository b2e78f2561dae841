import type { ToolContext } from "../engine/context.js";
import type { PathClass } from "../engine/paths.js";
import { type Arg, sliceArg, syntheticArg } from "../engine/words.js";

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/**
 * `env [-i] [-u NAME] [-C DIR] [-S STRING] [NAME=VALUE…] [CMD…]` and `cross-env NAME=VALUE… CMD…`:
 * the assignments are judged for what they make programs do, and the command runs with them
 * (in DIR when `-C` is given).
 */
export function env(ctx: ToolContext): void {
  const { parsed, inv } = ctx;
  const split = parsed.value("-S", "--split-string");
  if (split) ctx.shell(split);
  const variables = new Map(inv.env);
  const positionals = parsed.positionals;
  let i = 0;
  for (; i < positionals.length; i++) {
    const p = positionals[i] as Arg;
    const text = p.value ?? p.prefix;
    if (!ASSIGNMENT.test(text)) break;
    const eq = text.indexOf("=");
    const value = sliceArg(p, eq + 1);
    variables.set(text.slice(0, eq), value);
    ctx.env(text.slice(0, eq), value);
  }
  const command = positionals.slice(i);
  if (command.length === 0) {
    if (!split) ctx.find("local.read");
    return;
  }
  const start = inv.args.indexOf(command[0] as Arg);
  const words = start >= 0 ? inv.args.slice(start) : command;
  const dir = parsed.value("-C", "--chdir");
  if (dir) return ctx.command(words, { env: variables, dir });
  ctx.command(words, { env: variables });
}

/** Wrappers with a directory option (`sudo -D DIR`): the command runs there too. */
export function chdirCommand(ctx: ToolContext): void {
  const dir = ctx.parsed.options.find((o) => o.effect === "cwd" && o.value)?.value;
  if (!dir || ctx.parsed.commandAt === undefined) return;
  ctx.command(ctx.inv.args.slice(ctx.parsed.commandAt), { dir });
}

/**
 * `xargs [opts] CMD…`: CMD runs with arguments read from standard input, which the detector cannot
 * see; where they point is known only when the input lists paths (`find src … | xargs rm`).
 */
export function xargs(ctx: ToolContext): void {
  const { parsed, inv } = ctx;
  const fromFile = parsed.value("-a", "--arg-file");
  const appended: PathClass = fromFile
    ? "unknown"
    : inv.stdin.kind === "pipe"
      ? inv.stdin.producers.paths
      : inv.stdin.kind === "text"
        ? "unknown"
        : "unknown";
  const start = parsed.commandAt;
  const words = start === undefined ? [syntheticArg("echo")] : inv.args.slice(start);
  const replace = parsed.value("-I", "-i", "--replace", "-J");
  if (replace?.value !== undefined || parsed.has("-i", "--replace")) {
    const token = replace?.value ?? "{}";
    // A file name put into a path stays a path; put into code (`sh -c 'cat {}'`) it is code from data.
    const replaced = words.map((w, k) =>
      k > 0 && w.value?.includes(token)
        ? syntheticArg(
            appended === "inside" && /^[\w./@+,=-]*$/.test(w.value.split(token).join(""))
              ? w.value.split(token).join("./found")
              : undefined,
            w,
          )
        : w,
    );
    return ctx.command(replaced, { stdin: { kind: "descriptor" }, appended });
  }
  ctx.command(words, { stdin: { kind: "descriptor" }, appended });
}

const PARALLEL_VALUES =
  /^(-j|-P|-n|-N|-L|-l|-S|-a|-C|-d|-I|-E|-s|--jobs|--max-procs|--max-args|--max-replace-args|--max-lines|--sshlogin|--sshloginfile|--slf|--joblog|--results|--res|--tmpdir|--tempdir|--workdir|--wd|--arg-file|--colsep|--delimiter|--replace|--eof|--max-chars|--timeout|--delay|--retries|--tag-string|--tagstring|--halt|--halt-on-error|--memfree|--memsuspend|--load|--nice|--basefile|--bf|--return|--transferfile|--tf|--env|--block|--blocksize|--recstart|--recend|--header|--termseq|--seqreplace|--sshdelay|--ctagstring|--arg-sep|--arg-file-sep|--resume-failed|--template|--results-dir|--rpl|--filter|--ssh|--limit|--sql|--sqlmaster|--sqlandworker|--sqlworker|--shebang-wrap|--cleanup|--plus-rpl|--sshlogin-file|--group-by|--line-buffer-file|--compress-program|--decompress-program|--pipe-part-size|--profile|-J)$/;
/** Replacement strings of GNU parallel: `{}`, `{.}`, `{/}`, `{//}`, `{/.}`, `{#}`, `{%}`, `{1}`, `{2.}` … */
const REPLACEMENT = /\{(\d*)([./#%]*)\}/g;

/**
 * GNU `parallel [OPTIONS] CMD… ::: ARGS…` runs CMD through the shell once per argument, the argument
 * appended (or put where `{}` is); `:::: FILE` and standard input supply arguments the detector
 * cannot see. Without CMD, the arguments (or input lines) are the commands. `{= perl =}` and
 * `--filter`/`--rpl` are Perl code; `--ssh`, `--limit`, `--compress-program` run programs.
 */
export function parallel(ctx: ToolContext): void {
  const args = ctx.inv.args;
  const isSep = (a: Arg) => a.value === ":::" || a.value === "::::" || a.value === ":::+" || a.value === "::::+";
  const sources: { file: boolean; args: Arg[] }[] = [];
  let i = 0;
  let quote = false;
  for (; i < args.length; i++) {
    const a = args[i] as Arg;
    const v = a.value;
    if (v === undefined) {
      if (a.prefix.startsWith("-") || a.prefix === "")
        return ctx.find("exec.dynamic-word", `passes \`${a.text}\` to parallel, which is not a literal`);
      break;
    }
    if (isSep(a)) break;
    if (v === "--") {
      i++;
      break;
    }
    if (!v.startsWith("-") || v === "-") break;
    const eq = v.indexOf("=");
    const name = v.startsWith("--") && eq > 0 ? v.slice(0, eq) : v;
    const value = v.startsWith("--") && eq > 0 ? syntheticArg(v.slice(eq + 1), a) : PARALLEL_VALUES.test(name) ? args[i + 1] : undefined;
    if (PARALLEL_VALUES.test(name) && !(v.startsWith("--") && eq > 0)) i++;
    if (name === "-q" || name === "--quote") quote = true;
    if (
      /^(-S|--sshlogin|--sshloginfile|--slf|--sshlogin-file|--onall|--nonall|--basefile|--bf|--transferfile|--tf|--return|--trc)$/.test(
        name,
      )
    )
      ctx.find("net.remote-session", "runs commands on other hosts");
    if (/^(--ssh|--limit|--compress-program|--decompress-program|--cleanup)$/.test(name) && value) ctx.commandText(value);
    if (/^(--filter|--rpl|--plus-rpl)$/.test(name)) {
      if (value) ctx.code(value, "perl");
      else ctx.find("exec.dynamic-code", "runs Perl code it cannot see");
    }
    if (/^(--sql|--sqlmaster|--sqlandworker|--sqlworker)$/.test(name))
      ctx.find("exec.surface", "reads or writes its jobs through a database");
    if (/^(--shebang|--shebang-wrap|--pipepart)$/.test(name)) ctx.find("exec.surface", "runs a script given as input");
    if (/^(--joblog|--results|--res|--results-dir|--tmpdir|--tempdir)$/.test(name) && value && value.value !== "-")
      ctx.path(value, "write");
    if (/^(-a|--arg-file)$/.test(name) && value) sources.push({ file: true, args: [value] });
  }
  const command: Arg[] = [];
  for (; i < args.length && !isSep(args[i] as Arg); i++) command.push(args[i] as Arg);
  // The argument sources.
  while (i < args.length) {
    const file = (args[i]?.value ?? "").startsWith("::::");
    const group: Arg[] = [];
    for (i++; i < args.length && !isSep(args[i] as Arg); i++) group.push(args[i] as Arg);
    sources.push({ file, args: group });
  }
  for (const w of command) for (const m of (w.value ?? "").matchAll(/\{=(.*?)=\}/gs)) ctx.code(syntheticArg(m[1] as string, w), "perl");
  const literal = sources.filter((s) => !s.file).flatMap((s) => s.args);
  const unseen = sources.some((s) => s.file) || sources.length === 0;
  if (command.length === 0) {
    // The arguments, or the input lines, are the commands.
    for (const a of literal) ctx.shell(a);
    if (sources.some((s) => s.file)) ctx.find("exec.dynamic-code", "runs commands listed in a file");
    if (sources.length === 0) ctx.stdinCode("shell");
    return;
  }
  if (command.some((w) => w.value === undefined)) return ctx.shell(syntheticArg(undefined, command[0]));
  const whole = (w: Arg) => /^\{\d*[./#%]*\}$/.test(w.value ?? "");
  const placeholders = command.some((w) => /\{(\d*)([./#%]*)\}|\{=/.test(w.value ?? ""));
  const plain = quote || command.every((w) => whole(w) || (/^[\w./@%+,:=~-]*$/.test(w.value ?? "") && !w.value?.includes("{")));
  const appended = unseen ? (ctx.inv.stdin.kind === "pipe" && sources.length === 0 ? ctx.inv.stdin.producers.paths : "unknown") : undefined;
  if (plain) {
    // `parallel rm -rf ::: a b`, `parallel gzip {} ::: a b`: the arguments take the replacement strings' places (or are appended).
    if (!placeholders) {
      if (literal.length > 0) ctx.command([...command, ...literal]);
    } else for (const a of literal.slice(0, 32)) ctx.command(command.map((w) => (whole(w) ? a : w)));
    if (appended !== undefined)
      ctx.command(
        command.filter((w) => !whole(w)),
        { appended },
      );
    if (literal.length === 0 && appended === undefined) ctx.command(command.filter((w) => !whole(w)));
    return;
  }
  // Through the shell, with every argument in place of the replacement strings (or appended).
  const text = command.map((w) => w.value as string).join(" ");
  const fill = (arg: string) => (placeholders ? text.replace(REPLACEMENT, () => arg).replace(/\{=(.*?)=\}/gs, "x") : `${text} ${arg}`);
  for (const a of literal.slice(0, 32)) {
    const shown = a.value !== undefined && !a.splits && /^[\w./@%+,:=-]*$/.test(a.value) ? a.value : a.text;
    ctx.shell(syntheticArg(fill(shown), a));
  }
  if (appended !== undefined) {
    const shown = appended === "inside" ? "./found" : '"$__PARALLEL_ARGUMENT__"';
    ctx.shell(syntheticArg(fill(shown), command[0]));
  }
  if (literal.length === 0 && appended === undefined) ctx.shell(syntheticArg(text, command[0]));
}

/** Wrappers that start a shell when given no command (`unshare`, `setarch ARCH`, `linux32`, `firejail`). */
export function defaultShell(ctx: ToolContext): void {
  const { parsed } = ctx;
  if (parsed.commandAt !== undefined) return;
  if (parsed.has("--list", "-h", "--help", "-V", "--version", "--tree", "--top", "--debug-profiles", "--debug-syscalls")) return;
  if (parsed.positionals.length < (parsed.level.command ?? 0)) return;
  ctx.stdinCode("shell");
}

/** `pidstat -e CMD…`, `schedtool -e CMD…`: the words after `-e` are a command; otherwise schedtool's arguments are processes. */
export function execOption(ctx: ToolContext): void {
  const { inv, parsed } = ctx;
  const at = inv.args.findIndex((a) => a.value !== undefined && /^-[a-zA-Z]*e$/.test(a.value) && !a.value.startsWith("--"));
  if (at >= 0) {
    const words = inv.args.slice(at + 1);
    if (words.length > 0) return ctx.command(words);
    return ctx.stdinCode("shell");
  }
  if (inv.program === "schedtool" && parsed.positionals.length > 0) ctx.find("sys.signal", "changes the scheduling of other processes");
}

/** `sops exec-env FILE 'CMD'`, `sops exec-file FILE 'CMD'`: CMD is a shell command. */
export function sopsExec(ctx: ToolContext): void {
  const command = ctx.parsed.positionals[1];
  if (command) ctx.shell(command);
}

/** `taskset -c LIST CMD…` / `taskset MASK CMD…`: the command starts after the CPU list or mask. */
export function taskset(ctx: ToolContext): void {
  const { parsed, inv } = ctx;
  if (parsed.has("-p", "--pid")) return;
  const first = parsed.positionals[0];
  if (!first) return;
  const start = inv.args.indexOf(first) + 1;
  const words = inv.args.slice(start);
  if (words.length > 0) ctx.command(words);
}

/** strace/ltrace: `-o |CMD` (or `!CMD`) pipes the trace into a shell command; `-E VAR=VALUE` sets the traced program's environment. */
export function tracer(ctx: ToolContext): void {
  for (const o of ctx.parsed.options) {
    if (!o.value) continue;
    const v = o.value.value;
    if ((o.name === "-o" || o.name === "--output") && v !== undefined && /^[|!]/.test(v)) ctx.shell(syntheticArg(v.slice(1), o.value));
    if (o.name === "-E" || o.name === "--env") {
      if (v === undefined) ctx.find("exec.surface", "sets an environment variable the detector cannot see");
      else {
        const eq = v.indexOf("=");
        if (eq > 0) ctx.env(v.slice(0, eq), syntheticArg(v.slice(eq + 1), o.value));
      }
    }
  }
}
