import { accessSync, constants, realpathSync } from "node:fs";
import { homedir } from "node:os";
import { sep } from "node:path";
import { InvalidRequestError } from "../errors.js";

/** Directories that are never a project, nor is anything inside them. */
const SYSTEM_TREES = [
  "/etc",
  "/usr",
  "/bin",
  "/sbin",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
  "/boot",
  "/dev",
  "/proc",
  "/sys",
  "/run",
  "/snap",
  "/var/lib",
  "/var/log",
  "/var/run",
  "/var/spool",
  "/var/cache",
  "/var/mail",
  "/var/backups",
  "/var/local",
  "/var/opt",
];
/** Directories that hold projects of many users or the system's own, but are not one themselves. */
const SHARED_PARENTS = ["/", "/home", "/root", "/var", "/tmp", "/var/tmp", "/opt", "/srv", "/mnt", "/media", "/Users", "/private"];

export interface WorkspaceRootPolicy {
  /**
   * Host paths a sandbox must never reach: Stigmer's state directory, the container engine's
   * socket, a backend's state. A root that contains one is refused.
   */
  protectedPaths?: readonly string[];
  /**
   * When given, a root must be one of these directories or inside one (`sandbox.allowedRoots`, the
   * server's `--allowed-root`). Listing a directory here is also how a hidden directory of the home
   * directory (`~/.config/app`) is allowed.
   */
  allowedRoots?: readonly string[];
  /** The user's home directory (default: `os.homedir()`). */
  home?: string;
}

const within = (path: string, dir: string) => path === dir || path.startsWith(dir === sep ? dir : `${dir}${sep}`);

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function refuse(root: string, why: string, fix: string): never {
  throw new InvalidRequestError(`Refusing to use ${root} as a sandbox workspace: ${why}. ${fix}`, { details: { field: "cwd", cwd: root } });
}

/**
 * Checks that `cwd` may be handed to a sandbox as its project directory and returns its real path
 * (symlinks resolved). Throws `INVALID_REQUEST` saying why and how to allow it when the directory
 * is `/`, the home directory or one of its ancestors, a system directory, a hidden directory of the
 * home directory, a directory holding a protected path, one the caller cannot read and write, or
 * one outside the allowed roots.
 */
export function checkWorkspaceRoot(cwd: string, policy: WorkspaceRootPolicy = {}): string {
  const root = real(cwd);
  const home = real(policy.home ?? homedir());
  const allowed = (policy.allowedRoots ?? []).map(real);
  const project = "Run sandboxed commands from a project directory (for example ~/projects/app)";

  const homeWhy = "your keys, tokens and shell configuration are there";
  if (root === home) refuse(root, `it is your home directory: ${homeWhy}`, `${project}.`);
  if (SHARED_PARENTS.includes(root)) refuse(root, "it is a system-wide directory, not a project", `${project}.`);
  if (within(home, root)) refuse(root, `it contains your home directory: ${homeWhy}`, `${project}.`);
  const tree = SYSTEM_TREES.find((dir) => within(root, dir));
  if (tree) refuse(root, `it is inside the system directory ${tree}`, `${project}.`);
  for (const path of policy.protectedPaths ?? []) {
    const target = real(path);
    if (within(target, root)) {
      refuse(root, `it contains ${target}, which a sandbox must never reach (Stigmer's state or the container engine)`, `${project}.`);
    }
  }
  const explicitlyAllowed = allowed.some((dir) => within(root, dir));
  if (allowed.length > 0 && !explicitlyAllowed) {
    refuse(
      root,
      `it is outside the allowed workspace roots (${allowed.join(", ")})`,
      "Use a directory inside one of them, or add it to sandbox.allowedRoots.",
    );
  }
  const hidden = within(root, home) && root !== home ? root.slice(home.length + 1).split(sep)[0] : undefined;
  if (hidden?.startsWith(".") && !explicitlyAllowed) {
    refuse(
      root,
      `it is inside ~/${hidden}, where programs keep configuration and secrets that the host loads`,
      "If it really is a project, list it in sandbox.allowedRoots (config file) to allow it.",
    );
  }
  try {
    accessSync(root, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch {
    refuse(root, "you cannot read and write it yourself, so a sandbox may not either", "Use a directory you own.");
  }
  return root;
}
