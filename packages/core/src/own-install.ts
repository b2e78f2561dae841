import { existsSync, realpathSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The directory of the package that contains `file`: the nearest parent holding a package.json. */
function packageDir(file: string): string | undefined {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
  }
  return undefined;
}

/**
 * Where Stigmer itself is installed: @stigmer/core's package directory (with its `@stigmer` scope
 * directory, where npm puts the other Stigmer packages) and the running program's package. When
 * Stigmer runs from a project's node_modules, a sandbox must never change these: the host would
 * run the changed code at the next command. Looked up on the first call (every sandboxed command
 * asks), then remembered.
 */
export function stigmerInstallDirs(): readonly string[] {
  installDirs ??= findInstallDirs();
  return installDirs;
}

// Found once: where this module and the running program live does not change while it runs.
let installDirs: readonly string[] | undefined;

function findInstallDirs(): string[] {
  const dirs = new Set<string>();
  const add = (file: string | undefined) => {
    if (!file) return;
    try {
      const dir = packageDir(realpathSync(file));
      if (!dir) return;
      dirs.add(dir);
      if (basename(dirname(dir)) === "@stigmer") dirs.add(dirname(dir));
    } catch {
      // not on disk (bundled into something else): nothing to protect
    }
  };
  add(fileURLToPath(import.meta.url));
  add(process.argv[1]);
  return [...dirs];
}
