// A known tool run with its arguments (analyzer.ts `invoke` calls runTool): the generic checks
// its table (src/tools) allows — the outcome of its verb, option effects (writes, deletes, code,
// commands, programs, git settings), positional paths, a working directory outside the project,
// project tools pointed outside the tree — then the handlers its levels name (src/handlers).
import { FINDINGS, type FindingId } from "../findings.js";
import { HANDLERS, type HandlerName } from "../handlers/index.js";
import type { Tool } from "../tools/spec.js";
import type { Analyzer } from "./analyzer.js";
import type { ScriptLanguage } from "./context.js";
import type { Invocation } from "./invocation.js";
import { InvocationContext } from "./invocation-context.js";
import { type Parsed, parseArgs } from "./parse-args.js";
import { classifyArg, classOf, isSystemPath, type Resolved, resolve } from "./paths.js";
import { tidy } from "./paths-util.js";
import { programValue } from "./programs.js";
import type { Scope } from "./scope.js";
import { type Arg, syntheticArg } from "./words.js";

/** Runs the generic checks and the tool's handlers. */
export function runTool(engine: Analyzer, tool: Tool, inv: Invocation, scope: Scope): void {
  const parsed = parseArgs(tool, inv.args);
  const at = inv.at;
  for (const p of parsed.problems) engine.find(p.id, at, p.what);
  if (
    parsed.problems.some(
      (p) =>
        p.id === "exec.unknown-verb" ||
        p.id === "exec.obfuscated" ||
        (p.id === "exec.dynamic-word" && p.what.startsWith("takes its subcommand")),
    )
  )
    return;
  if (
    parsed.has("--help") &&
    parsed.commandAt === undefined &&
    !CODE_HANDLERS.has(tool.handler ?? "") &&
    !parsed.levels.some((l) => l.command !== undefined || CODE_HANDLERS.has(l.handler ?? ""))
  ) {
    // `TOOL … --help` prints help and exits.
    return engine.find("local.read", at, "prints help");
  }
  const dirOption = parsed.options.find((o) => o.effect === "cwd" && o.value);
  const dir: Resolved = dirOption?.value
    ? dirOption.value.value !== undefined
      ? resolve(dirOption.value.value, scope.dir, scope)
      : undefined
    : scope.dir;
  const ctx = new InvocationContext(engine, tool, inv, parsed, scope, dirOption ? dir : scope.dir);
  outcome(engine, parsed.outcome, inv, parsed);
  for (const o of parsed.options) {
    const effect = o.effect;
    if (effect === undefined || effect === "value" || effect === "read" || effect === "cwd") continue;
    if (typeof effect === "object") {
      if ("flag" in effect && effect.flag !== "none" && FINDINGS[effect.flag].verdict === "sandbox")
        engine.find(effect.flag, at, `${FINDINGS[effect.flag].description} (\`${o.name}\`)`);
      continue;
    }
    const value = o.value;
    if (!value) continue;
    switch (effect) {
      case "write":
      case "delete":
        ctx.path(value, effect, { dir: ctx.dir });
        break;
      case "shell":
        ctx.shell(value);
        break;
      case "command":
        ctx.commandText(value);
        break;
      case "program":
        programValue(engine, value, scope, at);
        break;
      case "script":
        ctx.runFile(value, "shell");
        break;
      case "config:git": {
        const v = value.value;
        if (v === undefined) engine.find("exec.dynamic-word", at, `sets git configuration from \`${value.text}\`, which is not a literal`);
        else {
          const eq = v.indexOf("=");
          ctx.gitConfig(eq < 0 ? v : v.slice(0, eq), eq < 0 ? undefined : syntheticArg(v.slice(eq + 1), value));
        }
        break;
      }
      default:
        if (effect.startsWith("code:")) ctx.code(value, effect.slice(5) as ScriptLanguage);
        else engine.find(effect as FindingId, at, `${FINDINGS[effect as FindingId].description} (\`${o.name}\`)`);
    }
  }
  const positionalKind = parsed.level.positionals ?? (parsed.levels.length === 1 ? tool.positionals : undefined);
  if (positionalKind === "write" || positionalKind === "delete") {
    for (const p of parsed.positionals) ctx.path(p, positionalKind, { dir: ctx.dir });
    if (inv.appended) engine.judgeClass(inv.appended, positionalKind, false, false, at);
  } else if (positionalKind === "last-written") {
    const last = parsed.positionals[parsed.positionals.length - 1];
    if (last) ctx.path(last, "write", { dir: ctx.dir });
  }
  if (
    parsed.outcome === "local.project-code" &&
    parsed.commandAt === undefined &&
    !parsed.levels.some((l) => l.handler !== undefined && CODE_HANDLERS.has(l.handler))
  )
    outsideTree(engine, inv, parsed, positionalKind === undefined, scope, ctx.dir);
  if (dirOption && !READ_OUTCOMES.has(parsed.outcome)) {
    const cls = dir === undefined ? "unknown" : classOf(dir, engine.project);
    if (cls === "outside" || cls === "unknown")
      engine.find(
        tool.names.includes("git") ? "git.outside-repository" : "fs.write-outside",
        at,
        `works in ${dir ?? "a directory the detector cannot resolve"} (\`${dirOption.name}\`), outside the project`,
      );
  }
  if (parsed.commandAt !== undefined) {
    const words = inv.args.slice(parsed.commandAt);
    ctx.command(words);
  }
  // Each handler once: the tool's, then its verbs' (a verb may name the tool's handler again).
  const ran: HandlerName[] = [];
  for (const level of parsed.levels) {
    const h = level.handler;
    if (h === undefined || ran.includes(h)) continue;
    ran.push(h);
    HANDLERS[h](ctx);
  }
  if (parsed.outcome === "local.project-code") ctx.projectCode();
}

/**
 * `pytest ../other`, `black ~/x.py`, `eslint -c ~/evil.js`: a project tool loads the code and
 * configuration of the tree or file it is pointed at (conftest.py, eslint.config.js, build scripts,
 * plugins) or rewrites its files. Positionals outside the project count; option values count when
 * they are outside the system directories (`-I/usr/include` is not the user's code), or anywhere
 * when the option's name says it writes there (`--target-dir /opt/t`, `--outputFile=/etc/x`).
 */
export function outsideTree(engine: Analyzer, inv: Invocation, parsed: Parsed, positionals: boolean, scope: Scope, dir: Resolved): void {
  // Most invocations name no absolute, home or parent path at all.
  if (!inv.args.some((a) => a.tilde || OUTSIDE_LOOKING.test(a.text))) return;
  const looksLikePath = (a: Arg) => a.tilde || PATH_START.test(a.value ?? a.prefix);
  // `option`: an option's value (under /tmp it is scratch output); `systemIsFine`: a value the tool only reads.
  const candidates: { arg: Arg; option: boolean; systemIsFine: boolean }[] = [];
  if (positionals) for (const p of parsed.positionals) candidates.push({ arg: p, option: false, systemIsFine: false });
  for (const o of parsed.options) {
    if ((o.effect === "value" || o.effect === "read") && o.value)
      candidates.push({ arg: o.value, option: true, systemIsFine: !WRITES.test(o.name) });
    else if (o.effect === undefined && o.arg.value !== undefined && o.arg.value.includes("=")) {
      // An option the table does not list, with its value inline (`--plugin=~/p.js`).
      const eq = o.arg.value.indexOf("=");
      candidates.push({
        arg: syntheticArg(o.arg.value.slice(eq + 1), o.arg),
        option: true,
        systemIsFine: !WRITES.test(o.arg.value.slice(0, eq)),
      });
    }
  }
  for (const { arg: a, option, systemIsFine } of candidates) {
    if (!looksLikePath(a)) continue;
    const cls = classifyArg(a, scope, engine.project, dir);
    // What a project tool loads or runs from /tmp is outside code (`pytest /tmp/t`, `pytest -c /tmp/x.ini`);
    // values of options that say they write (`--cache-dir /tmp/x`) are scratch output.
    if (!(cls === "outside" || (cls === "tmp" && (!option || systemIsFine)))) continue;
    // A file this line wrote is judged by its content when the tool runs project code.
    const abs = a.value === undefined ? undefined : resolve(a.value, dir ?? scope.dir, scope);
    if (abs !== undefined && !abs.startsWith("~") && scope.effects.origin(abs) !== undefined) continue;
    if (systemIsFine && a.value !== undefined && !a.tilde && isSystemPath(resolve(a.value, dir ?? scope.dir, scope))) continue;
    return engine.find("exec.outside-tree", inv.at, `points ${inv.program} at \`${tidy(a.text)}\`, outside the project`);
  }
}

export function outcome(engine: Analyzer, id: FindingId, inv: Invocation, parsed: Parsed): void {
  if (id === "exec.unknown-verb" && parsed.problems.some((p) => p.id === "exec.unknown-verb")) return; // reported with its words
  const spec = FINDINGS[id];
  const what = spec.verdict === "sandbox" ? `${spec.description} (${[inv.program, ...parsed.verbs].join(" ")})` : spec.description;
  engine.find(id, inv.at, what);
}

/** A word that may hold a path outside the project: `/…`, `~…`, `..` (also after `=`). */
const OUTSIDE_LOOKING = /(^|=)["']?(\/|~|\.\.)/;
/** A path that starts outside the project; `//src:app` is a build label. */
const PATH_START = /^(\/(?!\/)|~|\.\.(\/|$))/;
/** Option names that say the value is written to (`--out-dir`, `--cache-location`). */
const WRITES = /out|dest|target|dist|build|cache|report|log|save|export|dump|artifact|site|install|prefix|dir$/i;

const READ_OUTCOMES = new Set<FindingId>(["local.read", "local.pkg-read"]);

/** Handlers of tools that run code whose own arguments may include `--help`. */
const CODE_HANDLERS = new Set([
  "shell",
  "python",
  "interpreter",
  "env",
  "xargs",
  "watch",
  "shell-positionals",
  "shell-joined",
  "entr",
  "nodemon",
  "parallel",
  "command-builtin",
  "busybox",
  "uv-run",
  "npm-scripts",
  "launcher",
  "corepack",
  "chdir-command",
  "yarn-node",
  "yarn-workspaces",
  "pnpm-recursive",
  "deno-run",
  "debugger",
  "git",
]);
