import type { ToolContext } from "../engine/context.js";
import { type Arg, syntheticArg } from "../engine/words.js";

/** `sysctl -a`, `sysctl KEY` read; `sysctl -w`, `KEY=VALUE`, `-p`, `--system` write kernel settings. */
export function sysctl(ctx: ToolContext): void {
  const { parsed } = ctx;
  if (parsed.has("-w", "--write", "-p", "--load", "--system") || parsed.positionals.some((p) => (p.value ?? "=").includes("=")))
    return ctx.find("sys.admin", "changes kernel settings");
  ctx.find("local.read");
}

/** `date` prints; `date -s`, `--set` or a bare MMDDhhmm argument set the clock. */
export function date(ctx: ToolContext): void {
  const { parsed } = ctx;
  if (
    parsed.has("-s", "--set") ||
    parsed.positionals.some((p) => p.value === undefined || (!p.value.startsWith("+") && /^\d{4,}/.test(p.value)))
  )
    return ctx.find("sys.admin", "sets the clock");
  ctx.find("local.read");
}

/** `hostname` prints; `hostname NAME`, `-F FILE`, `-b` set it. */
export function hostname(ctx: ToolContext): void {
  const { parsed } = ctx;
  if (parsed.positionals.length > 0 || parsed.has("-F", "--file", "-b", "--boot")) return ctx.find("sys.admin", "sets the hostname");
  ctx.find("local.read");
}

const IP_READ = new Set(["show", "list", "ls", "lst", "sh", "s", "get", "help", "monitor", "mon"]);
const IP_OBJECTS =
  /^(a|ad|add|addr|addre|addres|address|l|li|lin|link|r|ro|rou|rout|route|n|ne|nei|neig|neigh|neighbor|neighbour|ru|rul|rule|m|ma|maddr|maddress|tu|tun|tunnel|nets|netns|netc|netconf|mr|mro|mroute|nt|ntable|tunt|tuntap|x|xf|xfrm|tcpm|tcp_metrics|tok|token|l2|l2tp|fou|mac|macsec|vrf|sr|mp|mptcp|nexthop|nh|ioam|stats|monitor|help)$/;

/** `ip [OPTIONS] OBJECT [COMMAND]`: showing is local; anything that adds, deletes, flushes or sets is system administration. */
export function ip(ctx: ToolContext): void {
  const ps = ctx.parsed.positionals;
  const object = ps[0]?.value;
  if (object === undefined)
    return ps.length === 0 ? ctx.find("local.read") : ctx.find("exec.dynamic-word", "names an ip object that is not a literal");
  if (!IP_OBJECTS.test(object)) return ctx.find("exec.unknown-verb", `\`ip ${object}\` is not known to be local`);
  const command = ps[1]?.value;
  if (command === undefined && ps.length > 1) return ctx.find("exec.dynamic-word", "names an ip command that is not a literal");
  if (
    command === undefined ||
    IP_READ.has(command) ||
    (object.startsWith("netns") && command === "identify") ||
    command === "dev" ||
    command === "to" ||
    command === "table"
  ) {
    if ((object.startsWith("netns") || object === "nets") && command === "exec") return ctx.find("sys.admin");
    return ctx.find("local.read");
  }
  ctx.find("sys.admin", `changes network configuration (ip ${object} ${command})`);
}

/** `ifconfig`, `ifconfig IFACE` read; more arguments configure the interface. `route -n` reads; `route add|del` configures. */
export function ifconfig(ctx: ToolContext): void {
  const ps = ctx.parsed.positionals;
  if (ctx.inv.program === "route") {
    if (ps.some((p) => /^(add|del|delete|change|flush|replace)$/.test(p.value ?? "add")))
      return ctx.find("sys.admin", "changes the routing table");
    return ctx.find("local.read");
  }
  if (ps.length > 1 || ps.some((p) => p.value === undefined)) return ctx.find("sys.admin", "configures a network interface");
  ctx.find("local.read");
}

/** `mount` with no arguments (or `-l`) lists; anything else mounts. */
export function mount(ctx: ToolContext): void {
  if (ctx.parsed.positionals.length === 0 && !ctx.parsed.has("-a", "--all", "-o", "--bind", "--rbind", "--move", "-t"))
    return ctx.find("local.read");
  ctx.find("sys.admin", "mounts a file system");
}

/** `crontab -l` lists; `-e`, `-r`, `-i` or a file install or remove jobs. */
export function crontab(ctx: ToolContext): void {
  if (ctx.parsed.has("-l") && !ctx.parsed.has("-e", "-r") && ctx.parsed.positionals.length === 0) return ctx.find("local.read");
  ctx.find("sys.admin", "changes scheduled jobs");
}

/**
 * Package launchers: `npx`, `pnpm dlx`, `yarn dlx`, `bunx`, `pnpx` download and run a package
 * (clause 4), unless told to use only what is installed (`npx --no-install`, `--no`, `--offline`),
 * in which case the command is judged as itself.
 */
export function launcher(ctx: ToolContext): void {
  const { parsed, inv } = ctx;
  if (parsed.has("--help") && parsed.positionals.length === 0) return ctx.find("local.read", "prints help");
  const offline =
    (inv.program === "npx" || inv.program === "npm") &&
    parsed.has("--no-install", "--no", "--offline") &&
    !parsed.has("-p", "--package", "--yes", "-y");
  const call = parsed.value("-c", "--call");
  if (call) ctx.shell(call);
  if (!offline) return ctx.find("download.launcher", `downloads and runs a package (${inv.program})`);
  const start = parsed.commandAt ?? (parsed.positionals[0] ? inv.args.indexOf(parsed.positionals[0] as Arg) : -1);
  if (start >= 0) ctx.command(inv.args.slice(start));
}

/** `kill -l` (and `-L`) only list signal names; every other kill, `-0` included, is clause 2 (R26). */
export function kill(ctx: ToolContext): void {
  const { parsed } = ctx;
  if (parsed.has("-l", "-L", "--list", "--table") && parsed.positionals.every((p) => /^\d+$/.test(p.value ?? "x")))
    return ctx.find("local.read");
  ctx.find("sys.signal");
}

/**
 * capsh: `--print`, `--decode`, `--supports`, `--has-*` only report; changing user, groups or
 * capabilities is clause 3, and `--` / `==` run a shell with the rest of the arguments.
 */
export function capsh(ctx: ToolContext): void {
  const args = ctx.inv.args;
  const run = args.findIndex((a) => a.value === "--" || a.value === "==");
  const options = run < 0 ? args : args.slice(0, run);
  if (options.some((a) => a.value === undefined)) ctx.find("exec.dynamic-word", "passes capsh an option that is not a literal");
  const reportOnly = options.every((a) =>
    /^--(print|decode|supports|has-[\w-]+|explain|current|license|help|noenv)(=.*)?$/.test(a.value ?? ""),
  );
  if (!reportOnly || run >= 0) ctx.find("priv.escalate", "changes user, groups or capabilities (capsh)");
  else ctx.find("local.read");
  if (run >= 0) ctx.command([syntheticArg("bash", args[run]), ...args.slice(run + 1)]);
}

const DEBUGGER_SAFE =
  /^(r|run|start|starti|c|cont|continue|n|next|ni|nexti|s|step|si|stepi|finish|until|advance|bt|backtrace|where|up|down|f|frame|i|info|p|print|po|x|output|echo|printf|display|undisplay|l|list|b|break|tbreak|rbreak|watch|rwatch|awatch|delete|d|disable|enable|condition|ignore|commands|end|catch|handle|thread|threads|disassemble|disas|q|quit|kill|detach|set|show|call|expr|expression|frame variable|thread backtrace|breakpoint|br|target create|process launch|process continue|settings set|image list|image lookup|register read|memory read|v|var|gcore|generate-core-file|tui|layout|focus|refresh|help|apropos|ptype|whatis|sharedlibrary|core-file|file|symbol-file|directory|dir|cd|pwd|exec-file|jump|return|signal|queue-signal|checkpoint|restart|record|reverse-continue|rc|reverse-step|rs|reverse-next|rn|maint|info registers|info locals|info args|info frame|info threads|info sharedlibrary|info breakpoints)\b/;

/** gdb/lldb: debugger commands are judged (shells, python and scripts are not local); a numeric argument after the program attaches to a process. */
export function debugger_(ctx: ToolContext): void {
  const { parsed } = ctx;
  for (const o of parsed.options) {
    if (!o.value) continue;
    if (/^(-x|--command|-s|--source|-S|--source-before-file)$/.test(o.name)) {
      ctx.runFile(o.value, "unknown");
      continue;
    }
    if (!/^(-ex|--eval-command|-iex|--init-eval-command|-o|--one-line|-O|--one-line-before-file|-k|--one-line-on-crash)$/.test(o.name))
      continue;
    const cmd = o.value.value?.trim();
    if (cmd === undefined) ctx.find("exec.dynamic-code", "runs debugger commands built at run time");
    else if (
      /^(shell|!|python|py|pi|python-interactive|pipe|\||source|script|platform shell|command script|command source|make|guile|gu|compile|jit-reader-load)\b/.test(
        cmd,
      ) ||
      !DEBUGGER_SAFE.test(cmd)
    )
      ctx.find("exec.surface", `runs a debugger command that can start programs (\`${cmd.slice(0, 40)}\`)`);
    else if (/^(set|settings set)\s+(logging|trace-commands)\s+file\s+(\S+)/.test(cmd) || /\bdump\b/.test(cmd))
      ctx.find("exec.surface", "makes the debugger write files");
  }
  const [program, second] = parsed.positionals;
  if (second?.value !== undefined && /^\d+$/.test(second.value)) ctx.find("sys.signal", "attaches to another process");
  if (program && program.value !== "--") ctx.runFile(program, "unknown");
}

/** `yq -i`, `sed`-like tools: with `-i`/`--inplace` the files are rewritten. */
export function inPlace(ctx: ToolContext): void {
  if (!ctx.parsed.has("-i", "--inplace", "--in-place")) return;
  for (const p of ctx.parsed.positionals) ctx.path(p, "write");
}

/** `split --filter=CMD`: CMD is shell code run on each piece. */
export function splitFilter(ctx: ToolContext): void {
  for (const a of ctx.inv.args) {
    const v = a.value;
    if (v === undefined) continue;
    if (v.startsWith("--filter=")) ctx.shell(syntheticArg(v.slice(9), a));
  }
  const at = ctx.inv.args.findIndex((a) => a.value === "--filter");
  const next = at >= 0 ? ctx.inv.args[at + 1] : undefined;
  if (next) ctx.shell(next);
}

/** The bodies of `%(…)` (shell) and `%{lua:…}` (Lua) in an rpm macro string, with balanced brackets. */
function macroBodies(text: string, open: string, close: string, start: RegExp): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(start)) {
    let depth = 1;
    let i = (m.index as number) + m[0].length;
    const from = i;
    for (; i < text.length && depth > 0; i++) {
      if (text[i] === open) depth++;
      else if (text[i] === close) depth--;
    }
    out.push(text.slice(from, depth === 0 ? i - 1 : i));
  }
  return out;
}

/** An rpm macro expression: `%(…)` runs shell, `%{lua:…}` runs Lua; `%{expand:…}`, `%%`, `%{load:…}` and `%[…]` build code at run time. */
function rpmMacro(ctx: ToolContext, value: Arg): void {
  const v = value.value;
  if (v === undefined) return ctx.find("exec.dynamic-word", `expands an rpm macro from \`${value.text}\`, which is not a literal`);
  for (const body of macroBodies(v, "(", ")", /%\(/g)) ctx.shell(syntheticArg(body, value));
  for (const body of macroBodies(v, "{", "}", /%\{lua:/g)) ctx.code(syntheticArg(body, value), "lua");
  if (/%%|%\{?(expand|load|uncompress|dnl)\b|%\[/.test(v)) ctx.find("exec.surface", "expands an rpm macro that builds code at run time");
}

/**
 * rpm: `--eval`/`-E` expands macros, whose `%(…)` run shell and `%{lua:…}` Lua; `--define`/`-D`
 * defines them (helper programs are `__…` macros); `--macros`, `--load` and `--rcfile` read macro
 * files, which must be the project's or the system's.
 */
export function rpmMacros(ctx: ToolContext): void {
  for (const o of ctx.parsed.options) {
    if (!o.value) continue;
    if (o.name === "--eval" || o.name === "-E") rpmMacro(ctx, o.value);
    else if (o.name === "--define" || o.name === "-D") {
      const v = o.value.value;
      if (v === undefined) {
        ctx.find("exec.dynamic-word", `defines an rpm macro from \`${o.value.text}\`, which is not a literal`);
        continue;
      }
      const m = /^\s*(\S+)\s*(.*)$/s.exec(v);
      if (m && /^__/.test(m[1] as string)) ctx.find("exec.surface", `defines the rpm helper program ${m[1]}`);
      rpmMacro(ctx, syntheticArg(m?.[2] ?? v, o.value));
    } else if (o.name === "--macros" || o.name === "--load" || o.name === "--rcfile") {
      for (const file of (o.value.value ?? "").split(":")) {
        const arg = syntheticArg(file === "" && o.value.value === undefined ? undefined : file, o.value);
        const cls = ctx.classify(arg);
        if (cls !== "inside") ctx.find("exec.surface", `reads rpm macros, which can run shell code, from \`${file || o.value.text}\``);
      }
    }
  }
}
