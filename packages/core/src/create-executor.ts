import { type ResolveConfigOptions, resolveConfig, type StigmerConfig, type StigmerPreset } from "./config.js";
import { createContainer } from "./di.js";
import { ContainerToken, Executor, PluginLoaderOptionsToken } from "./executor.js";
import { createLogger, type Logger } from "./logger.js";
import type { PluginLoaderOptions } from "./plugin-loader.js";
import { ConfigToken, LoggerToken } from "./tokens.js";

export interface CreateExecutorOptions extends PluginLoaderOptions {
  /** A resolved config, or the options to resolve one (flags, env, cwd). Default: from `process.env`. */
  config?: StigmerConfig | ResolveConfigOptions;
  /**
   * Default: a pino logger on stderr at the configured level. A library stays quiet unless asked:
   * when the config is resolved here, its level defaults to `silent`; `STIGMER_LOG_LEVEL`, the config
   * file's `logLevel`, a `--log-level` flag or `defaults.logLevel` turn logging on. A config you
   * resolved yourself (as the CLI does) is used as it is.
   */
  logger?: Logger;
  /**
   * Short plugin names, default plugins and environment presets, when the config is resolved here
   * (a config you resolved yourself carries its own). Default: core's, which names no sandbox backend.
   */
  preset?: StigmerPreset;
}

function isResolved(config: StigmerConfig | ResolveConfigOptions | undefined): config is StigmerConfig {
  return config !== undefined && "mode" in config && "sandbox" in config && typeof (config as StigmerConfig).sandbox === "object";
}

/**
 * The composition root: validates configuration, then builds an {@link Executor} in its own child
 * DI container with the config, logger and plugin loader registered. Plugins load lazily, on the
 * first command that needs them. Throws `INVALID_CONFIG` for a bad setting.
 */
export function createExecutor(options: CreateExecutorOptions = {}): Executor {
  // A library says nothing on stderr by itself: a warning about the settings goes to the logger
  // (silent unless a level is set), unless the caller takes it.
  const warnings: string[] = [];
  const config = isResolved(options.config)
    ? options.config
    : resolveConfig({
        onWarning: (message) => warnings.push(message),
        ...(options.preset ? { preset: options.preset } : {}),
        ...options.config,
        defaults: { ...options.config?.defaults, logLevel: options.config?.defaults?.logLevel ?? "silent" },
      });
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  for (const message of warnings) logger.warn({}, message);
  const container = createContainer();
  const loaderOptions: PluginLoaderOptions = {
    ...(options.modules ? { modules: options.modules } : {}),
    ...(options.resolveFrom ? { resolveFrom: options.resolveFrom } : {}),
  };
  container.register(ConfigToken, { useValue: config });
  container.register(LoggerToken, { useValue: logger });
  container.register(PluginLoaderOptionsToken, { useValue: loaderOptions });
  container.register(ContainerToken, { useValue: container });
  return container.resolve(Executor);
}
