import { analyseAwk } from "../code/awk.js";
import { analyseEd, analyseEx, type EditorEffects } from "../code/ex.js";
import { analyseSed } from "../code/sed.js";
import type { ToolContext } from "../engine/context.js";
import { type Arg, syntheticArg } from "../engine/words.js";

/** `sed [-n] [-i[SUF]] [-e SCRIPT]… [-f FILE] [SCRIPT] FILE…`: the script's `e` and `w` commands, and in-place edits. */
export function sed(ctx: ToolContext): void {
  const args = ctx.inv.args;
  const scripts: Arg[] = [];
  const files: Arg[] = [];
  let explicit = false;
  let inPlace = false;
  let sandboxed = false;
  let endOfOptions = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as Arg;
    const v = a.value;
    if (!endOfOptions && v === "--") {
      endOfOptions = true;
      continue;
    }
    if (!endOfOptions && v !== undefined && v.startsWith("-") && v !== "-") {
      if (v === "-e" || v === "--expression") {
        explicit = true;
        if (args[i + 1]) scripts.push(args[i + 1] as Arg);
        i++;
      } else if (v.startsWith("--expression=")) {
        explicit = true;
        scripts.push(syntheticArg(v.slice(13), a));
      } else if (v === "-f" || v === "--file") {
        explicit = true;
        if (args[i + 1]) ctx.runFile(args[i + 1] as Arg, "unknown");
        i++;
      } else if (v.startsWith("--in-place")) inPlace = true;
      else if (v === "--sandbox") sandboxed = true;
      else if (v === "-l" || v === "--line-length") i++;
      else if (!v.startsWith("--")) {
        // A cluster: `-ni`, `-i.bak`, `-ie 's/…/'` (`e` after `i` is a suffix, not -e), `-Ee`.
        const i_ = v.indexOf("i");
        if (i_ > 0) inPlace = true;
        const letters = i_ > 0 ? v.slice(1, i_) : v.slice(1);
        if (letters.endsWith("e") || (i_ < 0 && letters.includes("e"))) {
          explicit = true;
          if (args[i + 1]) scripts.push(args[i + 1] as Arg);
          i++;
        } else if (letters.endsWith("f")) {
          explicit = true;
          if (args[i + 1]) ctx.runFile(args[i + 1] as Arg, "unknown");
          i++;
        }
      }
      continue;
    }
    if (!explicit && scripts.length === 0) scripts.push(a);
    else files.push(a);
  }
  ctx.find("local.read");
  for (const script of scripts) {
    if (script.value === undefined) {
      ctx.find("exec.dynamic-code", "runs a sed script built at run time");
      continue;
    }
    const effects = analyseSed(script.value);
    if (effects.unknown) ctx.find("code.unanalysed", "has a sed script the detector cannot parse");
    if (sandboxed) continue;
    if (effects.runs) ctx.find("code.runs-programs", "runs commands from sed (the `e` command or the `s///e` flag)");
    for (const c of effects.commands) ctx.shell(syntheticArg(c, script));
    for (const w of effects.writes) if (w !== "/dev/stdout" && w !== "/dev/stderr") ctx.path(syntheticArg(w, script), "write");
  }
  if (inPlace) {
    const inserted = scripts.flatMap((s) => (s.value === undefined ? [] : analyseSed(s.value).inserted));
    for (const f of files) {
      ctx.path(f, "write");
      ctx.wrote(f, { kind: "edited", inserted });
    }
    ctx.appendedPaths("write");
  }
}

/** awk programs: `system()`, pipes and `print >` redirections; `-f FILE` runs a project file. */
export function awk(ctx: ToolContext): void {
  const { parsed } = ctx;
  ctx.find("local.read");
  if (parsed.has("-l", "--load")) ctx.find("exec.native", "loads an awk extension");
  const file = parsed.value("-f", "--file", "-E", "--exec");
  if (file) return ctx.runFile(file, "unknown");
  const program = parsed.positionals[0];
  if (!program) return;
  if (program.value === undefined) return ctx.find("exec.dynamic-code", "runs an awk program built at run time");
  const effects = analyseAwk(program.value);
  if (effects.runs) ctx.find("code.runs-programs", "runs commands from awk (a computed `system()` or pipe)");
  for (const c of effects.commands) ctx.shell(syntheticArg(c, program));
  for (const w of effects.writes) {
    if (w === undefined) ctx.find("code.changes-files", "writes to a file awk computes");
    else if (!/^\/dev\/(stdout|stderr|fd\/\d)/.test(w) && w !== "-") ctx.path(syntheticArg(w, program), "write");
  }
  // `-v var=value` and `var=value` operands only set variables.
}

/** `less`, `more`, `most`: `+CMD` runs pager commands first (`+!cmd` runs a shell); `-o FILE` writes a log. */
export function pager(ctx: ToolContext): void {
  ctx.find("local.read");
  for (const a of ctx.inv.args) {
    const v = a.value;
    if (v === undefined) {
      if (a.prefix === "" || a.prefix.startsWith("+") || a.prefix.startsWith("-"))
        ctx.find("exec.dynamic-word", `passes \`${a.text}\` to the pager, which is not a literal`);
      continue;
    }
    if (v.startsWith("+")) {
      const cmd = v.replace(/^\+\+?/, "");
      if (cmd === "" || /^(\d+[gGjpP%]?|[gGFfbBdDuUnNqQeE]|\/.*|\?.*|:n|:p|&.*|j\d*|%\d*|-[A-Za-z])$/.test(cmd)) continue;
      const bang = /^[!|]\s*(.*)$/s.exec(cmd);
      if (bang) {
        // `+!CMD`: a shell command, judged by what it runs (`!` alone starts an interactive shell).
        ctx.shell(syntheticArg(bang[1]?.trim() === "" ? "sh" : (bang[1] as string), a));
        continue;
      }
      ctx.find("exec.surface", `runs pager commands first (\`${v}\`), which can start a shell`);
    }
  }
}

/**
 * vim and friends: `-c CMD`, `+CMD`, `--cmd CMD` run ex commands (analysed: `!`, `:r !`, `:w !`,
 * expressions and scripting run programs; `:w FILE` writes); `-S FILE` and `-s FILE` load scripts
 * and keys; ex mode (`-e`, `-es`, `ex`) reads ex commands from standard input.
 */
export function vim(ctx: ToolContext): void {
  const args = ctx.inv.args;
  ctx.find("local.read");
  let exMode =
    ctx.inv.program === "ex" ||
    ctx.inv.program === "exim" ||
    args.some((a) => /^-[a-zA-Z]*[eE][a-zA-Z]*$/.test(a.value ?? "") && !(a.value ?? "").startsWith("--"));
  let restricted = /^r(vim|view|gvim)$/.test(ctx.inv.program);
  const commands: Arg[] = [];
  const files: Arg[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as Arg;
    const v = a.value;
    if (v === undefined) {
      ctx.find("exec.dynamic-word", `passes \`${a.text}\` to the editor, which is not a literal`);
      continue;
    }
    if (v === "--") {
      files.push(...args.slice(i + 1));
      break;
    }
    if (v.startsWith("+")) {
      if (v !== "+") commands.push(syntheticArg(v.slice(1), a));
      continue;
    }
    if (v === "-c" || v === "--cmd") {
      if (args[i + 1]) commands.push(args[i + 1] as Arg);
      i++;
      continue;
    }
    if (v === "-s" && exMode) continue; // silent mode in ex mode
    if (
      v === "-S" ||
      v === "-s" ||
      v === "-u" ||
      v === "-U" ||
      v === "-W" ||
      v === "-w" ||
      v === "-i" ||
      v === "--startuptime" ||
      v === "-T" ||
      v === "-t" ||
      v === "-q" ||
      v === "-r" ||
      v === "--servername" ||
      v === "--listen"
    ) {
      const value = args[i + 1];
      i++;
      if (!value) continue;
      if (v === "-S") ctx.runFile(value, "vim");
      else if (v === "-s") ctx.find("exec.surface", "replays editor keys from a file");
      else if ((v === "-u" || v === "-U") && value.value !== "NONE" && value.value !== "NORC" && value.value !== "DEFAULTS")
        ctx.runFile(value, "vim");
      else if (v === "-W" || v === "-w" || v === "-i" || v === "--startuptime") {
        if (value.value !== "NONE") ctx.path(value, "write");
      }
      continue;
    }
    if (/^--remote/.test(v)) {
      ctx.find("exec.surface", "sends commands to another editor instance");
      continue;
    }
    if (v.startsWith("-V") && v.length > 2) {
      const file = v.slice(2).replace(/^\d+/, "");
      if (file) ctx.path(syntheticArg(file, a), "write");
      continue;
    }
    if (v.startsWith("-") && v.length > 1 && !v.startsWith("--")) {
      // A cluster (`-sc CMD`, `-es`, `-Nu FILE`): flags, until a letter that takes a value (the rest, or the next word).
      for (let j = 1; j < v.length; j++) {
        const c = v[j] as string;
        if (c === "e" || c === "E") exMode = true;
        if (c === "Z") restricted = true;
        if (!/[cSuUsWwiTtqr]/.test(c) || (c === "s" && exMode)) continue;
        const rest = v.slice(j + 1);
        const value = rest !== "" ? syntheticArg(rest, a) : args[++i];
        if (!value) break;
        if (c === "c") commands.push(value);
        else if (c === "S" || ((c === "u" || c === "U") && !/^(NONE|NORC|DEFAULTS)$/.test(value.value ?? ""))) ctx.runFile(value, "vim");
        else if (c === "s") ctx.find("exec.surface", "replays editor keys from a file");
        else if ((c === "W" || c === "w" || c === "i") && value.value !== "NONE") ctx.path(value, "write");
        break;
      }
      continue;
    }
    if (v.startsWith("--")) continue;
    files.push(a);
  }
  const judge = (effects: EditorEffects, from: Arg) => {
    if (effects.runs && !restricted) ctx.find("code.runs-programs", "runs editor commands that can start programs");
    for (const w of effects.writes) ctx.path(syntheticArg(w, from), "write");
    if (effects.writes.length > 0 || effects.runs) for (const f of files) ctx.path(f, "write");
  };
  for (const c of commands) {
    if (c.value === undefined) ctx.find("exec.dynamic-code", "runs editor commands built at run time");
    else judge(analyseEx(c.value), c);
  }
  if (exMode) {
    const stdin = ctx.inv.stdin;
    if (stdin.kind === "text") {
      if (!stdin.literal) ctx.find("exec.dynamic-code", "feeds the editor commands built at run time");
      else for (const line of stdin.text.split("\n")) judge(analyseEx(line), syntheticArg(line));
    } else if (stdin.kind !== "terminal") ctx.stdinCode("vim");
  }
}

/** `ed FILE` / `ex`-style scripts on standard input: `!cmd`, `w FILE`, `r !cmd`. */
export function ed(ctx: ToolContext): void {
  ctx.find("local.read");
  const stdin = ctx.inv.stdin;
  const file = ctx.parsed.positionals[0];
  if (stdin.kind === "text") {
    if (!stdin.literal) return ctx.find("exec.dynamic-code", "feeds ed commands built at run time");
    const effects = analyseEd(stdin.text);
    if (effects.runs) ctx.find("code.runs-programs", "runs shell commands from ed (`!`)");
    for (const w of effects.writes) ctx.path(syntheticArg(w), "write");
    if (file) ctx.path(file, "write");
    return;
  }
  if (stdin.kind !== "terminal") ctx.stdinCode("unknown");
}

/** `dc`: `!` runs a shell command. */
export function dc(ctx: ToolContext): void {
  ctx.find("local.read");
  const programs = [
    ...ctx.parsed.options.filter((o) => (o.name === "-e" || o.name === "--expression") && o.value).map((o) => o.value as Arg),
  ];
  const stdin = ctx.inv.stdin;
  for (const p of programs) {
    if (p.value === undefined) ctx.find("exec.dynamic-code", "runs a dc program built at run time");
    else if (p.value.includes("!")) ctx.find("code.runs-programs", "runs a shell command from dc (`!`)");
  }
  if (stdin.kind === "text" && (!stdin.literal || stdin.text.includes("!")))
    ctx.find("code.runs-programs", "runs a shell command from dc (`!`)");
  if (stdin.kind === "pipe" && (stdin.producers.text === undefined || stdin.producers.text.includes("!")))
    ctx.find("exec.piped-code", "feeds dc a program it cannot see");
  for (const f of ctx.parsed.positionals) ctx.runFile(f, "unknown");
}

/** emacs `-f FUNCTION`: commands that start shells, compile, evaluate or install are not local. */
export function emacs(ctx: ToolContext): void {
  for (const o of ctx.parsed.options) {
    if (!/^-?-f(uncall)?$/.test(o.name) || !o.value) continue;
    const f = o.value.value;
    if (
      f === undefined ||
      /(shell|term|eshell|compile|eval|load|server|package|install|gud|gdb|grep|find-dired|dired-do|async|process|url-|eww|browse|ansi|vterm|make|mail|gnus)/.test(
        f,
      )
    )
      ctx.find("exec.surface", `runs the emacs command ${f ?? "(computed)"}, which can start programs`);
  }
}

/**
 * VS Code's CLI (`code`, `cursor`, `codium` …): `tunnel` and `serve-web` open the machine to remote
 * sessions, `--remote`/`vscode-remote://` open one, `chat` hands the machine to an agent.
 */
export function vscode(ctx: ToolContext): void {
  const ps = ctx.parsed.positionals;
  const first = ps[0]?.value;
  if (ps[0] && first === undefined) return ctx.find("exec.dynamic-word", "names a VS Code command that is not a literal");
  if (first === "tunnel" || first === "serve-web") {
    const sub = ps[1]?.value;
    if (first === "tunnel" && (sub === "status" || sub === "help" || (sub === "user" && ps[2]?.value === "show")))
      return ctx.find("local.read");
    if (first === "tunnel" && (sub === "kill" || sub === "restart")) return ctx.find("sys.signal", "stops or restarts the tunnel process");
    return ctx.find("net.remote-session", `opens the machine to remote sessions (${ctx.inv.program} ${first})`);
  }
  if (first === "chat" || first === "agent") return ctx.find("exec.surface", "hands the machine to a coding agent");
  if (ctx.inv.args.some((a) => /^vscode-remote:\/\//.test(a.value ?? "") || (a.value === undefined && /vscode-remote/.test(a.text))))
    return ctx.find("net.remote-session", "opens a remote workspace");
  ctx.find("local.read");
}

/**
 * dos2unix and friends convert their files in place; after `-n`/`--newfile` the names come in pairs
 * (INFILE OUTFILE) and only the second of each pair is written; `-o` returns to in-place mode;
 * `-i`/`--info` only reports.
 */
export function dos2unix(ctx: ToolContext): void {
  const args = ctx.inv.args;
  if (args.some((a) => /^(-i[a-zA-Z0-9]*|--info(=.*)?)$/.test(a.value ?? ""))) return ctx.find("local.read");
  let newFile = false;
  let pending: Arg | undefined;
  let end = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as Arg;
    const v = a.value;
    if (!end && v !== undefined && v.startsWith("-") && v !== "-") {
      if (v === "--") end = true;
      else if (v === "-n" || v === "--newfile") {
        newFile = true;
        pending = undefined;
      } else if (v === "-o" || v === "--oldfile") newFile = false;
      else if (v === "-c" || v === "--convmode" || v === "-D" || v === "--display-enc") i++;
      continue;
    }
    if (!newFile) {
      ctx.path(a, "write");
      continue;
    }
    if (pending === undefined) pending = a;
    else {
      ctx.path(a, "write");
      pending = undefined;
    }
  }
}

/** `uudecode` writes the file its input names (anywhere), unless `-o FILE` names it. */
export function uudecode(ctx: ToolContext): void {
  if (ctx.parsed.has("-o", "--output-file")) return;
  ctx.find("fs.write-outside", "writes the file named inside its input, which may be anywhere (use -o)");
}

const M4_RUNS = /\b(e?syscmd|debugfile|maketemp|mkstemp)\b/;

/**
 * m4: `syscmd`/`esyscmd` run shell commands. Definitions (`-D`) and macro text read from input must
 * be visible and free of them; input files are project code (judged like running them).
 */
export function m4(ctx: ToolContext): void {
  const { parsed, inv } = ctx;
  for (const o of parsed.options) {
    if (!/^(-D|--define)$/.test(o.name) || !o.value) continue;
    if (o.value.value === undefined) ctx.find("exec.dynamic-word", "defines an m4 macro with text that is not a literal");
    else if (M4_RUNS.test(o.value.value)) ctx.find("exec.surface", "defines an m4 macro that runs shell commands");
  }
  const files = parsed.positionals.filter((p) => p.value !== "-");
  for (const f of files) ctx.runFile(f, "unknown");
  if (files.length > 0 && !parsed.positionals.some((p) => p.value === "-")) return;
  const stdin = inv.stdin;
  const text = stdin.kind === "text" ? (stdin.literal ? stdin.text : undefined) : stdin.kind === "pipe" ? stdin.producers.text : undefined;
  if (stdin.kind === "file") return ctx.runFile(stdin.arg, "unknown");
  if (text === undefined) return ctx.stdinCode("unknown");
  if (M4_RUNS.test(text)) ctx.find("exec.surface", "expands m4 input that runs shell commands");
}
