// The one place core talks to tsyringe, the DI container its users chose, through its public API
// only: containers, registration, resolution, disposal and the decorators plugins use.
import "reflect-metadata";
import { type DependencyContainer, type InjectionToken, container as rootContainer } from "tsyringe";
import { PluginLoadError, StigmerError } from "./errors.js";
import type { StigmerPlugin } from "./plugin.js";

export { type DependencyContainer, type InjectionToken, inject, injectable } from "tsyringe";

/** A new container for one executor, a child of tsyringe's global one. */
export function createContainer(): DependencyContainer {
  return rootContainer.createChildContainer();
}

export interface PluginInstance<T> {
  instance: T;
  /** Disposes the plugin's container, and with it the instance. */
  dispose(): Promise<void>;
}

/**
 * Runs a plugin's `register` in a child container of `parent` (after `setup` registered what core
 * gives it) and resolves the class it bound to `token`. Throws `PLUGIN_LOAD_FAILED` with
 * `details.reason` `wrong-shape` (nothing registered, or `check` found it is not the contract) or
 * `setup-failed` (it could not be constructed; a StigmerError it threw, such as `INVALID_CONFIG`,
 * passes as it is).
 */
export function instantiatePlugin<T>(
  parent: DependencyContainer,
  plugin: StigmerPlugin,
  target: { name: string; package: string },
  token: InjectionToken<T>,
  check: (instance: T) => string | undefined,
  setup: (container: DependencyContainer) => void,
): PluginInstance<T> {
  const container = parent.createChildContainer();
  setup(container);
  let instance: T | undefined;
  // The container disposes what it constructed (useClass); an instance made by a factory or given
  // as a value is disposed here too (a plugin's dispose is idempotent by contract).
  const dispose = async () => {
    await Promise.resolve(container.dispose()).catch(() => {});
    const own = instance as { dispose?: () => unknown } | undefined;
    if (typeof own?.dispose === "function") await Promise.resolve(own.dispose()).catch(() => {});
  };
  const fail = (reason: "wrong-shape" | "setup-failed", message: string, cause?: unknown): never => {
    throw new PluginLoadError(`Plugin "${target.name}" could not be set up: ${message}.`, {
      ...(cause === undefined ? {} : { cause }),
      details: { plugin: target.name, package: target.package, reason },
    });
  };
  try {
    plugin.register(container);
    if (!container.isRegistered(token)) {
      fail("wrong-shape", `register() did not register a class for ${plugin.kind === "backend" ? "BackendToken" : "DetectorToken"}`);
    }
    try {
      instance = container.resolve<T>(token);
    } catch (error) {
      if (StigmerError.isInstance(error)) throw error;
      return fail(
        "setup-failed",
        `its class could not be constructed (${(error as Error)?.message ?? String(error)}). A class registered with useClass must be decorated with the injectable and inject that @stigmer/core exports (import { inject, injectable } from "@stigmer/core"), not with another copy of tsyringe; or register it with useFactory: (c) => new MyBackend(c.resolve(LoggerToken), …)`,
        error,
      );
    }
    const problem = check(instance);
    if (problem) fail("wrong-shape", problem);
    return { instance, dispose };
  } catch (error) {
    void dispose();
    if (StigmerError.isInstance(error)) throw error;
    return fail("setup-failed", (error as Error)?.message ?? String(error), error);
  }
}
