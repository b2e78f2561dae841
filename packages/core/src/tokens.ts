import type { Backend } from "./backend.js";
import type { StigmerConfig } from "./config.js";
import type { Detector } from "./detector.js";
import type { InjectionToken } from "./di.js";
import type { Logger } from "./logger.js";

// Symbol.for: a plugin built against another copy of @stigmer/core still names the same tokens.

/** The resolved, validated {@link StigmerConfig}. */
export const ConfigToken: InjectionToken<StigmerConfig> = Symbol.for("stigmer.config");
/** The pino logger, already bound to the plugin's name. */
export const LoggerToken: InjectionToken<Logger> = Symbol.for("stigmer.logger");
/** The plugin's own options (config file `plugins.<name>`), or `{}`. */
export const PluginOptionsToken: InjectionToken<Record<string, unknown>> = Symbol.for("stigmer.plugin-options");
/** Where a backend plugin registers its {@link Backend} class. */
export const BackendToken: InjectionToken<Backend> = Symbol.for("stigmer.backend");
/** Where a detector plugin registers its {@link Detector} class. */
export const DetectorToken: InjectionToken<Detector> = Symbol.for("stigmer.detector");
