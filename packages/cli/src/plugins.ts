import { existsSync, realpathSync } from "node:fs";
import { join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { isMissingPackage, PluginLoadError, type PluginModuleLoader, shellQuote } from "@stigmer/core";
import { cliVersion } from "./version.js";

/**
 * The sandbox backends are optional peer dependencies of the CLI: a local-only install does not
 * carry dockerode or the Daytona SDK (and their native build scripts). They load on first use; when
 * one is missing, the command fails with PLUGIN_LOAD_FAILED saying how to install it.
 */
const OPTIONAL_BACKENDS = {
  docker: { pkg: "@stigmer/backend-docker", what: "Sandbox mode with Docker" },
  daytona: { pkg: "@stigmer/backend-daytona", what: "Cloud mode (Daytona)" },
} as const;

type OptionalBackend = keyof typeof OPTIONAL_BACKENDS;

const quote = (word: string): string => (/^[\w@%+=:,./-]+$/.test(word) ? word : shellQuote(word));

/**
 * The command that installs `pkg` where this CLI can import it: beside a global install, or in the
 * project whose node_modules holds the CLI, with the package manager that installed it.
 */
export function installCommand(pkg: string, cliFile: string = fileURLToPath(import.meta.url)): string {
  const spec = `${pkg}@${cliVersion()}`;
  let file = cliFile;
  try {
    file = realpathSync(cliFile);
  } catch {
    // not on disk: keep the given path
  }
  const pnpmStore = file.indexOf(`${sep}node_modules${sep}.pnpm${sep}`);
  if (pnpmStore >= 0) {
    return file.includes(`${sep}pnpm${sep}global${sep}`)
      ? `pnpm add -g ${spec}`
      : `pnpm --dir ${quote(file.slice(0, pnpmStore))} add ${spec}`;
  }
  const at = file.lastIndexOf(`${sep}node_modules${sep}stigmer${sep}`);
  // Not installed from a registry (the monorepo, a link): add it to the workspace.
  if (at < 0) return `pnpm add ${spec}`;
  const root = file.slice(0, at);
  // A project has a package.json beside its node_modules; npm's global prefix (…/lib) has none.
  return existsSync(join(root, "package.json")) ? `npm install --prefix ${quote(root)} ${spec}` : `npm install -g ${spec}`;
}

function optionalBackend(name: OptionalBackend, load: PluginModuleLoader): PluginModuleLoader {
  return async () => {
    try {
      return await load();
    } catch (error) {
      const { pkg, what } = OPTIONAL_BACKENDS[name];
      if (!isMissingPackage(error, pkg)) throw error;
      const install = installCommand(pkg);
      throw new PluginLoadError(`${what} needs ${pkg}, which is not installed with this stigmer. Install it: ${install}`, {
        cause: error,
        details: { plugin: name, package: pkg, reason: "not-installed", install },
      });
    }
  };
}

/**
 * The plugins this CLI ships, imported only when a command needs them: `local` mode never loads
 * the sandbox backends or the detector. Literal imports, so they resolve from the CLI's own
 * dependencies rather than the user's project.
 */
export const bundledPlugins: Record<string, PluginModuleLoader> = {
  local: () => import("@stigmer/backend-local"),
  docker: optionalBackend("docker", () => import("@stigmer/backend-docker")),
  daytona: optionalBackend("daytona", () => import("@stigmer/backend-daytona")),
  rules: () => import("@stigmer/detector-rules"),
};

/** Imports an optional backend's module for commands that use more than its plugin (`stigmer sandbox build`). */
export async function importBackend(name: "docker"): Promise<typeof import("@stigmer/backend-docker")>;
export async function importBackend(name: "daytona"): Promise<typeof import("@stigmer/backend-daytona")>;
export async function importBackend(name: OptionalBackend): Promise<unknown> {
  return bundledPlugins[name]!();
}
