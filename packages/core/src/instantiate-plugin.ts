import "reflect-metadata";
import type { DependencyContainer, InjectionToken } from "tsyringe";
import { PluginLoadError, StigmerError } from "./errors.js";
import type { StigmerPlugin } from "./plugin.js";
import { pluginPackage } from "./plugin-loader.js";

export interface PluginInstance<T> {
  instance: T;
  /** Disposes the plugin's container, and with it the instance. */
  dispose(): Promise<void>;
}

// tsyringe keeps what `@injectable()` learnt about a class inside its own module copy, but
// `@inject(token)` records the tokens as Reflect metadata, which reflect-metadata shares between
// copies. A plugin decorated by another copy of tsyringe (its own install, or plain "tsyringe"
// beside our bundled one) is therefore still constructed here, from those tokens.
const INJECTION_TOKENS = "injectionTokens";

type Constructor = new (...args: unknown[]) => unknown;

function constructFromTokens(container: DependencyContainer, Class: Constructor): unknown {
  type Descriptor = { token: InjectionToken<unknown>; multiple?: boolean; isOptional?: boolean; transform?: unknown };
  const tokens = (Reflect.getOwnMetadata(INJECTION_TOKENS, Class) ?? {}) as Record<number, InjectionToken<unknown> | Descriptor>;
  const args = Array.from({ length: Class.length }, (_, index) => {
    const entry = tokens[index];
    if (entry === undefined) {
      throw new Error(`constructor parameter ${index} of ${Class.name} has no @inject(token): plugins must name every dependency`);
    }
    // @inject(token) stores the token itself in some tsyringe versions, a descriptor in others.
    if (typeof entry === "object" && entry !== null && "token" in entry) {
      if (entry.transform !== undefined)
        throw new Error(
          `constructor parameter ${index} of ${Class.name} uses @injectWithTransform, which needs the same tsyringe copy as @stigmer/core`,
        );
      if (entry.isOptional && !container.isRegistered(entry.token, true)) return undefined;
      return entry.multiple ? container.resolveAll(entry.token) : container.resolve(entry.token);
    }
    return container.resolve(entry as InjectionToken<unknown>);
  });
  return new Class(...args);
}

/**
 * Runs a plugin's `register` in a child container of `parent` and resolves the class it bound to
 * `token`. Throws `PLUGIN_LOAD_FAILED` with `details.reason` `wrong-shape` (nothing registered, or
 * not the contract) or `setup-failed` (the constructor threw).
 */
export function instantiatePlugin<T>(
  parent: DependencyContainer,
  plugin: StigmerPlugin,
  name: string,
  token: InjectionToken<T>,
  check: (instance: T) => string | undefined,
  setup: (container: DependencyContainer) => void,
): PluginInstance<T> {
  const container = parent.createChildContainer();
  setup(container);
  const registered = new Map<InjectionToken<unknown>, unknown>();
  const register = container.register.bind(container) as (...args: unknown[]) => DependencyContainer;
  container.register = ((t: InjectionToken<unknown>, provider: unknown, ...rest: unknown[]) => {
    registered.set(t, provider);
    return register(t, provider, ...rest);
  }) as DependencyContainer["register"];

  let manual: { dispose?: () => unknown } | undefined;
  const dispose = async () => {
    await Promise.resolve(container.dispose()).catch(() => {});
    if (typeof manual?.dispose === "function") await Promise.resolve(manual.dispose()).catch(() => {});
  };
  const fail = (reason: "wrong-shape" | "setup-failed", message: string, cause?: unknown): never => {
    throw new PluginLoadError(`Plugin "${name}" could not be set up: ${message}.`, {
      ...(cause === undefined ? {} : { cause }),
      details: { plugin: name, package: pluginPackage(name), reason },
    });
  };

  try {
    plugin.register(container);
    if (!container.isRegistered(token)) {
      fail("wrong-shape", `register() did not register a class for ${plugin.kind === "backend" ? "BackendToken" : "DetectorToken"}`);
    }
    let instance: T;
    try {
      instance = container.resolve<T>(token);
    } catch (error) {
      const provider = registered.get(token) as { useClass?: Constructor } | undefined;
      if (!/TypeInfo not known/.test((error as Error)?.message ?? "") || typeof provider?.useClass !== "function") throw error;
      instance = constructFromTokens(container, provider.useClass) as T;
      manual = instance as { dispose?: () => unknown };
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
