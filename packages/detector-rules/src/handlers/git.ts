import type { ToolContext } from "../engine/context.js";
import { basename } from "../engine/paths-util.js";
import { type Arg, syntheticArg } from "../engine/words.js";

/** Pathspecs that mean the whole working tree. */
function wholeTree(ctx: ToolContext, a: Arg): boolean {
  const v = a.value;
  if (v === undefined) return false;
  return /^(:\/|:\/:?\*?|:(\(top\))?|\*|\.\/?\*?|:\/\.)$/.test(v) || ctx.isProjectRoot(a);
}

/** Verbs that run hooks from `.git/hooks`: files the line wrote there are judged. */
const HOOK_VERBS = new Set([
  "commit",
  "merge",
  "rebase",
  "am",
  "cherry-pick",
  "revert",
  "checkout",
  "switch",
  "pull",
  "gc",
  "clone",
  "fetch",
]);

/** What git data cannot say (see tools/git.ts). */
export function git(ctx: ToolContext): void {
  const { parsed } = ctx;
  const verb = parsed.verbs[0];
  for (const p of parsed.positionals) {
    if (p.value !== undefined && /^(ext|fd)::/i.test(p.value)) ctx.find("exec.surface", "uses a git transport that runs a command (ext::)");
  }
  // Every git command reads the repository's configuration (`core.fsmonitor` runs on `git status`).
  ctx.loads(/\/\.git\/config$|\/\.gitconfig$/);
  if (!verb) return;
  if (HOOK_VERBS.has(verb)) ctx.projectCode();
  const positionals = parsed.positionals;
  switch (verb) {
    case "checkout": {
      // `git checkout .`, `git checkout HEAD -- .`, `git checkout -- :/`: the working tree is overwritten.
      const dashDash = ctx.inv.args.findIndex((a) => a.value === "--");
      const paths = dashDash >= 0 ? ctx.inv.args.slice(dashDash + 1) : positionals;
      if (paths.some((p) => wholeTree(ctx, p)) || listedEverything(ctx, paths))
        ctx.find("git.discard-work", "overwrites the whole working tree (`git checkout .`)");
      return;
    }
    case "restore": {
      const onlyStaged = parsed.has("-S", "--staged") && !parsed.has("-W", "--worktree");
      if (!onlyStaged && (positionals.some((p) => wholeTree(ctx, p)) || listedEverything(ctx, positionals)))
        ctx.find("git.discard-work", "restores the whole working tree (`git restore .`)");
      return;
    }
    case "rm":
      if (!parsed.has("--cached") && parsed.has("-r") && parsed.has("-f", "--force") && positionals.some((p) => wholeTree(ctx, p)))
        ctx.find("git.discard-work", "removes the whole working tree (`git rm -r -f .`)");
      return;
    case "clone": {
      const [url, dir] = positionals;
      if (!url) return;
      const target = dir ?? syntheticArg(basename((url.value ?? "repo").replace(/\.git\/?$/, "")) || "repo", url);
      ctx.path(target, "write");
      ctx.wrote(target, { kind: "download" });
      return;
    }
    case "worktree":
      if (parsed.verbs[1] === "add" && positionals[0]) ctx.path(positionals[0], "write");
      return;
    case "submodule":
      if (parsed.verbs[1] === "foreach") {
        const words = positionals.filter((p) => p.value !== "--recursive");
        if (words.length === 0) return;
        if (words.some((w) => w.value === undefined)) return ctx.shell(syntheticArg(undefined, words[0]));
        ctx.shell(syntheticArg(words.map((w) => w.value).join(" "), words[0]));
      }
      return;
    case "bisect":
      if (parsed.verbs[1] === "run" && positionals.length > 0) {
        const start = ctx.inv.args.indexOf(positionals[0] as Arg);
        ctx.command(start >= 0 ? ctx.inv.args.slice(start) : positionals);
      }
      return;
    case "grep":
      for (const a of ctx.inv.args) {
        const v = a.value;
        if (v === undefined) continue;
        const m = /^(?:-O|--open-files-in-pager=?)(.*)$/.exec(v);
        if (m && m[1] !== "") ctx.shell(syntheticArg(m[1] as string, a));
      }
      return;
  }
}

/** `git config`: reading is local; changing user-global or system config is clause 2; a local key is judged by what it runs. */
export function gitConfig(ctx: ToolContext): void {
  const { parsed } = ctx;
  const words = parsed.positionals.map((p) => p.value);
  const sub = words[0];
  const modern = sub !== undefined && ["get", "set", "unset", "list", "edit", "rename-section", "remove-section"].includes(sub);
  const reading =
    parsed.has(
      "--get",
      "--get-all",
      "--get-regexp",
      "--get-urlmatch",
      "-l",
      "--list",
      "--get-color",
      "--get-colorbool",
      "--show-origin",
      "--show-scope",
    ) ||
    sub === "get" ||
    sub === "list" ||
    (!modern &&
      parsed.positionals.length === 1 &&
      !parsed.has("--unset", "--unset-all", "--remove-section", "--rename-section", "-e", "--edit", "--add", "--replace-all"));
  if (reading) return ctx.find("local.read");
  if (parsed.has("--global", "--system")) return ctx.find("sys.config", "changes user-global or system git configuration");
  const file = parsed.value("-f", "--file");
  if (file) ctx.path(file, "write");
  if (parsed.has("-e", "--edit") || sub === "edit") return ctx.find("local.project-write");
  const args = modern ? parsed.positionals.slice(1) : parsed.positionals;
  const [key, value] = args;
  if (!key) return;
  if (key.value === undefined) return ctx.find("exec.dynamic-word", "sets a git configuration key that is not a literal");
  if (
    parsed.has("--unset", "--unset-all", "--remove-section", "--rename-section") ||
    sub === "unset" ||
    sub === "remove-section" ||
    sub === "rename-section"
  )
    return;
  ctx.gitConfig(key.value, value);
}

/**
 * Pathspecs that come from data and may name every changed file: `git diff --name-only | xargs git
 * checkout --`, `git checkout -- $(git ls-files -m)`, a list the detector cannot see.
 */
function listedEverything(ctx: ToolContext, paths: readonly Arg[]): boolean {
  const appended = ctx.inv.appended;
  if (appended !== undefined && appended !== "inside" && appended !== "null") return true;
  return paths.some((p) => p.globbed === true && p.substitutions.length > 0);
}
