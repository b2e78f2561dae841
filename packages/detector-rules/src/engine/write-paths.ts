// Paths a command writes or deletes (analyzer.ts delegates here): judged by where they point
// (classifyArg), with the whole working tree, every listed entry of it and `.git` as wipes.
import type { Analyzer } from "./analyzer.js";
import { listsEverything } from "./listings.js";
import { classifyArg, isWholeDirectory, type PathClass, type Resolved, resolve } from "./paths.js";
import type { Scope } from "./scope.js";
import { expandBraces } from "./shell-syntax.js";
import type { Arg } from "./words.js";

/** Judges a path written or deleted (`{a,b}` alternatives each). */
export function writePath(
  engine: Analyzer,
  arg: Arg,
  kind: "write" | "delete",
  recursive: boolean,
  scope: Scope,
  at: string,
  dir?: Resolved,
): void {
  if (arg.brace && arg.value !== undefined) {
    const alternatives = expandBraces(arg.value);
    if (alternatives) {
      for (const a of alternatives) writePath(engine, { ...arg, brace: false, value: a, prefix: a }, kind, recursive, scope, at, dir);
      return;
    }
  }
  // `tee >(sha256sum > x)`: a pipe into a process substitution, whose own commands are judged where they are.
  if (arg.value === undefined && arg.processSubstitutions.length > 0 && arg.text.trim().startsWith(">(")) return;
  if (kind === "delete" && isProjectRoot(engine, arg, scope, dir))
    return engine.find("fs.wipe-project", at, "deletes the whole working tree");
  if (kind === "delete" && arg.globbed && listsEverything(engine, arg, scope))
    return engine.find("fs.wipe-project", at, "deletes every path a command lists, which may be the whole working tree");
  if (kind === "delete" && arg.listedAll && classifyArg(arg, scope, engine.project, dir) === "inside")
    return engine.find("fs.wipe-project", at, "deletes every entry of the working tree, one by one");
  if (kind === "delete" && recursive && arg.value !== undefined && /^(\.\/)?\.git\/?$/.test(arg.value))
    return engine.find("fs.wipe-project", at, "deletes the project's history (.git)");
  const cls = classifyArg(arg, scope, engine.project, dir);
  judgeClass(engine, cls, kind, recursive, arg.glob || arg.value === undefined, at);
}

export function judgeClass(
  engine: Analyzer,
  cls: PathClass,
  kind: "write" | "delete",
  recursive: boolean,
  pattern: boolean,
  at: string,
): void {
  switch (cls) {
    case "inside":
    case "tmp":
    case "null":
      return engine.find("local.project-write", at);
    case "tmp-all":
      if (kind === "delete") return engine.find("fs.wipe-tmp", at);
      return engine.find("local.project-write", at);
    case "inside-all":
      if (kind === "delete")
        return engine.find("fs.wipe-project", at, "deletes every path a command lists, which may be the whole working tree");
      return engine.find("local.project-write", at);
    case "device":
      return engine.find("fs.device", at);
    case "outside":
      if (kind === "delete" && (recursive || pattern)) return engine.find("fs.destroy-outside", at);
      return engine.find("fs.write-outside", at, `${kind === "delete" ? "deletes or moves" : "writes"} a file outside the project`);
    case "unknown":
      if (kind === "delete") return engine.find("fs.destroy-unknown", at);
      return engine.find("fs.write-outside", at, "writes a path the detector cannot resolve");
  }
}

export function isProjectRoot(engine: Analyzer, arg: Arg, scope: Scope, dir?: Resolved): boolean {
  const value = arg.value;
  if (value === undefined) return false;
  const whole = isWholeDirectory(value);
  const dirs = dir !== undefined ? [dir] : scope.dirs();
  return dirs.some((d) => {
    if (d === undefined) return whole;
    if (whole) return d === engine.project;
    return resolve(value.replace(/\/(\*|\.)?$/, ""), d, scope) === engine.project;
  });
}
