import type { DependencyContainer } from "tsyringe";

export type PluginKind = "backend" | "detector";

/**
 * What a plugin package exports (as `default` or as `plugin`).
 *
 * `register` binds one class to `BackendToken` (kind `backend`) or `DetectorToken` (kind
 * `detector`) in the container it is given — `container.register(BackendToken, { useClass: X })` —
 * and does nothing else: no I/O, no global state. Core gives every plugin its own child container
 * with `ConfigToken`, `LoggerToken` and `PluginOptionsToken` already registered, resolves the token
 * when the plugin is first needed, and disposes the container (and so the instance) with the executor.
 */
export interface StigmerPlugin {
  /** The package's short name, for messages (`"docker"`, `"@acme/stigmer-backend-firecracker"`). */
  readonly name: string;
  readonly kind: PluginKind;
  register(container: DependencyContainer): void;
}

/** Identity helper that gives plugin objects their type. */
export function definePlugin<T extends StigmerPlugin>(plugin: T): T {
  return plugin;
}
