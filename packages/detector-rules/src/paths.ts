import { isAbsolute, posix } from "node:path";
import type { WordInfo } from "./words.js";

/** Where a path points, as far as the detector can tell. */
export type PathClass =
  | "inside" // the project directory or below
  | "tmp" // a named path under /tmp or /var/tmp
  | "tmp-all" // /tmp itself or everything in it
  | "null" // /dev/null, /dev/stdout, …
  | "device" // a block or character device
  | "outside" // anywhere else: system paths, home, parents, siblings
  | "unknown"; // held in a variable or substitution the detector cannot resolve

const HARMLESS_DEVICES = /^\/dev\/(null|zero|stdout|stderr|stdin|tty|fd\/\d+|random|urandom|full)$/;
const TMP = /^\/(var\/)?tmp(\/|$)/;

export interface DirState {
  /** Absolute directory commands run in, or undefined when unknown (`cd "$X"`). */
  path: string | undefined;
}

/**
 * Classifies a path word relative to the current directory. `vars` holds variables whose value the
 * line itself set (`D=build; rm -rf $D`).
 */
export function classifyPath(word: WordInfo, cwd: DirState, project: string, vars: ReadonlyMap<string, string>): PathClass {
  let value = word.value;
  if (!word.static) {
    const resolved = resolveVariables(word, vars);
    if (resolved === undefined) return "unknown";
    value = resolved;
  }
  return classifyValue(value, cwd, project);
}

function resolveVariables(word: WordInfo, vars: ReadonlyMap<string, string>): string | undefined {
  if (word.substitutions.length > 0) {
    // $(pwd) is the current directory; anything else is unknown.
    if (!/^(\$\(pwd\)|`pwd`)/.test(word.text) || word.substitutions.length > 1) return undefined;
  }
  let out = word.text.replace(/^(\$\(pwd\)|`pwd`)/, "$PWD");
  out = out.replace(/^["']|["']$/g, "");
  for (const name of new Set(word.variables)) {
    let replacement: string | undefined = vars.get(name);
    if (replacement === undefined && name === "HOME") replacement = "~";
    if (replacement === undefined) return undefined;
    out = out.replace(new RegExp(`\\$\\{?${name}\\}?`, "g"), replacement);
  }
  if (/[$`]/.test(out)) return undefined;
  return out.replace(/"/g, "");
}

export function classifyValue(raw: string, cwd: DirState, project: string): PathClass {
  const value = raw.trim();
  if (value === "") return "unknown";
  if (value === "~" || value.startsWith("~/") || /^~[a-z_]/i.test(value)) return "outside";
  if (HARMLESS_DEVICES.test(value)) return "null";
  if (value.startsWith("/dev/")) return "device";
  let absolute: string;
  if (value.startsWith("$PWD")) {
    if (!cwd.path) return "unknown";
    absolute = posix.normalize(cwd.path + value.slice(4));
  } else if (isAbsolute(value)) {
    absolute = posix.normalize(value);
  } else {
    if (!cwd.path) return "unknown";
    absolute = posix.normalize(posix.join(cwd.path, value));
  }
  absolute = absolute.replace(/\/+$/, "") || "/";
  if (absolute === project || absolute.startsWith(`${project}/`)) return "inside";
  if (TMP.test(absolute)) {
    const rest = absolute.replace(TMP, "");
    return rest === "" || /^[*?]/.test(rest) || rest === "." ? "tmp-all" : "tmp";
  }
  return "outside";
}

/** True for paths that mean "the whole directory": `.`, `*`, `./*`, `.*`, `./`, `$PWD`. */
export function isWholeDirectory(value: string): boolean {
  return /^(\.\/?|\*|\.\/\*|\.\*|\.\/\.\*|\$PWD\/?\*?|\.\[!.\]\*|\{\*,\.\*\})$/.test(value.trim());
}
