import type { DependencyContainer } from "./di.js";
import type { SettingParser } from "./settings.js";

/** What a plugin provides. Core loads `backend` and `detector` plugins; a later contract may add kinds. */
export type PluginKind = "backend" | "detector";

/**
 * The version of the plugin contract this core implements. Plugins, backends and detectors
 * declare the version they were written against (`specificationVersion: "v1"`); the loader refuses
 * a missing or unknown one with `PLUGIN_LOAD_FAILED` (details.reason `unsupported-version`)
 * instead of failing later in odd places.
 */
export const SPECIFICATION_VERSION = "v1";
/** Every contract version this core can load (today only {@link SPECIFICATION_VERSION}). */
export const SUPPORTED_SPECIFICATION_VERSIONS: readonly string[] = [SPECIFICATION_VERSION];
export type SpecificationVersion = typeof SPECIFICATION_VERSION;

/**
 * One setting a plugin declares. Core reads it, when the plugin loads, from the environment
 * variable `env` (first), else from the config file key `plugins.<name>.<key>` (by the plugin's
 * configured name or its package name), validates it with `parse` (messages name the variable or
 * the key, as for core's own settings), and hands the value to the plugin under `<key>` in its
 * options (`PluginOptionsToken`). A setting given nowhere is left out: the plugin applies its
 * default.
 */
export interface PluginSetting<T = unknown> {
  /** Environment variable that sets it (`ACME_REGION`). Wins over the config file. */
  env?: string;
  /** Validates the raw value; reuse core's parsers (`bool`, `text`, `httpUrl`, `memorySize`, …) or write one with `invalidSetting`. */
  parse: SettingParser<T>;
  /**
   * A secret (API key, token): its value is scrubbed from core's logs, `stigmer doctor` and the
   * messages of errors core reports (`[redacted]`), and never echoed when it is invalid.
   */
  secret?: boolean;
  /** One line for documentation and `stigmer doctor`. */
  description?: string;
}

/** A plugin's settings by option key (the key under `plugins.<name>` in the config file). */
export type PluginSettings = Readonly<Record<string, PluginSetting>>;

/**
 * What a plugin package exports (as `default` or as `plugin`).
 *
 * `register` binds one class to `BackendToken` (kind `backend`) or `DetectorToken` (kind
 * `detector`) in the container it is given — `container.register(BackendToken, { useClass: X })` —
 * and does nothing else: no I/O, no global state. Core gives every plugin its own child container
 * with `ConfigToken`, `LoggerToken` and `PluginOptionsToken` (its options, with its declared
 * `settings` resolved and validated) already registered, resolves the token when the plugin is
 * first needed, and disposes the container (and so the instance) with the executor.
 */
export interface StigmerPlugin {
  /** The contract version the plugin was written against: {@link SPECIFICATION_VERSION}. */
  readonly specificationVersion: SpecificationVersion;
  /** The package's short name, for messages (`"local"`, `"@acme/stigmer-backend-firecracker"`). */
  readonly name: string;
  readonly kind: PluginKind;
  /** The settings core reads and validates for it (environment variables, config file keys, secrets). */
  readonly settings?: PluginSettings;
  register(container: DependencyContainer): void;
}

/**
 * Gives a plugin object its type. The version is written out by the plugin on purpose (not filled
 * in here): it says which contract the plugin was built against, whatever core runs it.
 */
export function definePlugin<T extends StigmerPlugin>(plugin: T): T {
  return plugin;
}
