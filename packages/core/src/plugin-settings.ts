import type { StigmerConfig } from "./config.js";
import { InvalidConfigError, StigmerError } from "./errors.js";
import { scrubSecrets } from "./logger.js";
import type { PluginSettings, StigmerPlugin } from "./plugin.js";
import { givenSetting } from "./settings.js";

/** A plugin's options with its declared settings applied, and the secret values among them. */
export interface ResolvedPluginOptions {
  /** The config file's `plugins.<name>` section, with each declared setting validated (env first). */
  options: Record<string, unknown>;
  /** Values of settings marked `secret`, to scrub from logs and messages. */
  secrets: string[];
}

/** How a key of a plugin's section is written in messages: `plugins.acme.region`, `plugins["@acme/x"].region`. */
function pluginOptionKey(section: string, key: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(section) ? `plugins.${section}.${key}` : `plugins[${JSON.stringify(section)}].${key}`;
}

/**
 * Applies a plugin's {@link PluginSettings} for the plugin configured as `name` (its package is
 * `pkg`): each setting from its environment variable, else from the config file's `plugins.<name>`
 * (or `plugins.<package>`) section, validated by its parser. Throws `INVALID_CONFIG` naming the
 * variable or the file and key; a secret's value is never echoed. Options the plugin does not
 * declare are passed through as they are (the plugin validates them).
 *
 * Core calls this when the plugin loads (and `stigmer doctor` for every configured plugin); call it
 * yourself to build a plugin's class by hand, as the backends' own tests do.
 */
export function resolvePluginOptions(
  plugin: Pick<StigmerPlugin, "settings">,
  name: string,
  pkg: string,
  config: Pick<StigmerConfig, "plugins" | "configFile" | "env">,
): ResolvedPluginOptions {
  const section = config.plugins[name] !== undefined ? name : pkg;
  const given = config.plugins[section] ?? {};
  const options: Record<string, unknown> = { ...given };
  const secrets: string[] = [];
  const settings: PluginSettings = plugin.settings ?? {};
  const env = config.env ?? process.env;
  for (const [key, setting] of Object.entries(settings)) {
    const found = givenSetting({
      env: setting.env ? { name: setting.env, value: env[setting.env] } : undefined,
      file: { name: `${config.configFile ?? "config"}: ${pluginOptionKey(section, key)}`, value: given[key] },
    });
    if (!found) {
      delete options[key];
      continue;
    }
    const { raw, where } = found;
    try {
      options[key] = setting.parse(raw, where);
    } catch (error) {
      if (!setting.secret || !StigmerError.isInstance(error)) throw error;
      throw new InvalidConfigError(scrubSecrets(error.message, [String(raw)]), { details: { ...error.details, value: "[redacted]" } });
    }
    if (setting.secret && typeof options[key] === "string") secrets.push(options[key] as string);
  }
  return { options, secrets };
}
