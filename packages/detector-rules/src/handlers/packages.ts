import type { ToolContext } from "../engine/context.js";
import { installsIntoProject } from "../engine/paths.js";
import { type Arg, syntheticArg } from "../engine/words.js";

/** The package directory a package-manager command works in (`--prefix`, `-C`, `--cwd`, `--dir`). */
function packageDir(ctx: ToolContext): string | undefined {
  const dir = ctx.parsed.value("--prefix", "-C", "--dir", "--cwd");
  if (dir) return ctx.resolve(dir);
  return ctx.scope.dir;
}

/** Lifecycle scripts npm runs around a script. */
function withLifecycle(name: string): string[] {
  return [`pre${name}`, name, `post${name}`];
}

/**
 * `npm run X`, `npm test`, `yarn X`, `pnpm X`, `bun run X`: a script the line defined or wrote
 * (`npm pkg set scripts.X=…`, a package.json written on the line) is judged by its text; any other
 * script is project code. `npm pkg set scripts.X=…` records the script.
 */
export function npmScripts(ctx: ToolContext): void {
  const { parsed, inv } = ctx;
  const dir = packageDir(ctx);
  const scripts = dir !== undefined ? ctx.scope.effects.packageScripts.get(dir) : undefined;
  const verbs = parsed.verbs;
  // `npm pkg set scripts.x=…`, `npm set-script x …`.
  if ((verbs[0] === "pkg" && verbs[1] === "set") || verbs[0] === "set-script") {
    if (dir === undefined) return;
    const table = ctx.scope.effects.packageScripts.get(dir) ?? new Map<string, string | undefined>();
    ctx.scope.effects.packageScripts.set(dir, table);
    if (verbs[0] === "set-script") {
      const [name, text] = parsed.positionals;
      if (name?.value !== undefined) table.set(name.value, text?.value);
      if (text) ctx.shell(text);
      return;
    }
    for (const p of parsed.positionals) {
      const v = p.value;
      if (v === undefined) {
        ctx.find("exec.dynamic-word", "sets package.json fields from a value that is not a literal");
        continue;
      }
      const m = /^scripts\.([^=]+)=(.*)$/s.exec(v);
      if (m) {
        table.set(m[1] as string, m[2]);
        ctx.shell(syntheticArg(m[2] as string, p));
      } else if (/^(bin|main|exports|config|publishConfig|workspaces)(\.|=|\[)/.test(v) === false && /^[\w.[\]-]+=/.test(v) === false) {
        ctx.find("exec.unknown-verb", `sets a package.json field the detector cannot read (\`${v}\`)`);
      }
    }
    return;
  }
  let name: string | undefined;
  const program = inv.program;
  const runVerbs = ["run", "run-script", "rum", "urn", "exec-script"];
  if (verbs.length === 0 && (program === "yarn" || program === "pnpm" || program === "bun")) name = parsed.positionals[0]?.value;
  else if (verbs[0] !== undefined && runVerbs.includes(verbs[0])) {
    const first = parsed.positionals[0];
    if (first && first.value === undefined) return ctx.find("exec.dynamic-word", "runs a package script whose name is not a literal");
    name = first?.value;
  } else if (verbs[0] !== undefined && ["test", "t", "tst", "start", "stop", "restart"].includes(verbs[0]))
    name = verbs[0] === "t" || verbs[0] === "tst" ? "test" : verbs[0];
  else if (
    verbs[0] !== undefined &&
    !["run", "test", "start"].includes(verbs[0]) &&
    (program === "yarn" || program === "pnpm" || program === "bun") &&
    parsed.level.is === "local.project-code"
  )
    name = verbs[0];
  if (name === undefined) return;
  if (
    verbs.length > 0 &&
    !Object.hasOwn(ctx.tool.verbs ?? {}, name) &&
    name === verbs[0] &&
    ctx.isTool(name) &&
    (program === "yarn" || program === "pnpm" || program === "bun")
  ) {
    // `pnpm playwright install`: with no such script, the package manager runs the installed tool.
    const at = inv.args.findIndex((a) => a.value === name);
    ctx.command(inv.args.slice(at));
  }
  if (/\.(m?[jt]sx?|c[jt]s|mts)$/.test(name) || name.includes("/")) {
    // `bun index.ts`, `bun run ./scripts/x.ts`: a file, run as project code.
    const file = parsed.positionals.find((p) => p.value === name) ?? syntheticArg(name);
    return ctx.runFile(file, "js");
  }
  if (scripts) {
    for (const n of withLifecycle(name)) {
      if (!scripts.has(n)) continue;
      const text = scripts.get(n);
      if (text === undefined) ctx.find("exec.dynamic-code", `runs the script ${n}, set on the line to something the detector cannot see`);
      else ctx.shell(syntheticArg(text));
    }
  }
}

/** `make [-C DIR] [-f FILE] [VAR=VALUE…] [TARGET…]`: install targets, variables that name programs. */
export function make(ctx: ToolContext): void {
  const { parsed } = ctx;
  const intoProject = installsIntoProject(parsed.positionals, (a) => ctx.classify(a));
  const PROGRAM_VARIABLES =
    /^(SHELL|MAKESHELL|\.SHELLFLAGS|CC|CXX|CPP|LD|AR|AS|FC|RANLIB|STRIP|PYTHON|PERL|RUBY|NODE|INSTALL|INSTALL_PROGRAM|MAKE|RM|CP|MV|LN|MKDIR|SED|AWK|GO|CARGO|DOCKER|NPM|YARN|PIP|[A-Z_]*_?(CMD|COMMAND|PROGRAM|TOOL|RUNNER))$/;
  for (const p of parsed.positionals) {
    const v = p.value;
    if (v === undefined) {
      ctx.find("exec.dynamic-word", "passes make a target or variable that is not a literal");
      continue;
    }
    const eq = v.indexOf("=");
    if (eq > 0 && /^[A-Za-z_.][\w.]*[:+?]?$/.test(v.slice(0, eq))) {
      const name = v.slice(0, eq).replace(/[:+?]$/, "");
      const value = v.slice(eq + 1);
      if (PROGRAM_VARIABLES.test(name) && value !== "") ctx.commandText(syntheticArg(value, p));
      if (/^(DESTDIR|PREFIX|prefix|BINDIR|bindir|LIBDIR|INSTALL_DIR)$/.test(name) && value !== "")
        ctx.path(syntheticArg(value, p), "write");
      continue;
    }
    if (/^(un)?install([-_].*)?$/.test(v) && !intoProject && !parsed.has("-n", "--dry-run", "--just-print", "--recon"))
      ctx.find("build.install-target", `runs the ${v} target, which writes outside the project`);
  }
  for (const o of parsed.options) {
    if ((o.name !== "--eval" && o.name !== "-E") || !o.value) continue;
    const text = o.value.value;
    if (text === undefined) {
      ctx.find("exec.surface", "evaluates makefile text built at run time");
      continue;
    }
    // The recipes and $(shell …) calls of the makefile text are shell code.
    for (const m of text.matchAll(/\$\(file\s*>>?\s*([^,)]*)/g)) ctx.path(syntheticArg((m[1] as string).trim(), o.value), "write");
    for (const line of text.split("\n")) {
      const recipes: string[] = [];
      if (line.startsWith("\t")) recipes.push(line.slice(1));
      const rule = /^[^=\t]*?:[^=;]*;(.*)$/.exec(line);
      if (rule) recipes.push(rule[1] as string);
      for (const m of line.matchAll(/\$\(shell ([^)]*)\)/g)) recipes.push(m[1] as string);
      for (const r of recipes)
        ctx.shell(
          syntheticArg(
            r
              .trim()
              .replace(/^[@+-]+/, "")
              .replace(/\$\$/g, "$")
              .replace(/\$\([^)]*\)|\$[@<*^?%]/g, "x"),
            o.value,
          ),
        );
    }
  }
}

/** pacman's operations are options: -S installs (-Ss, -Si, -Sl, -Sp only read), -R removes, -U installs, -Q and -F read (-Fy updates). */
export function pacman(ctx: ToolContext): void {
  const letters = ctx.inv.args
    .map((a) => a.value ?? "")
    .filter((v) => /^-[A-Za-z]+$/.test(v))
    .join("")
    .replace(/-/g, "");
  const long = ctx.inv.args.map((a) => a.value ?? "");
  const op = long.includes("--sync")
    ? "S"
    : long.includes("--remove")
      ? "R"
      : long.includes("--upgrade")
        ? "U"
        : long.includes("--query")
          ? "Q"
          : long.includes("--files")
            ? "F"
            : long.includes("--database")
              ? "D"
              : long.includes("--deptest")
                ? "T"
                : (/[SRUQFDT]/.exec(letters)?.[0] ?? "");
  const readOnly =
    op === "Q" ||
    op === "T" ||
    (op === "S" && /[silpg]/.test(letters.replace("S", "")) && !/[yu]/.test(letters)) ||
    (op === "F" && !letters.includes("y")) ||
    long.includes("--print") ||
    long.includes("--search") ||
    long.includes("--info") ||
    long.includes("--list");
  if (op === "") return ctx.find("exec.unknown-verb", "runs pacman without an operation the detector knows");
  ctx.find(readOnly ? "local.pkg-read" : "pkg.install", readOnly ? undefined : `installs, removes or updates packages (pacman -${op})`);
}

/** `cmake -E TOOL ARGS`: the portable file commands, judged like rm/cp/mkdir; `-P SCRIPT` and `--build` run project code; `--install` writes outside. */
export function cmake(ctx: ToolContext): void {
  const args = ctx.inv.args;
  const e = args.findIndex((a) => a.value === "-E");
  if (e >= 0) {
    const tool = args[e + 1]?.value;
    const rest = args.slice(e + 2);
    if (tool === undefined) return ctx.find("exec.dynamic-word", "runs a cmake -E command whose name is not a literal");
    if (/^(rm|remove|remove_directory)$/.test(tool)) {
      const recursive = tool === "remove_directory" || rest.some((r) => /^-[a-zA-Z]*[rR]/.test(r.value ?? ""));
      for (const r of rest) if (!(r.value ?? "").startsWith("-")) ctx.path(r, "delete", { recursive });
      return;
    }
    if (/^(copy|copy_directory|copy_directory_if_different|copy_if_different|rename|create_symlink|create_hardlink)$/.test(tool)) {
      const last = rest[rest.length - 1];
      if (last) ctx.path(last, "write");
      if (tool === "rename" && rest[0]) ctx.path(rest[0], "delete");
      return;
    }
    if (/^(make_directory|touch|touch_nocreate|tar|chdir|env|time)$/.test(tool)) {
      if (tool === "make_directory" || tool === "touch" || tool === "touch_nocreate") for (const r of rest) ctx.path(r, "write");
      if (tool === "chdir" && rest[0]) return ctx.command(rest.slice(1), { dir: rest[0] });
      if (tool === "time") return ctx.command(rest);
      if (tool === "env") {
        const start = rest.findIndex((r) => !(r.value ?? "").includes("=") && !(r.value ?? "").startsWith("-"));
        if (start >= 0) ctx.command(rest.slice(start));
      }
      return;
    }
    if (
      /^(echo|echo_append|cat|capabilities|compare_files|md5sum|sha1sum|sha224sum|sha256sum|sha384sum|sha512sum|environment|true|false|sleep)$/.test(
        tool,
      )
    )
      return;
    return ctx.find("exec.unknown-verb", `runs cmake -E ${tool}`);
  }
  if (
    args.some((a) => a.value === "--install") ||
    (args.some((a) => a.value === "--build") &&
      args.some((a, i) => a.value === "install" && /^(--target|-t)$/.test(args[i - 1]?.value ?? "")))
  )
    ctx.find("build.install-target", "installs build results outside the project");
  const script = args.findIndex((a) => a.value === "-P");
  if (script >= 0 && args[script + 1]) ctx.runFile(args[script + 1] as Arg, "unknown");
  cmakeCache(ctx);
}

/** Cache variables that name programs cmake's builds run (compilers, launchers, linters, emulators). */
const CMAKE_PROGRAMS =
  /^CMAKE_(\w+_)?(COMPILER|COMPILER_LAUNCHER|LINKER|LINKER_LAUNCHER|LINKER_TYPE|MAKE_PROGRAM|AR|RANLIB|NM|OBJCOPY|OBJDUMP|STRIP|ADDR2LINE|READELF|CLANG_TIDY|CPPCHECK|CPPLINT|INCLUDE_WHAT_YOU_USE|LINK_WHAT_YOU_USE|CROSSCOMPILING_EMULATOR|RULE_LAUNCH_\w+)$/;
/** Cache variables that name cmake code it includes. */
const CMAKE_SCRIPTS =
  /^CMAKE_(TOOLCHAIN_FILE|PROJECT_INCLUDE|PROJECT_INCLUDE_BEFORE|PROJECT_\w+_INCLUDE(_BEFORE)?|PROJECT_TOP_LEVEL_INCLUDES|USER_MAKE_RULES_OVERRIDE(_\w+)?)$/;

/** `cmake -D NAME[:TYPE]=VALUE`: programs and included scripts named there are judged. */
function cmakeCache(ctx: ToolContext): void {
  for (const o of ctx.parsed.options) {
    if (o.name !== "-D" || !o.value) continue;
    const v = o.value.value;
    if (v === undefined) {
      if (/^CMAKE_/.test(o.value.prefix) || o.value.prefix === "")
        ctx.find("exec.dynamic-word", "sets a cmake cache variable that is not a literal");
      continue;
    }
    const m = /^([\w.-]+)(?::\w+)?=(.*)$/s.exec(v);
    if (!m || m[2] === "") continue;
    const name = m[1] as string;
    // A cmake list (`clang-tidy;-checks=*`) is the program and its arguments.
    const words = (m[2] as string).split(";").filter((w) => w !== "");
    if (CMAKE_PROGRAMS.test(name)) ctx.command(words.map((w) => syntheticArg(w, o.value)));
    else if (CMAKE_SCRIPTS.test(name)) for (const f of (m[2] as string).split(";")) if (f) ctx.runFile(syntheticArg(f, o.value), "unknown");
  }
}

/** `corepack pnpm …`, `corepack yarn …`: runs that package manager; other verbs manage package managers. */
export function corepack(ctx: ToolContext): void {
  const manager = ctx.parsed.verbs[0];
  if (manager === undefined || !/^(npm|npx|pnpm|pnpx|yarn|yarnpkg)$/.test(manager)) return;
  const start = ctx.inv.args.findIndex((a) => a.value === manager);
  ctx.command(ctx.inv.args.slice(start));
}

/** `npm init` (writes package.json) vs `npm init INITIALIZER` / `npm create X` (downloads and runs create-X). */
export function npmInit(ctx: ToolContext): void {
  const initializer = ctx.parsed.positionals[0];
  if (initializer || ctx.parsed.verbs[0] === "create")
    ctx.find("download.launcher", "downloads and runs a project initializer (npm init <initializer>)");
}

/** `yarn node ARGS`: node with yarn's environment. */
export function yarnNode(ctx: ToolContext): void {
  const start = ctx.parsed.positionals[0] ? ctx.inv.args.indexOf(ctx.parsed.positionals[0]) : ctx.inv.args.length;
  const verbAt = ctx.inv.args.findIndex((a) => a.value === "node");
  ctx.command([syntheticArg("node"), ...ctx.inv.args.slice(verbAt >= 0 ? verbAt + 1 : start)]);
}

/** `yarn workspaces foreach … CMD`, `yarn workspace NAME CMD`, `pnpm recursive CMD`: CMD is a command of the same tool. */
export function nestedCommand(ctx: ToolContext): void {
  const { parsed, inv } = ctx;
  const skip = inv.program === "yarn" && parsed.verbs[0] === "workspace" ? 1 : 0;
  const first = parsed.positionals[skip];
  if (!first) return;
  const start = inv.args.indexOf(first);
  ctx.command([syntheticArg(inv.program), ...inv.args.slice(start)]);
}

/** `uv run CMD…` / `uv run script.py`: a Python file is run by python; anything else is a command. */
export function uvRun(ctx: ToolContext): void {
  const first = ctx.parsed.positionals[0];
  if (!first) return;
  const start = ctx.inv.args.indexOf(first);
  const words = start >= 0 ? ctx.inv.args.slice(start) : ctx.parsed.positionals;
  if (first.value !== undefined && /\.pyw?$/.test(first.value)) return ctx.command([syntheticArg("python", first), ...words]);
  ctx.command(words);
}

/** `go run PKG@VERSION` downloads and runs; `go run ./cmd/x` and `go run main.go` are project code. */
export function goRun(ctx: ToolContext): void {
  const target = ctx.parsed.positionals[0];
  if (target?.value !== undefined && /@/.test(target.value) && !target.value.startsWith("."))
    ctx.find("download.launcher", `downloads and runs ${target.value}`);
  else if (target && target.value === undefined) ctx.find("exec.dynamic-word", "runs a Go package named by a value that is not a literal");
}

/** Build tools whose install targets write outside the project (`ninja install`, `meson install`). */
export function buildInstallTargets(ctx: ToolContext): void {
  for (const p of ctx.parsed.positionals)
    if (/^(install|uninstall)([-_:].*)?$/.test(p.value ?? ""))
      ctx.find("build.install-target", `runs the ${p.value} target, which writes outside the project`);
}

/**
 * Build tools that take several goals or tasks (`mvn clean install`, `gradle build publish`): every
 * one is judged, not only the first.
 */
export function buildGoals(ctx: ToolContext): void {
  if (ctx.tool.names.includes("mvn")) mavenProperties(ctx);
  // `sbt` alone starts its interactive shell, which reads commands (`console`, `eval`) from standard input.
  if (
    ctx.inv.program === "sbt" &&
    ctx.parsed.verbs.length === 0 &&
    ctx.parsed.positionals.length === 0 &&
    !ctx.parsed.has("--version", "-V", "--help", "-h", "about")
  )
    ctx.stdinCode("unknown");
  const table = ctx.tool.verbs ?? {};
  const first = ctx.parsed.verbs[0];
  const goals =
    first !== undefined && !Object.hasOwn(table, first) ? [syntheticArg(first), ...ctx.parsed.positionals] : ctx.parsed.positionals;
  for (const p of goals) {
    const v = p.value;
    if (v === undefined) {
      ctx.find("exec.dynamic-word", "runs a build goal that is not a literal");
      continue;
    }
    if (v.startsWith("-")) continue;
    const entry = Object.hasOwn(table, v) ? table[v] : undefined;
    const outcome = typeof entry === "string" ? entry : entry?.is;
    if (outcome && outcome !== "local.project-code" && !outcome.startsWith("local.")) ctx.find(outcome, `runs the ${v} goal`);
    else if (!entry && /^(publish|upload|deploy|release)/i.test(v.replace(/^.*:/, ""))) ctx.find("remote.change", `runs the ${v} task`);
    else if (!entry && /^(install|publishToMavenLocal)$/i.test(v.replace(/^.*:/, ""))) ctx.find("pkg.install", `runs the ${v} task`);
    // `sbt core/console`, `mill app.repl`: the built-in REPL tasks read code from standard input.
    if (/(^|[/.:])(console|consoleQuick|consoleProject|repl)$/.test(v) && !entry) ctx.stdinCode("unknown");
  }
}

/**
 * Maven `-D` properties that name what plugins run: `exec.executable` (with `exec.args`) is the
 * program `exec:exec` runs, `jvm` the JVM surefire forks, `argLine` its JVM options (agents load
 * code), `maven.ext.class.path` extensions loaded into Maven itself.
 */
function mavenProperties(ctx: ToolContext): void {
  const props = new Map<string, Arg>();
  for (const o of ctx.parsed.options) {
    if ((o.name !== "-D" && o.name !== "--define") || !o.value) continue;
    const v = o.value.value;
    if (v === undefined) {
      if (/^(exec\.|jvm|argLine|maven\.ext)/.test(o.value.prefix) || o.value.prefix === "")
        ctx.find("exec.dynamic-word", `sets a Maven property from \`${o.value.text}\`, which is not a literal`);
      continue;
    }
    const eq = v.indexOf("=");
    if (eq > 0) props.set(v.slice(0, eq), syntheticArg(v.slice(eq + 1), o.value));
  }
  const executable = props.get("exec.executable");
  if (executable) {
    const args = props.get("exec.args");
    if (executable.value === undefined || (args && args.value === undefined))
      ctx.find("exec.dynamic-code", "runs a program (exec.executable) the detector cannot see");
    else ctx.commandText(syntheticArg(`${executable.value} ${args?.value ?? ""}`.trim(), executable));
  }
  const jvm = props.get("jvm");
  if (jvm) ctx.commandText(jvm);
  const argLine = props.get("argLine")?.value ?? "";
  for (const m of argLine.matchAll(/-(?:javaagent|agentpath|agentlib):([^=\s]+)/g))
    if (ctx.classify(syntheticArg(m[1] as string)) !== "inside") ctx.find("exec.native", `loads a JVM agent (${m[1]}) into the tests`);
  const ext = props.get("maven.ext.class.path");
  if (ext)
    for (const p of (ext.value ?? "").split(/[:;]/))
      if (p && ctx.classify(syntheticArg(p)) !== "inside") ctx.find("exec.native", `loads a Maven extension from ${p}`);
}
