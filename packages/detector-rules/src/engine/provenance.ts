import type { Analyzer } from "./analyzer.js";
import type { ScriptLanguage } from "./context.js";
import { judgeGitConfig } from "./git-config.js";
import { classOf, isCodeFile } from "./paths.js";
import { basename } from "./paths-util.js";
import type { FileOrigin, Scope } from "./scope.js";
import { syntheticArg } from "./words.js";

/** Judges a file the line wrote, by where its content came from. */
export function judgeOrigin(
  engine: Analyzer,
  abs: string,
  origin: FileOrigin,
  language: ScriptLanguage,
  scope: Scope,
  at: string,
  direct: boolean,
): void {
  switch (origin.kind) {
    case "download":
      return engine.find(
        "download.run",
        at,
        `runs ${direct ? "" : "project code after "}a file downloaded on the same line (${basename(abs)})`,
      );
    case "outside":
      return engine.find("exec.outside-program", at, `runs ${basename(abs)}, copied from outside the project on the same line`);
    case "project":
      return engine.find("local.project-code", at);
    case "edited": {
      if (engine.judgedFiles.has(abs)) return;
      engine.judgedFiles.add(abs);
      // Only the inserted text is new: it is judged when it looks like code (a pipeline, a
      // substitution or a command that can do harm); plain words and values are data.
      for (const text of origin.inserted) if (RISKY_TEXT.test(text)) engine.text(text, scope.clone(1), at);
      return engine.find("local.project-code", at);
    }
    case "unknown":
      return engine.find("exec.generated-code", at, `runs ${basename(abs)}, written on the same line with content the detector cannot see`);
    case "text": {
      if (engine.judgedFiles.has(abs)) return;
      engine.judgedFiles.add(abs);
      const lang = languageOfFile(abs, origin.text, language);
      if (lang === undefined) return;
      if (lang === "npm-scripts") return packageJson(engine, origin.text, scope, at);
      if (lang === "make") return makefile(engine, origin.text, scope, at);
      if (lang === "npmrc") return npmrc(engine, origin.text, scope, at);
      if (lang === "gitconfig") return gitConfigFile(engine, origin.text, scope, at);
      if (lang === "shell") return engine.text(origin.text, scope.clone(1), at);
      return engine.inlineCode(syntheticArg(origin.text), lang, scope, at);
    }
  }
}

/** A tool loads files of the line's making whose path matches (`git` reads `.git/config`): they are judged by where they came from. */
export function loadsWritten(engine: Analyzer, scope: Scope, at: string, pattern: RegExp): void {
  for (const [abs, origin] of scope.effects.files) if (pattern.test(abs)) judgeOrigin(engine, abs, origin, "shell", scope, at, false);
  for (const [link, target] of scope.effects.links) if (pattern.test(link)) linkedCode(engine, link, target, at);
}

/** A code file the line linked to somewhere: code from outside the project unless the target is inside. */
function linkedCode(engine: Analyzer, link: string, target: string | undefined, at: string): void {
  const cls = target === undefined ? "unknown" : classOf(target, engine.project);
  if (cls !== "inside")
    engine.find(
      "exec.outside-program",
      at,
      `runs ${basename(link)}, linked on the same line to ${target ?? "a path the detector cannot resolve"}`,
    );
}

/** A tool runs project code: every file the line wrote into the project is judged as code it may run. */
export function projectCodeRuns(engine: Analyzer, scope: Scope, at: string): void {
  const effects = scope.effects;
  for (const [link, target] of effects.links)
    if (classOf(link, engine.project) === "inside" && isCodeFile(link)) linkedCode(engine, link, target, at);
  if (effects.files.size > 0) {
    for (const [abs, origin] of effects.files) {
      if (classOf(abs, engine.project) !== "inside" && classOf(abs, engine.project) !== "tmp") continue;
      // Only what a build or test tool may load: code files, and downloaded trees.
      const extension = /\.[A-Za-z0-9]+$/.test(basename(abs));
      if (isCodeFile(abs) || effects.executables.has(abs) || (origin.kind === "download" && !extension))
        judgeOrigin(engine, abs, origin, "shell", scope, at, false);
    }
  }
  // Running code in a directory that was downloaded on the line.
  for (const dir of scope.dirs()) {
    if (dir === undefined) continue;
    const origin = effects.origin(dir);
    if (origin?.kind === "download") engine.find("download.run", at, "runs code in a directory downloaded on the same line");
  }
}

function packageJson(engine: Analyzer, text: string, scope: Scope, at: string): void {
  let scripts: Record<string, unknown> | undefined;
  try {
    const parsed = JSON.parse(text) as { scripts?: Record<string, unknown>; tasks?: Record<string, unknown> };
    scripts = { ...(parsed.scripts ?? {}), ...(parsed.tasks ?? {}) };
  } catch {
    return engine.find("exec.generated-code", at, "writes a package.json the detector cannot read, then runs project code");
  }
  for (const value of Object.values(scripts ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) if (typeof item === "string") engine.text(item, scope.clone(1), at);
  }
}

function makefile(engine: Analyzer, text: string, scope: Scope, at: string): void {
  const recipes: string[] = [];
  const rules: { targets: string[]; recipes: string[] }[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("\t")) {
      const recipe = line.slice(1).replace(/^[@+-]+/, "");
      recipes.push(recipe);
      rules[rules.length - 1]?.recipes.push(recipe);
    } else {
      const rule = /^([^\s:=#][^:=#]*?)\s*::?(?!=)/.exec(line);
      if (rule) rules.push({ targets: (rule[1] as string).split(/\s+/), recipes: [] });
    }
    const shellCall = line.indexOf("$(shell ");
    if (shellCall >= 0) recipes.push(line.slice(shellCall + 8, line.lastIndexOf(")")));
  }
  // A recipe that runs make on the same makefile for its own target (or the default one) recurses
  // without end: every level starts another make, a process tree that starves the host.
  const first = rules.find((r) => !(r.targets[0] ?? ".").startsWith("."));
  for (const rule of rules) {
    for (const recipe of rule.recipes) {
      for (const m of recipe.matchAll(/(?:\$[({]MAKE[)}]|(?:^|[;&|(]\s*)make)(?=\s|$|[;&|)])([^;&|)]*)/g)) {
        const words = (m[1] as string).trim().split(/\s+/).filter(Boolean);
        if (words.some((w) => /^(-C|-f|--directory|--file|--makefile)/.test(w) || /^-[a-zA-Z]*[Cf]/.test(w))) continue;
        const goals = words.filter((w) => !w.startsWith("-") && !w.includes("="));
        const recursive = goals.length === 0 ? rule === first : goals.some((g) => rule.targets.includes(g));
        if (recursive) engine.find("sys.fork-bomb", at, `a makefile recipe of ${rule.targets[0]} runs make on itself without end`);
      }
    }
  }
  for (const r of recipes) engine.text(makeRecipeText(r), scope.clone(1), at);
}

function npmrc(engine: Analyzer, text: string, scope: Scope, at: string): void {
  for (const line of text.split("\n")) {
    const m = /^\s*([\w.-]+)\s*=\s*(.*)$/.exec(line);
    if (m) engine.envVariable(`npm_config_${(m[1] as string).replace(/-/g, "_")}`, syntheticArg(m[2] as string), scope, at);
  }
}

export function gitConfigFile(engine: Analyzer, text: string, scope: Scope, at: string): void {
  let section = "";
  for (const line of text.split("\n")) {
    const header = /^\s*\[\s*([^\]\s"]+)(?:\s+"([^"]*)")?\s*\]/.exec(line);
    if (header) {
      section = header[2] !== undefined ? `${header[1]}.${header[2]}` : (header[1] as string);
      continue;
    }
    const kv = /^\s*([\w.-]+)\s*(?:=\s*(.*))?$/.exec(line);
    if (kv && section)
      judgeGitConfig(
        `${section}.${kv[1]}`,
        kv[2] !== undefined ? syntheticArg(kv[2].trim().replace(/^"|"$/g, "")) : undefined,
        engine.judgeContext(scope, at),
      );
  }
}

/** Text put into a project file that reads as a command worth judging (see the `edited` origin). */
const RISKY_TEXT =
  /[|;&`]|\$\(|\b(curl|wget|nc|ncat|socat|bash|sh|zsh|eval|exec|rm|dd|mkfs|chmod|chown|sudo|su|python3?|perl|ruby|node|base64|scp|ssh|rsync|kill|pkill)\b/;

/** The usual programs behind make's built-in variables, so `$(CC) -o app main.c` is judged as `cc …`. */
const MAKE_PROGRAMS: Record<string, string> = {
  MAKE: "make",
  CC: "cc",
  CXX: "c++",
  CPP: "cpp",
  LD: "ld",
  AR: "ar",
  AS: "as",
  RM: "rm -f",
  SHELL: "sh",
  PYTHON: "python3",
  PYTHON3: "python3",
  GO: "go",
  CARGO: "cargo",
  NPM: "npm",
  NODE: "node",
  INSTALL: "install",
  MKDIR: "mkdir",
  CP: "cp",
  MV: "mv",
  LN: "ln",
  SED: "sed",
  AWK: "awk",
  DOCKER: "docker",
};

/** A make recipe as shell text: `$$` is `$`, known variables are their usual programs, others a placeholder word. */
function makeRecipeText(recipe: string): string {
  return recipe
    .split("$$")
    .map((part) =>
      part.replace(/\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]/g, (_, name: string) => MAKE_PROGRAMS[name] ?? "x").replace(/\$[@<^*?]/g, "x"),
    )
    .join("$");
}

function languageOfFile(abs: string, text: string, fallback: ScriptLanguage): FileLanguage | undefined {
  const name = basename(abs);
  if (name === "package.json" || name === "composer.json" || name === "deno.json" || name === "deno.jsonc") return "npm-scripts";
  if (/^(GNUmakefile|makefile|Makefile)$|\.mk$/.test(name)) return "make";
  if (name === ".npmrc") return "npmrc";
  if (/\/\.git\/config$|\/\.gitconfig$/.test(abs)) return "gitconfig";
  const shebang = /^#!\s*(?:\/usr\/bin\/env\s+(?:-S\s+)?)?(\S+)/.exec(text);
  const interpreter = shebang ? basename(shebang[1] as string) : undefined;
  if (interpreter) {
    if (/^(ba|da|z|k|a|mk)?sh$/.test(interpreter)) return "shell";
    if (/^python/.test(interpreter)) return "python";
    if (/^(node|deno|bun|tsx|ts-node)$/.test(interpreter)) return "js";
    if (interpreter === "ruby") return "ruby";
    if (interpreter === "perl") return "perl";
    if (interpreter === "php") return "php";
    return "unknown";
  }
  if (/\.(sh|bash|zsh|ksh)$/.test(name)) return "shell";
  if (/\.pyw?$/.test(name)) return "python";
  if (/\.(m|c)?(j|t)sx?$/.test(name)) return "js";
  if (/\.rb$|^Rakefile$|^Gemfile$/.test(name)) return "ruby";
  if (/\.p[lm]$/.test(name)) return "perl";
  if (/\.php$/.test(name)) return "php";
  if (/\.lua$/.test(name)) return "lua";
  if (/\.r$/i.test(name)) return "r";
  if (/\.jl$/.test(name)) return "julia";
  if (/\.go$/.test(name)) return "go";
  if (/\.rs$/.test(name)) return "rust";
  if (/\.(java|kt|kts|scala|groovy|gradle)$/.test(name)) return "java";
  if (/\.(c|h|cc|cpp|cxx|hpp|hh|m|mm)$/.test(name)) return "c";
  if (/\.(cs|csx)$/.test(name)) return "csharp";
  if (name === "CMakeLists.txt" || /\.cmake$/.test(name)) return "cmake";
  if (name === "pom.xml" || name === "build.xml") return "unknown"; // Maven and Ant builds can run any program
  if (/\.(fs|fsx|swift|hs|zig|nim|d|ex|exs|erl|clj|dart|cr|ml)$/.test(name)) return "unknown";
  if (/\/\.git\/hooks\/|\/\.husky\/|^\.envrc$|^[Jj]ustfile$/.test(abs) || !name.includes("."))
    return fallback === "shell" ? "shell" : fallback;
  if (/\.(json|md|txt|csv|yml|yaml|toml|ini|cfg|lock|xml|html|css|svg|env|log)$/.test(name)) return undefined;
  return fallback;
}

type FileLanguage = ScriptLanguage | "npm-scripts" | "make" | "npmrc" | "gitconfig";
