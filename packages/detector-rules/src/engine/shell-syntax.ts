// Facts the walk (analyzer.ts) reads off bash's syntax without running anything: which commands
// change directory or end the shell, loops that never end, functions that fork themselves, words
// that are not arithmetic, substitutions that download; the few expansions the walk does itself
// (braces, printf escapes, the directory a glob stays in); and the names of the shell builtins.
import type { ParsedScript, PipelineNode, Statement, SyntaxNode } from "unbash";
import { forEachChild } from "unbash";
import { DOWNLOADERS } from "./listings.js";
import { basename } from "./paths-util.js";

// ------------------------------------------------------------------ syntax-tree predicates

export function isDirChange(node: PipelineNode): boolean {
  return node.type === "Command" && node.name !== undefined && /^(cd|pushd|popd|chdir)$/.test(node.name.value);
}

export function isExit(node: PipelineNode): boolean {
  if (node.type === "Command") return node.name !== undefined && /^(exit|return)$/.test(node.name.value);
  if (node.type === "BraceGroup") {
    const last = node.body.commands[node.body.commands.length - 1]?.command;
    return last !== undefined && last.type !== "AndOr" && isExit(last);
  }
  return false;
}

export function usesDownloader(script: ParsedScript): boolean {
  let found = false;
  const walk = (node: SyntaxNode) => {
    if (found) return;
    if (node.type === "Command" && node.name && DOWNLOADERS.has(basename(node.name.value))) found = true;
    forEachChild(node, walk);
  };
  walk(script);
  return found;
}

/** A function body that runs the function itself in the background or in a pipe: a fork bomb. */
export function spawnsItself(body: SyntaxNode, name: string): boolean {
  let found = false;
  const walk = (node: SyntaxNode, spawning: boolean) => {
    if (found) return;
    if (node.type === "Function") return;
    if (node.type === "Command" && spawning && node.name?.value === name) {
      found = true;
      return;
    }
    const here =
      spawning || (node.type === "Statement" && node.background === true) || (node.type === "Pipeline" && node.commands.length > 1);
    forEachChild(node, (child) => walk(child, here));
  };
  walk(body, false);
  return found;
}

export function hasBackground(node: SyntaxNode): boolean {
  let found = false;
  const walk = (n: SyntaxNode) => {
    if (found) return;
    if (n.type === "Statement" && n.background) found = true;
    else forEachChild(n, walk);
  };
  walk(node);
  return found;
}

export function alwaysTrue(statements: readonly Statement[]): boolean {
  if (statements.length !== 1) return false;
  const c = statements[0]?.command;
  if (c?.type === "Command" && c.name) return /^(true|:)$/.test(c.name.value) || (c.name.value === "[" && c.suffix.length === 2);
  return c?.type === "ArithmeticCommand" && /^\s*[1-9]\d*\s*$/.test(c.body);
}

export function hasSpacedWord(node: SyntaxNode): boolean {
  if (node.type === "ArithmeticWord" && /\s/.test(node.value.trim())) return true;
  let found = false;
  forEachChild(node, (child) => {
    if (!found && child.type.startsWith("Arithmetic") && hasSpacedWord(child)) found = true;
  });
  return found;
}

// ------------------------------------------------------------------ expansions

/** The literal directory part shared by glob words (`tests/*.py`, `tests/unit/*.py` → `tests/`); undefined when it may leave the project. */
export function commonGlobPrefix(globs: string[]): string | undefined {
  const prefixes = globs.map((g) => {
    const first = g.search(/[*?[]/);
    const lit = first < 0 ? g : g.slice(0, first);
    return lit.slice(0, lit.lastIndexOf("/") + 1);
  });
  if (prefixes.some((p) => p.startsWith("/") || p.startsWith("~") || p.split("/").includes(".."))) return undefined;
  let common = prefixes[0] ?? "";
  for (const p of prefixes) while (!p.startsWith(common)) common = common.slice(0, common.slice(0, -1).lastIndexOf("/") + 1);
  return common;
}

/** The text `printf FORMAT` prints for its escapes (`\n`, `\t`, `\\`, octal). */
export function unescapePrintf(format: string): string {
  return format.replace(/\\(0[0-7]{0,3}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (/^[0-7]/.test(e)) return String.fromCharCode(Number.parseInt(e, 8));
    return (
      ({ n: "\n", t: "\t", r: "\r", a: "\u0007", b: "\b", f: "\f", v: "\v", e: "\u001b", "\\": "\\" } as Record<string, string>)[e] ??
      `\\${e}`
    );
  });
}

/** `{a,b}c` → `ac`, `bc` (one level, up to 64 words); undefined when it is more than that. */
export function expandBraces(value: string): string[] | undefined {
  const open = value.indexOf("{");
  const close = value.indexOf("}", open);
  if (open < 0 || close < 0) return undefined;
  const body = value.slice(open + 1, close);
  if (body.includes("{")) return undefined;
  const range = /^(-?\d+)\.\.(-?\d+)$/.exec(body);
  const items = range ? [] : body.split(",");
  if (range) {
    const a = Number(range[1]);
    const b = Number(range[2]);
    if (Math.abs(b - a) > 64) return undefined;
    for (let i = a; a <= b ? i <= b : i >= b; i += a <= b ? 1 : -1) items.push(String(i));
  }
  if (items.length > 64 || items.length < 2) return items.length < 2 ? [value] : undefined;
  const out = items.map((i) => value.slice(0, open) + i + value.slice(close + 1));
  return out.some((o) => o.includes("{")) ? out.flatMap((o) => expandBraces(o) ?? [o]) : out;
}

// ------------------------------------------------------------------ builtins

/** Shell builtins: they run no program, so variables set for programs are not used yet. */
export const BUILTINS = new Set([
  "cd",
  "pushd",
  "popd",
  "export",
  "declare",
  "typeset",
  "local",
  "readonly",
  "unset",
  "set",
  "shopt",
  "alias",
  "unalias",
  "echo",
  "printf",
  "read",
  "test",
  "[",
  "[[",
  "true",
  "false",
  ":",
  "shift",
  "return",
  "exit",
  "break",
  "continue",
  "trap",
  "type",
  "hash",
  "ulimit",
  "umask",
  "wait",
  "jobs",
  "let",
  "getopts",
  "mapfile",
  "readarray",
  "times",
  "caller",
  "dirs",
  "history",
  "compgen",
  "complete",
  "logout",
  "suspend",
  "bind",
  "disown",
  "bg",
  "fg",
  "help",
]);
