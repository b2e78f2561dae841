import { posix } from "node:path";
import { globMatch } from "./glob.js";
import type { Scope } from "./scope.js";
import { type Arg, syntheticArg } from "./words.js";

/** Where a path points, as far as the detector can tell. */
export type PathClass =
  | "inside" // the project directory or below
  | "inside-all" // paths a command lists that may be every entry of the project (`ls | xargs rm`)
  | "tmp" // a named path under /tmp or /var/tmp
  | "tmp-all" // /tmp itself or everything in it
  | "null" // /dev/null, /dev/stdout, …
  | "device" // a block or character device
  | "outside" // anywhere else: system paths, home, parents, siblings
  | "unknown"; // held in a variable or substitution the detector cannot resolve

/** How bad a path class is for a write or delete: the worst one decides. */
export const PATH_RANK: Record<PathClass, number> = {
  null: 0,
  inside: 1,
  "inside-all": 2,
  tmp: 3,
  "tmp-all": 4,
  device: 5,
  outside: 6,
  unknown: 7,
};

const HARMLESS_DEVICES = new Set([
  "/dev/null",
  "/dev/zero",
  "/dev/stdout",
  "/dev/stderr",
  "/dev/stdin",
  "/dev/tty",
  "/dev/random",
  "/dev/urandom",
  "/dev/full",
]);
const MAX_SEGMENTS = 256;

/** An absolute, normalised path; `~…` for the home directory; undefined when unknown. */
export type Resolved = string | undefined;

/** Resolves a value against a directory, following `..` and the links the line created. */
export function resolve(value: string, dir: string | undefined, scope: Scope | undefined): Resolved {
  if (value === "") return undefined;
  if (value === "~" || value.startsWith("~/")) {
    // `HOME=/abs/path` set on the line moves `~` there.
    const home = scope?.vars.get("HOME");
    if (typeof home === "string" && home.startsWith("/") && home !== value) return resolve(home + value.slice(1), dir, scope);
    return value;
  }
  if (/^~[A-Za-z_]/.test(value)) return "~";
  let absolute: string;
  if (value.startsWith("/")) absolute = value;
  else {
    if (dir === undefined) return undefined;
    if (dir.startsWith("~")) return "~";
    absolute = `${dir}/${value}`;
  }
  if (absolute.length > 16384) return undefined;
  absolute = posix.normalize(absolute).replace(/\/+$/, "") || "/";
  if (segments(absolute) > MAX_SEGMENTS) return undefined;
  return scope ? followLinks(absolute, scope) : absolute;
}

function segments(path: string): number {
  let n = 0;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) n++;
  return n;
}

function followLinks(path: string, scope: Scope): Resolved {
  const links = scope.effects.links;
  if (links.size === 0) return path;
  let current = path;
  for (let hop = 0; hop < 8; hop++) {
    let replaced = false;
    for (const [link, target] of links) {
      if (current === link || current.startsWith(`${link}/`)) {
        if (target === undefined) return undefined;
        if (target.startsWith("~")) return "~";
        current = posix.normalize(target + current.slice(link.length)).replace(/\/+$/, "") || "/";
        replaced = true;
        break;
      }
    }
    if (!replaced) return current;
  }
  return undefined;
}

/** The class of a resolved path. */
export function classOf(resolved: Resolved, project: string): PathClass {
  if (resolved === undefined) return "unknown";
  if (resolved.startsWith("~")) return "outside";
  if (HARMLESS_DEVICES.has(resolved) || /^\/dev\/fd\/\d+$/.test(resolved) || /^\/proc\/self\/fd\/\d+$/.test(resolved)) return "null";
  if (resolved.startsWith("/dev/")) return "device";
  if (resolved === project || resolved.startsWith(project === "/" ? "/" : `${project}/`)) return "inside";
  const tmp = /^\/(var\/)?tmp(\/|$)/.exec(resolved);
  if (tmp) {
    const rest = resolved.slice(tmp[0].length);
    return rest === "" || /^[*?]/.test(rest) ? "tmp-all" : "tmp";
  }
  return "outside";
}

/** Classifies a word used as a path, in every directory the command may be running in (the worst wins). */
export function classifyArg(arg: Arg, scope: Scope, project: string, dirOverride?: Resolved): PathClass {
  const value = arg.value;
  if (value === undefined && arg.globbed) {
    // A path the line listed: somewhere below its literal prefix.
    const dir = arg.prefix.slice(0, arg.prefix.lastIndexOf("/") + 1);
    return classifyArg({ ...arg, globbed: false, value: `${dir === "" ? "./" : dir}listed-path` }, scope, project, dirOverride);
  }
  if (value === undefined) {
    // `$HOME/…`, `~/…` with an unknown rest is still home.
    if (arg.tilde || arg.prefix.startsWith("~")) return "outside";
    if (arg.prefix.startsWith("/") && arg.prefix.length > 1) {
      const head = arg.prefix.slice(0, arg.prefix.lastIndexOf("/") + 1);
      const cls = classOf(resolve(head, undefined, scope), project);
      // Below a named directory but with an unknown last part: as bad as its directory, never better than unknown.
      return cls === "inside" || cls === "tmp" ? "unknown" : cls === "tmp-all" ? "unknown" : cls;
    }
    return "unknown";
  }
  const v = arg.tilde && !value.startsWith("~") ? `~${value}` : value;
  const dirs = dirOverride !== undefined ? [dirOverride] : scope.dirs();
  let worst: PathClass = "null";
  for (const dir of dirs) {
    const cls = classOf(resolve(v, dir, scope), project);
    if (PATH_RANK[cls] > PATH_RANK[worst]) worst = cls;
  }
  return worst;
}

/** True for words that mean "everything in the directory": `.`, `*`, `./*`, `.*`, `./`, `$PWD`. */
export function isWholeDirectory(value: string): boolean {
  const v = value.trim();
  if (/^(\.\/?|\{\*,\.\*\}|\*\.\*|\.\/\*\.\*)$/.test(v)) return true;
  // A pattern at the top of the directory that matches `.git` or every ordinary name
  // (`*`, `*/`, `.[^.]*`, `.??*`, `!(src)`).
  const pattern = v.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
  if (pattern === "" || pattern.includes("/") || !/[*?[]|^!\(/.test(pattern)) return false;
  if (/[!@+*?]\(/.test(pattern)) return /^!\(/.test(pattern); // extglob: `!(src)` is everything else
  if (pattern.startsWith(".") && globMatch(pattern, ".git")) return true;
  return !pattern.startsWith(".") && ["src", "a", "node_modules", "x_1"].every((n) => globMatch(pattern, n));
}

/** Standard directories that hold system programs: a known tool there is that tool. */
export function isSystemBinDir(dir: string): boolean {
  return /^\/(usr\/(local\/)?)?s?bin$|^\/opt\/homebrew\/s?bin$|^\/usr\/libexec$|^\/snap\/bin$|^\/usr\/games$/.test(dir);
}

/** Directories under home where version managers and installers put tools (`~/.cargo/bin`). */
export function isUserToolDir(dir: string): boolean {
  return /^~\/(\.local\/bin|\.cargo\/bin|go\/bin|\.go\/bin|\.bun\/bin|\.deno\/bin|\.volta\/bin|\.npm-global\/bin|\.yarn\/bin|\.pyenv\/shims|\.rbenv\/shims|\.nodenv\/shims|\.asdf\/shims|\.local\/share\/mise\/shims|\.nvm\/versions\/node\/[^/]+\/bin|\.pyenv\/versions\/[^/]+\/bin|\.sdkman\/candidates\/[^/]+\/current\/bin|bin)$/.test(
    dir,
  );
}

const INSTALL_PREFIX =
  /^(?:--?(?:prefix|destdir|root|install-dir|installdir)|DESTDIR|PREFIX|prefix|INSTALL_PREFIX|CMAKE_INSTALL_PREFIX)(?:=(.*))?$/;

/**
 * Whether arguments of an install target send it into the project (`DESTDIR=./stage`,
 * `--prefix ./.local`): every prefix they name is inside. False when none is named.
 */
export function installsIntoProject(args: readonly Arg[], classify: (arg: Arg) => PathClass): boolean {
  let named = false;
  for (let i = 0; i < args.length; i++) {
    const m = INSTALL_PREFIX.exec((args[i] as Arg).value ?? "");
    if (!m) continue;
    const inline = m[1];
    const value = inline !== undefined ? syntheticArg(inline, args[i]) : (args[i + 1] as Arg | undefined);
    if (value === undefined || value.value === "" || !(inline !== undefined || (args[i] as Arg).value?.startsWith("-"))) continue;
    if (classify(value) !== "inside") return false;
    named = true;
  }
  return named;
}

/** Directories the system owns: tools, headers, libraries and their configuration (`/usr/include`, `/etc/ssl`). */
export function isSystemPath(abs: Resolved): boolean {
  return abs !== undefined && /^\/(usr|lib|lib32|lib64|libx32|bin|sbin|etc|opt|nix|snap|System|Library|Applications)(\/|$)/.test(abs);
}

/** Files a build or test tool may load as code (scripts, build files, hooks, git config). */
const CODE_FILES =
  /\.(sh|bash|zsh|ksh|py|pyw|js|mjs|cjs|ts|mts|cts|jsx|tsx|rb|pl|pm|php|lua|r|jl|tcl|mk|go|rs|java|kt|kts|scala|groovy|gradle|c|h|cc|cpp|cxx|hpp|hh|m|mm|cs|csx|fs|fsx|swift|hs|zig|nim|d|ex|exs|erl|clj|dart|cr|ml|cmake)$|(^|\/)(Makefile|makefile|GNUmakefile|CMakeLists\.txt|package\.json|composer\.json|deno\.jsonc?|\.npmrc|Rakefile|Gemfile|Justfile|justfile|conftest\.py|setup\.py|\.envrc|pom\.xml|build\.xml)$|\/\.git\/(hooks\/[^/]+|config)$|\/\.husky\/[^/]+$/;

export function isCodeFile(path: string): boolean {
  return CODE_FILES.test(path);
}
