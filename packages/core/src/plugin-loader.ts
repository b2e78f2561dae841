import { existsSync, readFileSync, realpathSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PluginLoadError, StigmerError } from "./errors.js";
import { type PluginKind, SPECIFICATION_VERSION, type StigmerPlugin, SUPPORTED_SPECIFICATION_VERSIONS } from "./plugin.js";
import { isInside, requireTrusted } from "./trust.js";

/** Imports a plugin module. Given by embedders (the CLI) so bundlers see the import. */
export type PluginModuleLoader = () => Promise<unknown>;

export interface PluginLoaderOptions {
  /** Short plugin names and their packages (a preset's `aliases`; `createExecutor` takes them from the config). */
  aliases?: Readonly<Record<string, string>>;
  /** Plugin modules by name or package name, tried before resolving packages from disk. */
  modules?: Readonly<Record<string, PluginModuleLoader | StigmerPlugin>>;
  /**
   * Files or directories that package names are resolved from, in order (like pino's transports,
   * relative to the caller). Always followed by @stigmer/core's own location, then the current
   * directory. A module found inside the current directory (a project, which a sandboxed command
   * may have written) is loaded only once the user trusted its content (`stigmer trust`).
   */
  resolveFrom?: ReadonlyArray<string | URL>;
}

/** True for plugin names that are module paths (`./x.js`, `../x`, `/abs/x.js`, `file:…`), for local development. */
export function isPluginPath(name: string): boolean {
  return /^(?:\.{1,2}\/|\/|file:)/.test(name) && !name.includes("\0");
}

function pluginPathUrl(name: string): string {
  const path = name.startsWith("file:") ? fileURLToPath(name) : resolvePath(process.cwd(), name);
  if (!existsSync(path)) {
    throw new PluginLoadError(`Plugin module ${path} does not exist: check the path (relative paths start from the current directory).`, {
      details: { plugin: name, package: name, reason: "not-installed" },
    });
  }
  return pathToFileURL(path).href;
}

/** A module inside the current directory loads only when its content is trusted (it may come from a sandbox). */
function requireTrustedIfInProject(url: string): void {
  if (!url.startsWith("file:")) return;
  let path: string;
  let cwd: string;
  try {
    path = realpathSync(fileURLToPath(url));
    cwd = realpathSync(process.cwd());
  } catch {
    return;
  }
  if (isInside(path, cwd)) requireTrusted(path, readFileSync(path), "Plugin module");
}

/**
 * The files that loading these plugin names would take from inside `cwd` (and so need trust):
 * plugin paths, and packages found only through the current directory. For `stigmer trust`.
 */
export async function projectPluginFiles(names: readonly string[], options: PluginLoaderOptions = {}): Promise<string[]> {
  const cwd = process.cwd();
  const files: string[] = [];
  for (const name of new Set(names)) {
    if (options.aliases?.[name] || options.modules?.[name]) continue;
    let url: string | undefined;
    try {
      if (isPluginPath(name)) url = pluginPathUrl(name);
      else {
        const found = await resolvePackage(name, [...(options.resolveFrom ?? []), import.meta.url, cwd]);
        if (found?.base === cwd) url = found.url;
      }
    } catch {
      continue;
    }
    if (!url?.startsWith("file:")) continue;
    const path = realpathSync(fileURLToPath(url));
    if (isInside(path, realpathSync(cwd))) files.push(path);
  }
  return files;
}

/** The package a plugin name stands for: its alias's package, else the name itself. */
export function pluginPackage(name: string, aliases: Readonly<Record<string, string>> = {}): string {
  return Object.hasOwn(aliases, name) ? (aliases[name] as string) : name;
}

/**
 * True when `error` says that the package `pkg` itself cannot be found (not one of its own
 * dependencies): `import("pkg")` of a package that is not installed.
 */
export function isMissingPackage(error: unknown, pkg: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") return false;
  return typeof message === "string" && (message.includes(`'${pkg}'`) || message.includes(`"${pkg}"`));
}

function notInstalled(name: string, pkg: string, cause?: unknown): InstanceType<typeof PluginLoadError> {
  return new PluginLoadError(
    `Plugin package "${pkg}" is not installed: add it beside @stigmer/core (npm install ${pkg}, or pnpm add ${pkg}), or change the setting that names "${name}".`,
    { ...(cause === undefined ? {} : { cause }), details: { plugin: name, package: pkg, reason: "not-installed" } },
  );
}

/** Plugin-shaped, of any contract version and kind: the version is checked next, then the kind. */
function isPlugin(value: unknown): value is StigmerPlugin {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === "string" && typeof v.kind === "string" && typeof v.register === "function";
}

/**
 * Refuses a contract version this core does not implement: `PLUGIN_LOAD_FAILED` with
 * `details.reason` `unsupported-version`, naming the plugin's version and core's. For plugins,
 * and for the backends and detectors they register (`what` says which).
 */
export function checkSpecificationVersion(version: unknown, what: string, details: { plugin: string; package: string }): void {
  if (typeof version === "string" && SUPPORTED_SPECIFICATION_VERSIONS.includes(version)) return;
  const theirs = version === undefined ? "no specificationVersion" : `specificationVersion ${JSON.stringify(version)}`;
  throw new PluginLoadError(
    `${what} declares ${theirs}, but this @stigmer/core implements the plugin contract ${SUPPORTED_SPECIFICATION_VERSIONS.join(", ")}: install a version of "${details.package}" written for contract ${SPECIFICATION_VERSION} (or a @stigmer/core that supports its version), and declare specificationVersion: "${SPECIFICATION_VERSION}" in a plugin you write (see docs/custom-backend.md).`,
    {
      details: {
        ...details,
        reason: "unsupported-version",
        specificationVersion: version ?? null,
        supported: [...SUPPORTED_SPECIFICATION_VERSIONS],
      },
    },
  );
}

function unwrap(mod: unknown): unknown {
  let current = mod;
  // ESM default, CommonJS default-in-default, or a named `plugin` export.
  for (let i = 0; i < 3 && typeof current === "object" && current !== null && !isPlugin(current); i++) {
    const record = current as Record<string, unknown>;
    current = record.default ?? record.plugin;
  }
  return current;
}

function toBaseUrl(from: string | URL): string {
  if (from instanceof URL) return from.href;
  if (from.startsWith("file:")) return from;
  // A directory must end with a slash to be a resolution base.
  return pathToFileURL(from.endsWith("/") ? from : `${from}/`).href;
}

async function resolvePackage(pkg: string, bases: ReadonlyArray<string | URL>): Promise<{ url: string; base: string | URL } | undefined> {
  // Only needed for plugins named by package; kept off the start-up path of everything else.
  const { resolve: resolveModule } = await import("import-meta-resolve");
  for (const base of bases) {
    try {
      return { url: resolveModule(pkg, toBaseUrl(base)), base };
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== "ERR_MODULE_NOT_FOUND" && code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw error;
    }
  }
  return undefined;
}

/**
 * Loads the plugin named `name` (a bundled short name or an npm package name) and checks that it
 * is a plugin of the expected contract version and kind. Throws `PLUGIN_LOAD_FAILED` (details.reason:
 * `not-installed`, `import-failed`, `unsupported-version` or `wrong-shape`) with a message that says what to do.
 */
export async function loadPlugin(name: string, kind: PluginKind, options: PluginLoaderOptions = {}): Promise<StigmerPlugin> {
  const pkg = pluginPackage(name, options.aliases);
  const given = options.modules?.[name] ?? options.modules?.[pkg];
  let mod: unknown;
  if (given !== undefined && isPlugin(given)) {
    mod = given;
  } else {
    try {
      if (given !== undefined) {
        mod = await given();
      } else {
        const cwd = process.cwd();
        const bases = [...(options.resolveFrom ?? []), import.meta.url, cwd];
        const found = isPluginPath(name) ? { url: pluginPathUrl(name), base: cwd } : await resolvePackage(pkg, bases);
        // What the embedder pointed at (resolveFrom) or what sits beside core is theirs; what is
        // found through the current directory may have come from a sandbox.
        if (found?.base === cwd) requireTrustedIfInProject(found.url);
        const url = found?.url;
        if (url === undefined) throw notInstalled(name, pkg);
        mod = await import(url);
      }
    } catch (error) {
      if (PluginLoadError.isInstance(error) || StigmerError.isInstance(error)) throw error;
      if (isMissingPackage(error, pkg)) throw notInstalled(name, pkg, error);
      throw new PluginLoadError(`Plugin package "${pkg}" failed to load: ${(error as Error)?.message ?? String(error)}.`, {
        cause: error,
        details: { plugin: name, package: pkg, reason: "import-failed" },
      });
    }
  }
  const plugin = unwrap(mod);
  if (!isPlugin(plugin)) {
    throw new PluginLoadError(
      `Package "${pkg}" does not export a Stigmer plugin: its default export must be { specificationVersion: "${SPECIFICATION_VERSION}", name, kind: "backend" | "detector", register(container) } (see docs/custom-backend.md).`,
      { details: { plugin: name, package: pkg, reason: "wrong-shape" } },
    );
  }
  checkSpecificationVersion(plugin.specificationVersion, `Plugin "${pkg}"`, { plugin: name, package: pkg });
  if (plugin.kind !== kind) {
    throw new PluginLoadError(`Package "${pkg}" is a ${plugin.kind} plugin, but it is configured as a ${kind}.`, {
      details: { plugin: name, package: pkg, reason: "wrong-shape" },
    });
  }
  return plugin;
}
