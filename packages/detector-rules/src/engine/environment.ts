// How environment variables are judged: a variable set for what runs next (`X=v cmd`, `export`,
// the request's environment) by what it makes programs run, load or write. The table of known
// variables is data (src/tools/environment.ts); these are the judgements behind its effects, and
// the value-and-name reading of variables the table does not list.
import { FINDINGS } from "../findings.js";
import { ENVIRONMENT, PROGRAM_LIKE_VARIABLE } from "../tools/environment.js";
import type { Analyzer } from "./analyzer.js";
import { judgeGitConfig } from "./git-config.js";
import { classOf, isSystemBinDir, isSystemPath, isUserToolDir, resolve } from "./paths.js";
import { tidy } from "./paths-util.js";
import type { Scope } from "./scope.js";
import { type Arg, syntheticArg } from "./words.js";

/** An environment variable set for what runs next: judged by what it makes programs do. */
export function envVariable(
  engine: Analyzer,
  name: string,
  value: Arg,
  scope: Scope,
  at: string,
  siblings?: ReadonlyMap<string, Arg>,
  listedOnly = false,
): void {
  const key = /^GIT_CONFIG_(KEY|VALUE)_\d+$/.test(name)
    ? "GIT_CONFIG_KEY_n"
    : /^npm_config_/i.test(name)
      ? `npm_config_${name.slice(11).toLowerCase().replace(/-/g, "_")}`
      : name;
  const effect = ENVIRONMENT[key] ?? (/^CARGO_TARGET_\w+_(LINKER|RUNNER)$/.test(name) ? "command" : undefined);
  if (!effect) return listedOnly ? undefined : unlistedVariable(engine, name, value, scope, at);
  const ctx = engine.judgeContext(scope, at);
  const v = value.value;
  if (v === "" && typeof effect === "string" && effect.includes(".")) return; // a finding id: set to nothing, it does nothing
  if (name === "GOTOOLCHAIN" && (v === "local" || v === "auto")) return; // only a named toolchain is downloaded
  if (name === "HOME" && v !== undefined) {
    // Programs read their configuration (and git its hooks path, shells their rc files) below $HOME.
    const abs = resolve(v, scope.dir, scope);
    const cls = classOf(abs, engine.project);
    if (cls === "inside" || (abs !== undefined && scope.effects.origin(abs) !== undefined)) return;
    // A user's real home directory (`/home/dev`, `/root`, `/Users/dev`) is where config normally lives.
    if (abs !== undefined && /^(\/home\/[^/]+|\/root|\/Users\/[^/]+)$/.test(abs)) return;
  }
  if (name === "DOCKER_HOST" || name === "CONTAINER_HOST") {
    if (v !== undefined && (v === "" || /^unix:\/\/|^(tcp|https?):\/\/(localhost|127(\.\d+){3}|\[?::1\]?)(:\d+)?\/?$/.test(v))) return;
    return engine.find("net.remote-session", at, `points the container CLI at ${v ?? "an engine the detector cannot see"} (${name})`);
  }
  switch (effect) {
    case "shell":
      if (v === "") return;
      // less's input preprocessor: `|cmd %s` pipes, `-` and `||` are flags, `%s` is the file name.
      if (/^LESS(OPEN|CLOSE)$/.test(name) && v !== undefined)
        return engine.shellCode(syntheticArg(v.replace(/^\s*\|{0,2}-?\s*/, "").replace(/%s/g, "file"), value), scope, at);
      return engine.shellCode(value, scope, at);
    case "prompt": {
      if (v === undefined) return engine.find("exec.surface", at, `sets ${name} to something the detector cannot see`);
      // Only the substitutions of a prompt string run (`PS4='+ $(date +%T) '`).
      for (const m of v.matchAll(/\$\(((?:[^()]|\([^()]*\))*)\)|`([^`]*)`/g))
        engine.shellCode(syntheticArg((m[1] ?? m[2]) as string, value), scope, at);
      if (/\$\((?!(?:[^()]|\([^()]*\))*\))/.test(v)) engine.find("exec.surface", at, `sets ${name} to a prompt the detector cannot read`);
      return;
    }
    case "command":
      if (v === "") return;
      return engine.commandText(value, scope, at);
    case "executable":
      if (v === "") return;
      return engine.executableValue(value, scope, at);
    case "script":
      if (v === "") return;
      return ctx.runFile(value);
    case "native":
    case "search-path":
      return searchPath(engine, name, value, scope, at, effect === "native");
    case "path":
      if (v === "") return;
      return pathVariable(engine, value, scope, at);
    case "git-config": {
      if (name === "GIT_CONFIG_COUNT" || /^GIT_CONFIG_VALUE_\d+$/.test(name)) return;
      const pair = /^GIT_CONFIG_KEY_(\d+)$/.exec(name);
      if (pair) {
        const valueName = `GIT_CONFIG_VALUE_${pair[1]}`;
        const sibling =
          siblings?.get(valueName) ?? (scope.vars.has(valueName) ? syntheticArg(scope.vars.get(valueName) ?? undefined) : undefined);
        if (v === undefined) return engine.find("exec.surface", at, `sets git configuration through the environment (${name})`);
        return judgeGitConfig(v, sibling, ctx);
      }
      if (name === "GIT_CONFIG_PARAMETERS") {
        if (v === undefined)
          return engine.find("exec.surface", at, "sets git configuration through the environment (GIT_CONFIG_PARAMETERS)");
        for (const m of v.matchAll(/'([^']*)'(?:='([^']*)')?/g)) {
          const kv = m[1] as string;
          const eq = kv.indexOf("=");
          if (m[2] !== undefined) judgeGitConfig(kv, syntheticArg(m[2]), ctx);
          else judgeGitConfig(eq < 0 ? kv : kv.slice(0, eq), eq < 0 ? undefined : syntheticArg(kv.slice(eq + 1)), ctx);
        }
        return;
      }
      if (v === "/dev/null") return;
      const abs = v === undefined ? undefined : resolve(v, scope.dir, scope);
      const origin = abs !== undefined && !abs.startsWith("~") ? scope.effects.origin(abs) : undefined;
      if (origin?.kind === "text") return engine.gitConfigFile(origin.text, scope, at);
      return engine.find("exec.surface", at, `makes git read its configuration from ${v ?? "a file it computes"} (${name})`);
    }
    case "git-dir": {
      const cls = ctx.classify(value);
      if (cls !== "inside" && cls !== "tmp")
        engine.find("git.outside-repository", at, `points git at a repository outside the project (${name})`);
      return;
    }
    case "node-options": {
      if (v === undefined) return engine.find("exec.surface", at, `sets ${name} to something the detector cannot see`);
      const nodeWords = v.split(/\s+/).filter(Boolean);
      for (let k = 0; k < nodeWords.length; k++) {
        const word = nodeWords[k] as string;
        const load = /^(-r|--require|--import|--loader|--experimental-loader)(?:=(.*))?$/.exec(word);
        if (load) {
          const target = load[2] ?? nodeWords[++k] ?? "";
          if (/^[@\w][\w./@-]*$/.test(target) && !target.includes("..") && !target.startsWith("/")) {
            if (target.startsWith(".") || target.includes("/")) engine.runPath(syntheticArg(target), "js", scope, at, false);
            continue;
          }
          if (target.startsWith("./") || target.startsWith("../") || target.startsWith("/") || target.startsWith("~")) {
            engine.runPath(syntheticArg(target), "js", scope, at, false);
            continue;
          }
          return engine.find("exec.surface", at, `makes node load ${target} through ${name}`);
        }
        if (
          /^--(max-old-space-size|max-semi-space-size|stack-size|enable-source-maps|no-warnings|no-deprecation|trace-warnings|trace-deprecation|trace-uncaught|unhandled-rejections|openssl-legacy-provider|experimental-[\w-]+|no-experimental-[\w-]+|inspect(-brk|-port)?|heapsnapshot-[\w-]+|max-http-header-size|dns-result-order|title|conditions|disable-warning|use-openssl-ca|use-system-ca|expose-gc|preserve-symlinks[\w-]*|abort-on-uncaught-exception|report-[\w-]+|es-module-specifier-resolution)(=\S*)?$|^\d+$/.test(
            word,
          )
        )
          continue;
        return engine.find("exec.surface", at, `makes node load or run something through ${name} (\`${word}\`)`);
      }
      return;
    }
    case "interpreter-options":
      if (v === undefined) return engine.find("exec.surface", at, `sets ${name} to something the detector cannot see`);
      for (const word of v.split(/\s+/).filter(Boolean)) {
        if (/^-(M-?|m|r)[A-Za-z_][\w:]*(=[\w,]+)?$|^-[wWTtdU]$|^-W[0-2]$|^-W:[\w-]+$|^-X[a-z]+$|^--(enable|disable)[-=][\w-]+$/.test(word))
          continue;
        return engine.find("exec.surface", at, `makes an interpreter load something through ${name} (\`${word}\`)`);
      }
      return;
    case "jvm-options":
      if (
        v === undefined ||
        /-(javaagent|agentpath|agentlib)|OnOutOfMemoryError|OnError|-Xbootclasspath|-XX:\+?StartFlightRecording.*filename/i.test(v)
      )
        engine.find("exec.native", at, `makes the JVM load code through ${name}`);
      return;
    case "cdpath":
      return;
    default:
      engine.find(effect, at, `${FINDINGS[effect].description} (${name})`);
  }
}

/**
 * A variable the environment table does not list. A program-like name with a value the detector
 * cannot see is fail-closed; a literal value that names a path outside the project (and outside
 * the system and the user's tool directories: `JAVA_HOME=/usr/lib/jvm/x` is fine) may be loaded
 * or run by the program (`RUSTFLAGS="-C linker=/home/u/ld"`, `GOFLAGS=-toolexec=~/t`,
 * `MAKEFLAGS="SHELL=/home/u/sh"`), or written (`…_TARGET_DIR=/opt/x`).
 */
function unlistedVariable(engine: Analyzer, name: string, value: Arg, scope: Scope, at: string): void {
  const v = value.value;
  if (v === undefined) {
    if (PROGRAM_LIKE_VARIABLE.test(name) || /FLAGS$|OPTS$|OPTIONS$/.test(name))
      engine.find("exec.surface", at, `sets ${name} from a value the detector cannot see`);
    return;
  }
  if (/^[a-z][\w+.-]*:\/\//i.test(v)) return; // a URL (`DATABASE_URL=postgres://localhost/x`)
  // Only names that say they configure a program (`D=~/.bashrc` is just data).
  if (!PROGRAM_LIKE_VARIABLE.test(name) && !/(FLAGS|OPTS|OPTIONS|ARGS|CONFIG|CONF|FILE|DIR|PATH|HOME|ROOT|PREFIX)$/.test(name)) return;
  const writes = /(TARGET_DIR|OUT_DIR|OUTDIR|DESTDIR|PREFIX|INSTALL_DIR|TMPDIR|TEMP|TMP|CACHE_DIR|CACHE)$/.test(name);
  for (const token of v.split(/[\s=,:;]+/)) {
    if (!/^(\/(?!\/)|~|\.\.(\/|$))/.test(token)) continue;
    const abs = resolve(token, scope.dir, scope);
    const cls = classOf(abs, engine.project);
    // Under /tmp: scratch output for a place it writes; code or configuration from outside otherwise (R29).
    if (cls !== "outside" && !(cls === "tmp" && !writes && !(abs !== undefined && scope.effects.origin(abs) !== undefined))) continue;
    if (
      !writes &&
      abs !== undefined &&
      (isSystemPath(abs) ||
        /^~\/\.(local|cargo|rustup|pyenv|nvm|sdkman|jdks|asdf|volta|fnm|rbenv|goenv|gradle|m2|conda|deno|bun|npm|cache|config|kube|aws|docker|ssh)(\/|$)|^~\/(go|sdk|miniconda3|anaconda3)(\/|$)/.test(
          abs,
        ))
    )
      continue;
    return engine.find("exec.surface", at, `sets ${name} to ${tidy(token)}, outside the project, which the program may load, run or write`);
  }
}

/**
 * The entries of a `:`-separated list variable (`PATH`, `PYTHONPATH`): the variable's own previous
 * value (`$PATH`, `${X:+:$X}`) is dropped, `$PWD`/`$(pwd)`/`$HOME` are resolved; an entry with
 * anything else unknown is undefined.
 */
function listEntries(name: string, value: Arg, scope: Scope): (string | undefined)[] {
  let text = value.value;
  if (text === undefined) {
    text = value.text.replace(/^["']|["']$/g, "").replace(/"/g, "");
    const self = new RegExp(`\\$\\{${name}:?\\+:?\\$\\{?${name}\\}?:?\\}|\\$\\{${name}(:-)?\\}|\\$${name}\\b`, "g");
    text = text
      .replace(self, "")
      .replace(/\$\{?PWD\}?|\$\(pwd\)|`pwd`/g, scope.dir ?? "$UNKNOWN")
      .replace(/\$\{?HOME\}?/g, "~");
  }
  return text.split(":").map((e) => (/[$`]/.test(e) ? undefined : e.replace(/(.)\/+$/, "$1")));
}

/** LD_PRELOAD, PYTHONPATH, NODE_PATH …: every entry must be in the project or a system directory. */
function searchPath(engine: Analyzer, name: string, value: Arg, scope: Scope, at: string, native: boolean): void {
  if (value.value === "") return;
  if (native) return engine.find("exec.native", at, `loads native code into every program it starts (${name})`);
  for (const entry of listEntries(name, value, scope)) {
    if (entry === "") continue;
    if (entry === undefined) return engine.find("exec.surface", at, `sets ${name} to something the detector cannot see`);
    const abs = resolve(entry, scope.dir, scope);
    if (classOf(abs, engine.project) === "inside") continue;
    if (abs !== undefined && /^\/(usr|lib|lib64|opt\/homebrew)(\/|$)/.test(abs)) continue;
    return engine.find("exec.surface", at, `makes programs load code from ${entry} (${name})`);
  }
}

/** PATH: a directory outside the project and the system makes a bare name run something else. */
function pathVariable(engine: Analyzer, value: Arg, scope: Scope, at: string): void {
  for (const entry of listEntries("PATH", value, scope)) {
    if (entry === "") continue;
    if (entry === undefined) return engine.find("exec.surface", at, "puts a directory on PATH that the detector cannot resolve");
    const abs = resolve(entry, scope.dir, scope);
    if (abs === undefined) return engine.find("exec.surface", at, `puts \`${entry}\` on PATH, which the detector cannot resolve`);
    const cls = classOf(abs, engine.project);
    if (
      cls === "inside" ||
      isSystemBinDir(abs) ||
      isUserToolDir(abs) ||
      /^\/(usr\/local|opt)\/[\w.-]+\/bin$|^\/usr\/lib\/[\w.-]+\/bin$/.test(abs)
    )
      continue;
    return engine.find("exec.surface", at, `puts ${entry} on PATH, so bare command names may run programs from there`);
  }
}
