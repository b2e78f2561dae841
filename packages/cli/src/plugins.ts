import type { PluginModuleLoader } from "@stigmer/core";

/**
 * The plugins this CLI ships, imported only when a command needs them: `local` mode never loads
 * the sandbox backends or the detector. Literal imports, so they resolve from the CLI's own
 * dependencies rather than the user's project.
 */
export const bundledPlugins: Record<string, PluginModuleLoader> = {
  local: () => import("@stigmer/backend-local"),
  docker: () => import("@stigmer/backend-docker"),
  daytona: () => import("@stigmer/backend-daytona"),
  rules: () => import("@stigmer/detector-rules"),
};
