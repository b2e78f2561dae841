// REPLs and what starts one: programs that read their program from standard input when given no
// script (`irb`, `iex`, `ghci`, `jshell`, `scala`, `clj` …), `ghc -e` expressions, and the shells
// of Python app frameworks (`flask shell`, `django-admin dbshell`). Interpreters with a script or
// inline code are in interpreters.ts and python.ts.
import type { ToolContext } from "../engine/context.js";
import { type Arg, syntheticArg } from "../engine/words.js";
import type { CodeLanguage } from "../tools/spec.js";
import { FRAMEWORK_SHELLS, INFORMATIONAL } from "./interpreters.js";

/** The language a REPL reads, by program. */
const REPL_LANGUAGE: Record<string, CodeLanguage> = {
  irb: "ruby",
  pry: "ruby",
  bundle: "ruby",
  bundler: "ruby",
  rails: "ruby",
  deno: "js",
  node: "js",
  bun: "js",
};

/**
 * REPLs read their program from standard input (clause 8, like a bare `python3`): `irb`, `pry`,
 * `iex`, `ghci`, `jshell`, `erl`, `scala`, `clj`, and verbs that start one (`bundle console`,
 * `rails console`, `dotnet fsi`, `lein repl`, `sbt console`, `deno repl`, `cabal repl`). Inline code
 * options are analysed; a remote shell option is a remote session; a script given instead of a
 * session (`irb x.rb`, `dotnet fsi x.fsx`, `scala run x.scala`, `clj -M -m app`) is project code.
 */
export function repl(ctx: ToolContext): void {
  const { inv, parsed } = ctx;
  const program = inv.program;
  const language: CodeLanguage = REPL_LANGUAGE[program] ?? "unknown";
  const args = inv.args;
  const verb = parsed.verbs[parsed.verbs.length - 1];
  if (parsed.verbs.length === 0 && args.length > 0 && args.every((a) => INFORMATIONAL.test(a.value ?? "")))
    return ctx.find("local.read", "prints its version or help");
  if (args.some((a) => a.value === undefined && (a.prefix === "" || a.prefix.startsWith("-"))))
    return ctx.find("exec.dynamic-word", `passes a word that is not a literal to ${program}'s REPL`);
  const words = args.map((a) => a.value as string);
  const has = (...names: string[]) =>
    words.some((w) => names.includes(w) || names.some((n) => n.startsWith("--") && w.startsWith(`${n}=`)));
  const optionValue = (...names: string[]): Arg | undefined => {
    for (let i = 0; i < args.length; i++) {
      const w = words[i] as string;
      for (const n of names) {
        if (w === n) return args[i + 1];
        if (n.startsWith("--") && w.startsWith(`${n}=`)) return syntheticArg(w.slice(n.length + 1), args[i]);
      }
    }
    return undefined;
  };
  if (has("--remsh", "-remsh", "--connect") || (program === "lein" && words.includes(":connect")))
    ctx.find("net.remote-session", "opens a shell on another node");
  const code = optionValue("-e", "--eval", "-eval", "--expression", "--exec");
  if (verb === "runner" || verb === "r") {
    // `rails runner CODE|FILE`
    const target = parsed.positionals[0];
    if (!target) return;
    if (target.value !== undefined && (/\.rb$/.test(target.value) || target.value.includes("/"))) return ctx.runFile(target, "ruby");
    return ctx.code(target, "ruby");
  }
  if (code) ctx.code(code, language);
  // A script instead of a session.
  if (verb === "fsi") {
    const script = parsed.positionals.find((p) => /\.(fsx|fs)$/.test(p.value ?? ""));
    if (script && !words.some((w) => /^--use:/.test(w))) return ctx.runFile(script, "unknown");
    return ctx.stdinCode(language);
  }
  if (parsed.verbs.length === 0) {
    if (program === "irb") {
      const script = firstPositional(args, [
        "-r",
        "-I",
        "-E",
        "--encoding",
        "--context-mode",
        "--prompt",
        "--prompt-mode",
        "--back-trace-limit",
      ]);
      if (script) return ctx.runFile(script, "ruby");
    }
    if (program === "ghci" && code) return;
    if (program === "erl" && has("-noshell", "-noinput", "-detached")) return ctx.find("local.project-code");
    if (program === "scala" || program === "scala-cli") {
      const first = firstPositional(args, ["-cp", "-classpath", "--classpath", "-i", "-D", "-J", "--server", "-S", "--scala", "-O"]);
      if (code && !has("-i")) return;
      if (first && first.value !== "repl") {
        ctx.find("local.project-code");
        return ctx.projectCode();
      }
    }
    if (program === "clj" || program === "clojure") {
      if (!has("-r", "--repl")) {
        if (code) return;
        const runs = words.some(
          (w) => /^-(m|-main|X|T)/.test(w) || /^-M:/.test(w) || /^-A:/.test(w) || /\.(clj|cljc|cljs)$/.test(w) || w === "-",
        );
        if (runs) {
          ctx.find("local.project-code");
          return ctx.projectCode();
        }
      }
    }
  }
  ctx.stdinCode(language);
}

/** The first argument that is neither an option nor the value of one of `values`. */
function firstPositional(args: Arg[], values: readonly string[]): Arg | undefined {
  for (let i = 0; i < args.length; i++) {
    const v = args[i]?.value ?? "";
    if (values.includes(v)) {
      i++;
      continue;
    }
    if (v === "--") return args[i + 1];
    if (!v.startsWith("-")) return args[i];
  }
  return undefined;
}

/**
 * A Haskell expression that can only compute and print: no GHCi commands (`:!`), no qualified names
 * (any module is reachable that way), no imports, splices, pragmas or FFI, and none of the
 * Prelude's file and input functions.
 */
function pureHaskell(expr: string): boolean {
  if (/^\s*:/.test(expr)) return false;
  if (/\b[A-Z][\w']*(\.[A-Z][\w']*)*\.[a-z_(]/.test(expr)) return false;
  if (
    /\b(import|foreign|unsafe\w*|runIO|readFile|writeFile|appendFile|interact|getContents|getLine|getChar|readLn|readIO)\b|\$\(|\[\w*\||\{-#/.test(
      expr,
    )
  )
    return false;
  return true;
}

/**
 * ghc: `-e EXPR` evaluates Haskell, which the detector reads only when it is a pure expression
 * (otherwise it fails closed); `-pgmc CMD`, `-pgmF CMD` … name the programs ghc runs.
 */
export function ghc(ctx: ToolContext): void {
  const args = ctx.inv.args;
  const expressions = ctx.parsed.options.filter((o) => o.name === "-e");
  if (expressions.length > 0) {
    const plain = ctx.parsed.options.every((o) => o.name === "-e");
    for (const e of expressions) {
      if (!e.value) continue;
      if (e.value.value !== undefined && plain && pureHaskell(e.value.value)) continue;
      ctx.code(e.value, "unknown");
    }
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as Arg;
    const m = /^-pgm[a-zA-Z]+/.exec(a.value ?? a.prefix);
    if (!m) continue;
    if (a.value === undefined) {
      ctx.find("exec.dynamic-word", `names a program ghc runs with \`${a.text}\`, which is not a literal`);
      continue;
    }
    const rest = a.value.slice(m[0].length).replace(/^=/, "");
    const value = rest !== "" ? syntheticArg(rest, a) : args[++i];
    if (value) ctx.commandText(value);
  }
}

/** `flask shell`, `django-admin shell`, `celery shell`, `scrapy shell`, `jupyter console`: REPLs on standard input. */
export function frameworkShell(ctx: ToolContext): void {
  const first = ctx.parsed.positionals.find((p) => p.value === undefined || !/[:=/.]/.test(p.value));
  if (first?.value !== undefined && FRAMEWORK_SHELLS.test(first.value))
    ctx.stdinCode(ctx.inv.program === "django-admin" && first.value === "dbshell" ? "unknown" : "python");
}
