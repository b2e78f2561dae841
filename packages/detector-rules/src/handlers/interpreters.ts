import type { ScriptLanguage, ToolContext } from "../engine/context.js";
import { isSystemPath } from "../engine/paths.js";
import { type Arg, syntheticArg } from "../engine/words.js";
import type { CodeLanguage } from "../tools/spec.js";

/**
 * Interpreters read their program from one place: inline code (`-c`, `-e`), a script file, a
 * module, or standard input. Each is judged: inline code by the language's analyser, a script as
 * project code (by its content when the line wrote it), standard input by where it comes from.
 * Options are read with each interpreter's own rules (clusters like `python -Im pip`).
 *
 * This file: what every interpreter shares (version-only runs, script files), the generic
 * interpreters read from a table of their options (node, ruby, perl, php …), and `deno run`.
 * Python's command line is in python.ts; REPLs, `ghc -e` and framework shells in repl.ts.
 */

/** Options that only print (a version, help) and exit without reading a program. */
export const INFORMATIONAL =
  /^(-V|-VV|--version|-v|-h|-\?|--help|--help-all|--help-env|--help-xoptions|--v8-options|-version|-help|--usage)$/;

/** An interpreter asked only for its version or help. */
export function onlyInformational(ctx: ToolContext, extra?: RegExp): boolean {
  const args = ctx.inv.args;
  if (args.length === 0) return false;
  if (!args.some((a) => INFORMATIONAL.test(a.value ?? "") || (extra?.test(a.value ?? "") ?? false))) return false;
  ctx.find("local.read");
  return true;
}

/**
 * A word of an interpreter's command line that is not a literal: it may be an option (`$OPT`),
 * which fails closed; one with a literal start that is not a dash names the script.
 */
export function nonLiteralWord(ctx: ToolContext, a: Arg, program: string, language: ScriptLanguage): void {
  if (!a.globbed && (a.prefix === "" || a.prefix.startsWith("-")))
    return ctx.find("exec.dynamic-word", `passes \`${a.text}\` to ${program}, which is not a literal`);
  return ctx.runFile(a, language);
}

/** Commands of Python app frameworks that start a REPL (Django, Flask, Celery, Scrapy, Jupyter). */
export const FRAMEWORK_SHELLS = /^(shell|dbshell|shell_plus|console|qtconsole|repl)$/;

/** A script file run by an interpreter; `setup.py install` is a package install. */
export function script(ctx: ToolContext, file: Arg | undefined, language: ScriptLanguage, rest: Arg[]): void {
  if (!file) return ctx.stdinCode(language);
  if (file.value === "-") return ctx.stdinCode(language);
  // `python manage.py shell`: Django's REPL reads code from standard input.
  if (
    language === "python" &&
    /(^|\/)manage\.py$/.test(file.value ?? "") &&
    FRAMEWORK_SHELLS.test(rest.find((r) => !(r.value ?? "-").startsWith("-"))?.value ?? "")
  )
    ctx.stdinCode("python");
  if (language === "python" && /(^|\/)setup\.py$/.test(file.value ?? "")) {
    const verbs = rest.map((r) => r.value);
    if (verbs.some((v) => v === "install" || v === "develop" || v === "easy_install"))
      return ctx.find("pkg.install", "installs a Python package (setup.py)");
    if (verbs.some((v) => v === "upload" || v === "register")) return ctx.find("remote.change", "publishes a package (setup.py)");
  }
  ctx.runFile(file, language);
}

interface InterpreterSpec {
  language: CodeLanguage;
  /** Options whose value is inline code. */
  code: readonly string[];
  /** Options that take a value (so it is not read as the script). */
  values: readonly string[];
  /** Options whose value is a file loaded as code before the program. */
  loads?: readonly string[];
  /** Options that edit the files named after the program in place (`-i`). */
  inPlace?: RegExp;
  /** Short options cluster and a value may be attached (`-MLWP::Simple`, `-e'code'`). */
  attached?: boolean;
  /** Options that read the program's source lines and run code per line (`ruby -n -e`, `php -R`). */
  lineCode?: readonly string[];
  /** `-S`: the script is looked up on PATH, so it is a command. */
  pathLookup?: string;
  /** Options whose value is a directory modules are loaded from (`ruby -I DIR`, `perl -I DIR`). */
  searchPaths?: readonly string[];
}

const SPECS: Record<string, InterpreterSpec> = {
  node: {
    language: "js",
    code: ["-e", "--eval", "-p", "--print"],
    values: [
      "--input-type",
      "--env-file",
      "--title",
      "--conditions",
      "-C",
      "--inspect-port",
      "--test-reporter",
      "--test-reporter-destination",
      "--test-name-pattern",
      "--watch-path",
      "--redirect-warnings",
      "--diagnostic-dir",
      "--heapsnapshot-signal",
      "--icu-data-dir",
      "--openssl-config",
      "--tls-cipher-list",
      "--disable-warning",
      "--experimental-config-file",
    ],
    loads: ["-r", "--require", "--import", "--loader", "--experimental-loader", "--env-file-if-exists"],
  },
  ruby: {
    language: "ruby",
    code: ["-e"],
    values: ["-I", "-C", "-E", "-F", "-x", "--encoding", "--external-encoding", "--internal-encoding", "--disable", "--enable", "--dump"],
    loads: ["-r"],
    inPlace: /^-[a-zA-Z]*i/,
    attached: true,
    pathLookup: "-S",
    searchPaths: ["-I"],
  },
  perl: {
    language: "perl",
    code: ["-e", "-E"],
    values: ["-I", "-x", "-C", "-F", "-0", "-l", "-D"],
    loads: ["-M", "-m"],
    inPlace: /^-[a-zA-Z]*i/,
    attached: true,
    pathLookup: "-S",
    searchPaths: ["-I"],
  },
  php: {
    language: "php",
    code: ["-r", "-B", "-R", "-E"],
    values: ["-d", "-c", "-S", "-t", "-z", "-F"],
    lineCode: ["-F"],
  },
  lua: { language: "lua", code: ["-e"], values: [], loads: ["-l"], attached: true },
  r: { language: "r", code: ["-e", "--expr"], values: ["--default-packages", "--encoding", "-f", "--file"] },
  julia: {
    language: "julia",
    code: ["-e", "--eval", "-E", "--print"],
    // `--project`, `--startup-file`, `--history-file`, `-O`/`--optimize` take a value only with `=` (or attached).
    values: ["-L", "--load", "-J", "--sysimage", "-p", "--procs", "-t", "--threads", "-C", "--cpu-target"],
    loads: ["-L", "--load"],
  },
  tcl: { language: "tcl", code: ["-c"], values: ["-encoding", "-f"] },
  unknown: {
    language: "unknown",
    code: ["-e", "-c", "--eval", "-Command", "-command", "-EncodedCommand", "-encodedcommand", "-ec", "--command"],
    values: ["-f", "-File", "-file"],
  },
};

const LANGUAGE_OF: Record<string, keyof typeof SPECS> = {
  node: "node",
  nodejs: "node",
  ruby: "ruby",
  jruby: "ruby",
  perl: "perl",
  php: "php",
  lua: "lua",
  luajit: "lua",
  R: "r",
  Rscript: "r",
  julia: "julia",
  tclsh: "tcl",
  tsx: "node",
  "ts-node": "node",
  "ts-node-esm": "node",
  esno: "node",
  esrun: "node",
  "vite-node": "node",
  jiti: "node",
  "babel-node": "node",
  "swc-node": "node",
  "sucrase-node": "node",
  truffleruby: "ruby",
  "php-cli": "php",
  php8: "php",
  php7: "php",
  texlua: "lua",
  wish: "tcl",
  expect: "tcl",
};

/** Interpreters other than python and the shells. */
export function interpreter(ctx: ToolContext): void {
  const program = ctx.inv.program.replace(/[-_]?\d+(\.\d+)*$/, "") || ctx.inv.program;
  const key = LANGUAGE_OF[ctx.inv.program] ?? LANGUAGE_OF[program] ?? "unknown";
  const spec = SPECS[key] as InterpreterSpec;
  const args = ctx.inv.args;
  if (ctx.inv.program === "R" && args[0]?.value === "CMD") {
    const sub = args[1]?.value ?? "";
    if (/^(INSTALL|REMOVE)$/.test(sub)) return ctx.find("pkg.install", `R CMD ${sub} installs or removes packages`);
    ctx.find("local.project-code");
    return ctx.projectCode();
  }
  if (
    !args.some((a) => !(a.value ?? "-").startsWith("-") || spec.code.includes(a.value ?? "")) &&
    onlyInformational(ctx, key === "php" ? /^-(m|i|l|ini)$/ : key === "node" ? /^(-c|--check)$/ : undefined)
  )
    return;
  if (key === "node" && args.some((a) => a.value === "--test" || a.value === "--run" || a.value?.startsWith("--run="))) {
    ctx.find("local.project-code");
    return ctx.projectCode();
  }
  if (key === "php" && args.some((a) => a.value === "-S")) {
    ctx.find("local.project-code", "runs PHP's built-in server on the project");
    return ctx.projectCode();
  }
  // An interactive session after the program (`node -i`, `php -a`, `perl -d`, `lua -i`, `julia -i`) reads code from input.
  if (interactiveAfter(key, args, spec)) ctx.stdinCode(spec.language);
  if (key === "node" && args.find((a) => !(a.value ?? "-").startsWith("-"))?.value === "inspect") return ctx.stdinCode("js");
  let sawCode = false;
  let rest: Arg[] = [];
  const modules: string[] = [];
  const codes: Arg[] = [];
  let inPlace = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as Arg;
    const v = a.value;
    if (v === undefined) return nonLiteralWord(ctx, a, ctx.inv.program, spec.language);
    if (v === "--") {
      if (!sawCode) return scriptOf(ctx, args[i + 1], spec);
      break;
    }
    if (v === "-") {
      if (!sawCode) return ctx.stdinCode(spec.language);
      break;
    }
    if (!v.startsWith("-") || v.length === 1) {
      if (sawCode) {
        rest = args.slice(i); // arguments of the inline program (the files `-i` edits)
        break;
      }
      if (spec.pathLookup && args.slice(0, i).some((x) => x.value === spec.pathLookup)) return ctx.command(args.slice(i));
      checkLoads(ctx, modules, codes, spec, inPlace, args.slice(i + 1));
      return scriptOf(ctx, a, spec, inPlace ? args.slice(i) : []);
    }
    if (spec.inPlace?.test(v) && !v.startsWith("--")) inPlace = true;
    const eq = v.indexOf("=");
    const name = v.startsWith("--") && eq > 0 ? v.slice(0, eq) : v;
    const inlineValue = v.startsWith("--") && eq > 0 ? v.slice(eq + 1) : undefined;
    const match = (list: readonly string[] | undefined): { value: Arg | undefined; consumed: boolean } | undefined => {
      if (!list) return undefined;
      if (list.includes(name)) {
        if (inlineValue !== undefined) return { value: syntheticArg(inlineValue, a), consumed: false };
        return { value: args[i + 1], consumed: true };
      }
      if (spec.attached) {
        const hit = list.find((o) => o.length === 2 && v.startsWith(o) && v.length > 2 && !v.startsWith("--"));
        if (hit) return { value: syntheticArg(v.slice(2), a), consumed: false };
        // A cluster ending in a code option (`perl -ne 'code'`, `ruby -pe …`).
        const last = `-${v[v.length - 1]}`;
        if (/^-[a-zA-Z]+$/.test(v) && list.includes(last)) return { value: args[i + 1], consumed: true };
      }
      return undefined;
    };
    const code = match(spec.code) ?? match(spec.lineCode);
    if (code) {
      sawCode = true;
      if (code.value) codes.push(code.value);
      if (code.consumed) i++;
      continue;
    }
    const loads = match(spec.loads);
    if (loads) {
      if (loads.value?.value !== undefined) modules.push(loads.value.value);
      else if (loads.value) ctx.find("exec.dynamic-word", `loads a module named by \`${loads.value.text}\`, which is not a literal`);
      if (loads.consumed) i++;
      continue;
    }
    const value = match(spec.values);
    if (value) {
      if (key === "php" && (name === "-d" || name === "-c")) phpIni(ctx, name, value.value);
      if (value.value && spec.searchPaths?.includes(v.slice(0, 2))) searchPath(ctx, value.value);
      if (key === "r" && (name === "-f" || name === "--file") && value.value) return ctx.runFile(value.value, "r");
      if (key === "unknown" && /^-(f|File|file)$/.test(name) && value.value) return ctx.runFile(value.value, spec.language);
      if (value.consumed) i++;
    }
  }
  if (sawCode) {
    checkLoads(
      ctx,
      modules,
      codes,
      spec,
      inPlace,
      rest.filter((r) => !(r.value ?? "").startsWith("-")),
    );
    for (const c of codes) ctx.code(withModules(c, modules, key), spec.language);
    ctx.find("local.project-code");
    return;
  }
  checkLoads(ctx, modules, codes, spec, inPlace, []);
  if (key === "r" && ctx.inv.program === "R" && args.some((a) => a.value === "CMD")) return;
  ctx.stdinCode(spec.language);
}

/** Letters that take the rest of a perl/ruby option cluster as their value. */
const CLUSTER_VALUES = new Set(["e", "E", "M", "m", "I", "x", "C", "F", "0", "l", "D", "i", "r"]);

/** Whether an interpreter's options (before the script) ask for an interactive session or debugger. */
function interactiveAfter(key: string, args: readonly Arg[], spec: InterpreterSpec): boolean {
  for (let i = 0; i < args.length; i++) {
    const v = args[i]?.value;
    if (v === undefined || v === "--" || v === "-" || !v.startsWith("-")) return false;
    if (key === "node" && (v === "-i" || v === "--interactive")) return true;
    if (key === "php" && v === "-a") return true;
    if ((key === "lua" || key === "julia") && (v === "-i" || v === "--interactive")) return true;
    if (key === "perl" && !v.startsWith("--")) {
      for (let j = 1; j < v.length; j++) {
        const c = v[j] as string;
        if (c === "d") {
          if (v[j + 1] !== ":") return true;
          break;
        }
        if (CLUSTER_VALUES.has(c)) break;
      }
    }
    const name = v.startsWith("--") && v.includes("=") ? v.slice(0, v.indexOf("=")) : v;
    if ((spec.values.includes(name) || spec.code.includes(name) || (spec.loads ?? []).includes(name)) && !v.includes("=")) i++;
  }
  return false;
}

/** `ruby -I DIR`, `perl -IDIR`: modules load from DIR, which must be the project's, a scratch or a system directory (like RUBYLIB). */
function searchPath(ctx: ToolContext, dir: Arg): void {
  const cls = ctx.classify(dir);
  if (cls === "inside" || cls === "tmp" || cls === "null") return;
  if (cls === "outside" && !dir.tilde && isSystemPath(ctx.resolve(dir))) return;
  ctx.find("exec.surface", `makes ${ctx.inv.program} load modules from \`${dir.text}\`, outside the project`);
}

/** `perl -MLWP::Simple -e …`: the modules are part of the program. */
function withModules(code: Arg, modules: string[], key: string): Arg {
  if (modules.length === 0 || code.value === undefined) return code;
  const prefix =
    key === "perl"
      ? modules.map((m) => `use ${m.replace(/=.*/, "")};`).join(" ")
      : key === "ruby"
        ? modules.map((m) => `require "${m}";`).join(" ")
        : modules.map((m) => `require("${m}");`).join(" ");
  return syntheticArg(`${prefix} ${code.value}`, code);
}

/** Files loaded before the program (`node -r ./x.js`, `ruby -r ./x`): paths are project code; module names are packages. */
function checkLoads(ctx: ToolContext, modules: string[], codes: Arg[], spec: InterpreterSpec, inPlace: boolean, files: Arg[]): void {
  for (const m of modules) {
    if (/^(https?|ftps?):\/\//i.test(m)) {
      ctx.find("download.execute", `loads a module from the network (\`${m}\`)`);
      continue;
    }
    if (/^data:/i.test(m)) {
      const comma = m.indexOf(",");
      const meta = m.slice(5, comma < 0 ? m.length : comma);
      if (comma < 0 || /;base64$/i.test(meta)) ctx.find("exec.dynamic-code", "loads a module from an encoded data: URL");
      else {
        let code: string | undefined;
        try {
          code = decodeURIComponent(m.slice(comma + 1));
        } catch {
          code = undefined;
        }
        ctx.code(syntheticArg(code), spec.language);
      }
      continue;
    }
    if (m.startsWith("/") || m.startsWith(".") || m.startsWith("~") || m.includes("/")) {
      if (m.startsWith("/") || m.startsWith("~") || m.startsWith("..") || m.startsWith("."))
        ctx.runFile(syntheticArg(m.replace(/^file:\/\//, "")), spec.language);
    } else if (spec.language === "perl" || spec.language === "ruby") {
      // A module by name: its code is visible to the analyser through `use`/`require` (network modules are caught there).
    }
  }
  if (inPlace)
    for (const f of files) {
      ctx.path(f, "write");
      // The program's own text stands for what it puts into the file (`perl -pi -e 's/a/b/'`).
      ctx.wrote(f, { kind: "edited", inserted: codes.map((c) => c.value ?? "$(unknown)") });
    }
}

function scriptOf(ctx: ToolContext, file: Arg | undefined, spec: InterpreterSpec, edited: Arg[] = []): void {
  if (!file) return ctx.stdinCode(spec.language);
  // `php artisan tinker`, `rails`-style project consoles: a REPL on standard input.
  if (spec.language === "php" && /(^|\/)artisan$/.test(file.value ?? "")) {
    const args = ctx.inv.args;
    const next = args.slice(args.indexOf(file) + 1).find((a) => !(a.value ?? "-").startsWith("-"));
    if (/^(tinker|shell)$/.test(next?.value ?? "")) ctx.stdinCode("php");
  }
  for (const f of edited) ctx.path(f, "write");
  ctx.runFile(file, spec.language);
}

/** `php -d auto_prepend_file=…` and `-c php.ini` load code. */
function phpIni(ctx: ToolContext, name: string, value: Arg | undefined): void {
  if (!value) return;
  if (name === "-c") return ctx.runFile(value, "php");
  const v = value.value;
  if (v === undefined) return ctx.find("exec.dynamic-word", "sets a PHP setting the detector cannot see");
  if (
    /^(auto_prepend_file|auto_append_file|extension|zend_extension|extension_dir|include_path|open_basedir|disable_functions|sendmail_path|mail\.log|error_log|session\.save_path)=/.test(
      v,
    )
  )
    ctx.find("exec.surface", `changes a PHP setting that loads code or writes files (\`${v.split("=")[0]}\`)`);
}

/** `deno run|eval`, `bun run|x` … : URLs and registry specifiers are downloads that run; files are project code. */
export function denoRun(ctx: ToolContext): void {
  const { parsed } = ctx;
  const verb = parsed.verbs[0];
  if (verb === "eval") {
    const code = parsed.positionals[0];
    if (code) ctx.code(code, "js");
    return;
  }
  const target = parsed.positionals[0];
  if (!target) return;
  if (target.value !== undefined && /^(https?:|jsr:|npm:|github:)/.test(target.value))
    return ctx.find("download.launcher", `runs ${target.value}, fetched from the network`);
  ctx.runFile(target, "js");
}
