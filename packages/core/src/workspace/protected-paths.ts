/**
 * What a sandbox may not change in the host project, whatever the workspace strategy: the files
 * the host reads as configuration or runs without being asked. Each rule returns the reason a
 * change is refused, or undefined.
 *
 * Git runs `.git/hooks/*` on commit and programs named in `.git/config` (core.fsmonitor,
 * core.pager, diff and filter drivers) on read-only commands such as `git status`, which auto mode
 * runs on the host. A `.git` file or link redirects git to another directory, where the same
 * happens. So inside `.git` only the data git itself writes may come back (objects, refs, logs,
 * the index, transient state), never configuration, hooks or redirections; and nothing may turn a
 * `.git` into a file or a link. Stigmer's own config file could name a plugin the host would load.
 */

export type ChangeKind = "write" | "delete";

/** Top-level entries of a git directory that hold data git writes during normal work. */
const GIT_DATA = new Set([
  "objects",
  "refs",
  "logs",
  "index",
  "HEAD",
  "ORIG_HEAD",
  "FETCH_HEAD",
  "MERGE_HEAD",
  "MERGE_MSG",
  "MERGE_MODE",
  "MERGE_RR",
  "AUTO_MERGE",
  "CHERRY_PICK_HEAD",
  "REVERT_HEAD",
  "REBASE_HEAD",
  "BISECT_LOG",
  "BISECT_START",
  "BISECT_TERMS",
  "BISECT_NAMES",
  "BISECT_EXPECTED_REV",
  "BISECT_ANCESTORS_OK",
  "COMMIT_EDITMSG",
  "TAG_EDITMSG",
  "SQUASH_MSG",
  "packed-refs",
  "shallow",
  "description",
  "rebase-merge",
  "rebase-apply",
  "sequencer",
  "rr-cache",
  "lfs",
  "info",
  "modules",
  "worktrees",
  "gitk.cache",
]);

/** Names that configure git or redirect it, anywhere inside a git directory (submodule and worktree gitdirs included). */
const GIT_CONTROL = new Set([
  "config",
  "config.worktree",
  "hooks",
  "commondir",
  "gitdir",
  "alternates",
  "http-alternates",
  "branches",
  "remotes",
]);

/** Top-level git entries that must never be deleted from the host (the repository would be gone). */
const GIT_KEEP = new Set(["objects", "refs", "HEAD"]);

/** The file name of Stigmer's own configuration. */
export const STIGMER_CONFIG_NAME = "stigmer.config.json";

/**
 * Why a sandbox may not make this change to `path` (relative, clean), or undefined when it may.
 * `type` is the entry type the sandbox wants at the path (writes only).
 */
export function protectedReason(path: string, kind: ChangeKind, type?: "file" | "directory" | "symlink"): string | undefined {
  const parts = path.split("/");
  const last = parts[parts.length - 1] as string;
  if (last === STIGMER_CONFIG_NAME) return "Stigmer's own configuration is never taken from a sandbox";
  const gitIndex = parts.indexOf(".git");
  if (gitIndex === -1) return undefined;
  if (gitIndex === parts.length - 1) {
    if (kind === "delete") return "a sandbox may not delete a git directory";
    if (type !== "directory") return "a .git file or link would redirect git to another directory";
    return undefined;
  }
  const inside = parts.slice(gitIndex + 1);
  const top = inside[0] as string;
  // Ref names (refs/heads/config, logs/refs/heads/hooks) are data, whatever they are called.
  const refSpace = inside.findIndex((part) => part === "refs" || part === "logs");
  const control = inside.findIndex((part) => GIT_CONTROL.has(part));
  if (control !== -1 && (refSpace === -1 || control < refSpace)) {
    return "git configuration, hooks and redirections are never taken from a sandbox";
  }
  if (!GIT_DATA.has(top) && !top.endsWith(".lock"))
    return `only git's own data (objects, refs, logs, index) is taken from a sandbox, not .git/${top}`;
  if (type === "symlink") return "links inside a git directory are never taken from a sandbox";
  if (kind === "delete" && inside.length === 1 && GIT_KEEP.has(top)) return `a sandbox may not delete .git/${top}`;
  return undefined;
}

/**
 * The clean form of a relative path that came from a sandbox, or undefined when it is not one:
 * absolute, empty, with a NUL, or leaving its root through `..`. `./` and empty components are dropped.
 */
export function cleanRelativePath(raw: string): string | undefined {
  if (raw.includes("\0") || raw.startsWith("/") || raw.length > 4096) return undefined;
  const parts: string[] = [];
  for (const part of raw.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." || Buffer.byteLength(part) > 255) return undefined;
    parts.push(part);
  }
  return parts.length === 0 ? undefined : parts.join("/");
}

/**
 * True when a symlink at `linkPath` (relative to the project root) pointing at `target` resolves
 * inside the project, judged on the text alone: a relative target whose `..` never climbs above
 * the root. Absolute targets are refused: they name the sandbox's filesystem, not the host's.
 */
export function symlinkStaysInside(linkPath: string, target: string): boolean {
  if (target === "" || target.startsWith("/") || target.includes("\0")) return false;
  const stack = linkPath.split("/").slice(0, -1);
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (stack.length === 0) return false;
      stack.pop();
    } else stack.push(part);
  }
  return true;
}
