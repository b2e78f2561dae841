// Code and programs a command runs besides itself (analyzer.ts delegates here): shell text
// (`bash -c`), inline code of other languages (`python -c`), a command line given as one string,
// a program named by an option or a variable, a script file, and a program read from standard
// input. Each is judged where it comes from: literal code is analysed, code built at run time or
// downloaded goes to the sandbox, a file the line wrote is judged by its content.
import { analyseCode } from "../code/analyse.js";
import type { Analyzer } from "./analyzer.js";
import type { ScriptLanguage } from "./context.js";
import type { Stdin } from "./invocation.js";
import { classifyArg, classOf, isSystemBinDir, isUserToolDir, resolve } from "./paths.js";
import { tidy } from "./paths-util.js";
import { judgeOrigin } from "./provenance.js";
import type { Scope } from "./scope.js";
import { usesDownloader } from "./shell-syntax.js";
import { type Arg, splitCommandText, syntheticArg } from "./words.js";

/** Where a program named by a path is: the project's (or a file the line wrote), a system or user tool directory, or elsewhere. */
export function programLocation(engine: Analyzer, name: Arg, scope: Scope): "project" | "system" | "user" | "outside" {
  const raw = name.value as string;
  const dirPart = raw.slice(0, raw.lastIndexOf("/")) || "/";
  const dir = resolve(dirPart, scope.dir, scope);
  const abs = resolve(raw, scope.dir, scope);
  const cls = classOf(abs, engine.project);
  // A program under /tmp is outside code unless this line wrote it (then its content is judged).
  if (cls === "inside" || (cls === "tmp" && abs !== undefined && scope.effects.origin(abs) !== undefined)) return "project";
  if (dir !== undefined && isSystemBinDir(dir)) return "system";
  if (dir !== undefined && isUserToolDir(dir)) return "user";
  return "outside";
}

export function shellCode(engine: Analyzer, code: Arg, scope: Scope, at: string, params?: Arg[]): void {
  if (code.value === undefined || code.substitutions.length > 0) {
    if (code.substitutions.some(usesDownloader)) return engine.find("download.execute", at, "runs code it downloads");
    return engine.find("exec.dynamic-code", at, `runs shell code built at run time (\`${tidy(code.text)}\`)`);
  }
  const inner = scope.clone(1);
  if (params) {
    // `sh -c 'CODE' $0 $1 …`: the positional parameters are known when they are literals.
    params.slice(0, 10).forEach((p, i) => {
      inner.vars.set(String(i), p.splits ? undefined : p.value);
    });
    inner.vars.set("#", String(Math.max(0, params.length - 1)));
    inner.vars.set("@", undefined);
    inner.vars.set("*", undefined);
  }
  engine.text(code.value, inner, at);
}

export function inlineCode(engine: Analyzer, code: Arg, language: ScriptLanguage, scope: Scope, at: string): void {
  if (language === "shell") return shellCode(engine, code, scope, at);
  if (code.value === undefined || code.substitutions.length > 0) {
    if (code.substitutions.some(usesDownloader)) return engine.find("download.execute", at, "runs code it downloads");
    return engine.find("exec.dynamic-code", at, `runs ${language} code built at run time`);
  }
  engine.budget.step(1 + (code.value.length >> 6));
  const analysis = analyseCode(code.value, language);
  for (const f of analysis.findings) engine.find(f.id, at, `inline ${language} code that ${f.what}`);
  // Code files it writes (`fs.writeFileSync("package.json", …)`) hold its string literals from now on.
  for (const file of analysis.writesCode) {
    const abs = resolve(file, scope.dir, scope);
    if (abs !== undefined && !abs.startsWith("~")) engine.record(scope.effects, abs, { kind: "edited", inserted: analysis.strings });
  }
  for (const c of analysis.commands) {
    if ("shell" in c) engine.text(c.shell, scope.clone(1), at);
    else {
      const [name, ...rest] = c.argv;
      if (name !== undefined)
        engine.invoke(
          {
            name: syntheticArg(name),
            program: name,
            args: rest.map((a) => syntheticArg(a)),
            env: new Map(),
            stdin: { kind: "descriptor" },
            at,
          },
          scope.clone(1),
        );
    }
  }
}

/** A command line given as one string (more arguments are appended at run time). */
export function commandText(engine: Analyzer, text: Arg, scope: Scope, at: string): void {
  if (text.value === undefined) return shellCode(engine, text, scope, at);
  const words = splitCommandText(text.value);
  if (!words) return shellCode(engine, text, scope, at);
  const [name, ...rest] = words;
  if (!name) return;
  engine.invoke(
    {
      name: syntheticArg(name, text),
      program: name,
      args: rest.map((w) => syntheticArg(w, text)),
      env: new Map(),
      stdin: { kind: "descriptor" },
      at,
      appended: "unknown",
    },
    scope,
  );
}

/** A program run on a tool's data (`sort --compress-program=PROG`): no arguments, input from the tool. */
export function programValue(engine: Analyzer, value: Arg, scope: Scope, at: string): void {
  if (value.value === undefined)
    return engine.find("exec.dynamic-code", at, `runs a program named by \`${tidy(value.text)}\`, which is not a literal`);
  const words = splitCommandText(value.value);
  if (!words || words.length === 0) return shellCode(engine, value, scope, at);
  const [name, ...rest] = words;
  engine.invoke(
    {
      name: syntheticArg(name as string, value),
      program: name as string,
      args: rest.map((w) => syntheticArg(w, value)),
      env: new Map(),
      stdin: { kind: "pipe", producers: { download: false, decodes: false, programs: [], text: undefined, paths: "unknown" } },
      at,
    },
    scope,
  );
}

/**
 * A program a tool runs with arguments of its own (`SHELL`, `GIT_EXTERNAL_DIFF`, `gpg.program`):
 * judged by where it is; a value with arguments or shell syntax is a command line.
 */
export function executableValue(engine: Analyzer, value: Arg, scope: Scope, at: string): void {
  const v = value.value;
  if (v === undefined) return engine.find("exec.surface", at, `runs a program named by \`${tidy(value.text)}\`, which is not a literal`);
  const words = splitCommandText(v);
  if (words?.length !== 1) return commandText(engine, value, scope, at);
  const name = words[0] as string;
  if (!name.includes("/")) {
    if (!engine.knowsTool(name))
      engine.find("exec.unknown", at, `runs "${name}", which is neither a standard utility, a known developer tool nor a project path`);
    return;
  }
  const where = programLocation(engine, syntheticArg(name, value), scope);
  if (where === "system" || where === "user") return;
  if (where === "outside") return engine.find("exec.outside-program", at, `runs \`${tidy(name)}\`, a program from outside the project`);
  runPath(engine, syntheticArg(name, value), "shell", scope, at, true);
}

/** Running a file: project code, judged by where it came from when the line wrote it. */
export function runPath(engine: Analyzer, file: Arg, language: ScriptLanguage, scope: Scope, at: string, asProgram: boolean): void {
  if (file.processSubstitutions.length > 0) {
    if (file.processSubstitutions.some(usesDownloader)) return engine.find("download.execute", at, "runs code it downloads");
    return engine.find("exec.generated-code", at, "runs code generated on the fly (a process substitution)");
  }
  const value = file.value;
  if (value === undefined && file.globbed) {
    const cls = classifyArg(file, scope, engine.project);
    if (cls !== "inside") return engine.find("exec.outside-program", at, "runs files listed outside the project");
    engine.find("local.project-code", at);
    return engine.projectCodeRuns(scope, at);
  }
  if (value === undefined) {
    if (file.substitutions.some(usesDownloader)) return engine.find("download.execute", at, "runs code it downloads");
    return engine.find("exec.dynamic-code", at, `runs a script whose path is not a literal (\`${tidy(file.text)}\`)`);
  }
  if (value === "-" || value === "/dev/stdin" || value === "/dev/fd/0" || value === "/proc/self/fd/0")
    return engine.find("exec.piped-code", at, "runs code read from standard input");
  if (/^\/dev\/fd\/\d+$|^\/proc\/self\/fd\/\d+$/.test(value))
    return engine.find("exec.generated-code", at, "runs code from a file descriptor");
  if (/^(https?|ftp):\/\//.test(value)) return engine.find("download.execute", at, "runs a script from a URL");
  const abs = resolve(file.tilde && !value.startsWith("~") ? `~${value}` : value, scope.dir, scope);
  const cls = classifyArg(file, scope, engine.project);
  if (abs !== undefined && !abs.startsWith("~")) {
    const origin = scope.effects.origin(abs);
    if (origin) return judgeOrigin(engine, abs, origin, language, scope, at, true);
  }
  if (cls === "unknown") return engine.find("exec.dynamic-code", at, "runs a script whose path the detector cannot resolve");
  if (cls !== "inside") {
    if (!asProgram && (cls === "null" || cls === "device")) return engine.find("exec.generated-code", at, "runs code from a device");
    return engine.find(
      "exec.outside-program",
      at,
      `runs \`${tidy(value)}\`, a ${asProgram ? "program" : "script"} from outside the project`,
    );
  }
  engine.find("local.project-code", at);
  engine.projectCodeRuns(scope, at);
}

/** An interpreter reading its program from standard input. */
export function stdinCode(engine: Analyzer, stdin: Stdin, language: ScriptLanguage, scope: Scope, at: string): void {
  switch (stdin.kind) {
    case "terminal":
      // No program given: it is read from standard input, which the caller supplies.
      return engine.find("exec.piped-code", at, "starts an interpreter that reads its program from standard input");
    case "text":
      if (!stdin.literal) return engine.find("exec.dynamic-code", at, "feeds an interpreter code built at run time");
      if (language === "shell") return engine.text(stdin.text, scope.clone(1), at);
      return inlineCode(engine, syntheticArg(stdin.text), language, scope, at);
    case "pipe":
      if (stdin.producers.download) return engine.find("download.execute", at, "pipes downloaded code into an interpreter");
      return engine.find(
        "exec.piped-code",
        at,
        `pipes code into an interpreter (from ${stdin.producers.programs.slice(0, 3).join(", ") || "a pipe"})`,
      );
    case "file":
      return runPath(engine, stdin.arg, language, scope, at, false);
    case "generated":
      if (stdin.scripts.some(usesDownloader)) return engine.find("download.execute", at, "feeds an interpreter code it downloads");
      return engine.find("exec.generated-code", at, "feeds an interpreter code generated on the fly");
    case "descriptor":
      return engine.find("exec.piped-code", at, "feeds an interpreter code from a file descriptor");
  }
}
