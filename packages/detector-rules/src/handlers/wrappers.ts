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

/** GNU `parallel CMD ::: ARGS` (CMD through the shell), or `parallel ::: CMD…` / input lines as commands. */
export function parallel(ctx: ToolContext): void {
  const args = ctx.inv.args;
  const sep = args.findIndex((a) => a.value === ":::" || a.value === "::::" || a.value === ":::+" || a.value === "::::+");
  const before = (sep < 0 ? args : args.slice(0, sep)).filter((a, i, all) => {
    const prev = all[i - 1]?.value;
    return (
      !(a.value?.startsWith("-") ?? false) &&
      !(
        prev !== undefined &&
        /^(-j|-P|-n|-N|-L|-S|--jobs|--max-args|--sshlogin|--joblog|--results|--tmpdir|-a|--arg-file|--colsep|-d|--delimiter|-I|--timeout|--delay|--retries|--tag-string)$/.test(
          prev,
        )
      )
    );
  });
  if (args.some((a) => /^(-S|--sshlogin|--sshloginfile|--slf)$/.test(a.value ?? "")))
    ctx.find("net.remote-session", "runs commands on other hosts");
  if (before.length > 0) {
    const text = before.map((a) => a.value?.replace(/\{[^}]*\}/g, "x")).join(" ");
    if (before.some((a) => a.value === undefined)) return ctx.shell(syntheticArg(undefined, before[0]));
    ctx.shell(syntheticArg(text, before[0]));
    if (sep < 0 || args[sep]?.value?.startsWith("::::")) ctx.find("local.read");
    return;
  }
  if (sep >= 0 && !args[sep]?.value?.startsWith("::::")) {
    for (const a of args.slice(sep + 1)) if (a.value !== ":::") ctx.shell(a);
    return;
  }
  ctx.stdinCode("shell");
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
