import daytonaPlugin from "@stigmer/backend-daytona";
import { resolvePluginOptions, type StigmerConfig } from "@stigmer/core";

/** The daytona plugin's settings (DAYTONA_API_KEY, …) from the config's environment, as core hands them to the plugin. */
export function daytonaSettings(config: StigmerConfig): Record<string, unknown> {
  return resolvePluginOptions(daytonaPlugin, "daytona", "@stigmer/backend-daytona", config).options;
}
