import { readFileSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { InvalidConfigError } from "./errors.js";
import { isPluginPath, pluginPackage } from "./plugin-loader.js";
import {
  bool,
  byteCount,
  givenSetting,
  invalidSetting,
  oneOf,
  type SettingParser,
  type SettingSource,
  syncBytes,
  timeoutSeconds,
  wholeSeconds,
} from "./settings.js";
import { isInside, requireTrusted } from "./trust.js";
import { EXECUTION_MODES, type ExecutionMode } from "./types.js";
import { WORKSPACE_STRATEGIES, type WorkspaceStrategy } from "./workspace/session.js";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_SANDBOX_IMAGE = "ghcr.io/stigmer/agent-sandbox-basic:latest";
export const DEFAULT_CONFIG_FILE = "stigmer.config.json";

/** The one typed configuration object, validated once at start. */
export interface StigmerConfig {
  /** `STIGMER_EXECUTION_MODE`: the mode for requests that do not name one. */
  mode: ExecutionMode;
  sandbox: {
    /** `STIGMER_SANDBOX_IMAGE`: image for sandbox and auto modes. */
    image: string;
    /** `STIGMER_SANDBOX_AUTO_PULL`: pull the image when it is missing. */
    autoPull: boolean;
    /** `STIGMER_SANDBOX_CLEANUP`: remove sandboxes when the executor is disposed or the process exits. */
    cleanup: boolean;
    /** `STIGMER_SANDBOX_TTL`: seconds an idle sandbox is kept for reuse. */
    ttlSeconds: number;
    /**
     * `STIGMER_SANDBOX_BACKEND`: plugin that provides the sandbox (a short name the preset knows, a
     * package name, or a module path); undefined when neither the settings nor the preset name one.
     */
    backend: string | undefined;
    /** `STIGMER_SANDBOX_NETWORK`: `bridge` (network on, package installs need it), `none`, or a network name. */
    network: string;
    /**
     * `STIGMER_SANDBOX_WORKSPACE`, `--workspace`: how the project reaches the sandbox (`sync`, `mount`,
     * `review`); undefined: the sandbox backend's default.
     */
    workspace: WorkspaceStrategy | undefined;
    /**
     * `sandbox.allowedRoots` (config file), `STIGMER_SANDBOX_ALLOWED_ROOTS` (`:`-separated),
     * `--allowed-root`: when not empty, sandboxed commands may only run in these directories or below.
     */
    allowedRoots: string[];
    /** `STIGMER_SANDBOX_ALLOW_HOST_NETWORK`: the explicit opt-in that `STIGMER_SANDBOX_NETWORK=host` needs. */
    allowHostNetwork: boolean;
    /** `STIGMER_SANDBOX_HOST_CAS`: sandboxes trust the certificate authorities the host trusts (default true). */
    hostCAs: boolean;
    /** `STIGMER_SANDBOX_HOST_PROXY`: sandboxes get the host's proxy settings (`HTTP(S)_PROXY`, `NO_PROXY`; default true). */
    hostProxy: boolean;
    /** `STIGMER_SANDBOX_KEEP_BACKGROUND`: a timed-out or cancelled command's background processes are left running (default false). */
    keepBackground: boolean;
    /** `sandbox.maxSyncBytes`: most bytes one sync brings back from a sandbox (default 2 GiB). */
    maxSyncBytes: number;
  };
  /** Plugin that runs local commands (config file `localBackend`). */
  localBackend: string;
  /** `STIGMER_DETECTOR`: plugin that decides auto mode. */
  detector: string;
  /** What the preset chose from the environment, when it chose something (`MODE=cloud`); for `stigmer doctor`. */
  profile: string | undefined;
  /** Short plugin names and their packages (from the {@link StigmerPreset}). */
  aliases: Readonly<Record<string, string>>;
  /** The environment the settings were read from; plugins' own settings are read from it when they load. */
  env: Readonly<Record<string, string | undefined>>;
  /** `STIGMER_TIMEOUT` (seconds): default timeout of a command; `undefined` for none. */
  timeoutMs: number | undefined;
  /** `STIGMER_OUTPUT_LIMIT`: bytes of each stream retained in the result (head and tail). */
  outputLimitBytes: number;
  /** `STIGMER_LOG_LEVEL`. */
  logLevel: LogLevel;
  /**
   * Config file `plugins`: each plugin's section by name (`plugins.<name>`), handed to the plugin
   * with its declared settings applied (see `PluginSettings`).
   */
  plugins: Record<string, Record<string, unknown>>;
  /** The config file that was read, if any. */
  configFile: string | undefined;
}

/** Values given on the command line (raw strings are validated like environment variables). */
export interface ConfigFlags {
  mode?: string;
  sandboxImage?: string;
  /** `--workspace`. */
  workspace?: string;
  /** `--allowed-root` (repeatable): replaces the configured allowed roots. */
  allowedRoots?: string[];
  timeout?: string | number;
  logLevel?: string;
  config?: string;
}

export interface ResolveConfigOptions {
  flags?: ConfigFlags;
  /** Defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Directory where `stigmer.config.json` is looked for. Defaults to `process.cwd()`. */
  cwd?: string;
  /** Overrides of the built-in defaults (the CLI logs at `warn` by default, a library at `info`). */
  defaults?: { logLevel?: LogLevel };
  /**
   * Receives a warning about the settings that is not an error (the preset's, such as the CLI's
   * word on a `MODE` it ignores). Default: one line on stderr, `stigmer: warning: …`.
   */
  onWarning?: (message: string) => void;
  /** Short names, default plugins and environment presets of the program that ships the plugins. Default {@link CORE_PRESET}. */
  preset?: StigmerPreset;
}

/**
 * The hook for a composition root (the `stigmer` CLI, an embedding application) that ships
 * plugins: their short names, which ones are used when the settings name none, and presets read
 * from the environment. Core itself knows no backend: without a preset's default, sandbox mode
 * needs `STIGMER_SANDBOX_BACKEND` (or `sandbox.backend`).
 */
export interface StigmerPreset {
  /** Short plugin names and the packages they stand for: `{ local: "@stigmer/backend-local" }`. */
  aliases?: Readonly<Record<string, string>>;
  /** Plugins used when the settings name none. */
  defaults?: { sandboxBackend?: string; localBackend?: string; detector?: string };
  /**
   * Config-file keys that moved: old dotted key → where it lives now. A file that still has an old
   * key gets `INVALID_CONFIG` saying where to write it.
   */
  movedKeys?: Readonly<Record<string, string>>;
  /**
   * Reads the environment before the settings, and may choose other defaults from it: the sandbox
   * backend and the mode (explicit settings still win). `profile` names the choice for `stigmer
   * doctor` (`MODE=cloud`). `warn` says something about the environment that is not an error.
   */
  fromEnvironment?(
    env: Readonly<Record<string, string | undefined>>,
    warn: (message: string) => void,
  ): { profile?: string; sandboxBackend?: string; mode?: ExecutionMode } | undefined;
}

/** The library's preset: the local backend and the rules detector by their short names. No sandbox backend. */
export const CORE_PRESET: StigmerPreset = {
  aliases: { local: "@stigmer/backend-local", rules: "@stigmer/detector-rules" },
  defaults: { localBackend: "local", detector: "rules" },
};

const networkName: SettingParser<string> = (raw, where) => {
  if (typeof raw === "string" && /^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,127}$/.test(raw.trim())) return raw.trim();
  return invalidSetting(where, raw, "use bridge (network on), none (no network), or the name of a network the sandbox backend knows");
};

const rootList: SettingParser<string[]> = (raw, where) => {
  const items = typeof raw === "string" ? raw.split(":").filter((p) => p.trim() !== "") : raw;
  if (!Array.isArray(items) || items.some((p) => typeof p !== "string" || !isAbsolute(p.trim()))) {
    return invalidSetting(where, raw, "use absolute directory paths (a JSON array in the config file, ':'-separated in the environment)");
  }
  return items.map((p: string) => {
    try {
      return realpathSync(p.trim());
    } catch {
      return invalidSetting(where, raw, `${p} does not exist`);
    }
  });
};

// The image reference grammar (OCI distribution), simplified: [registry[:port]/]path[:tag][@digest], lowercase path; the first
// component is a registry only when it has a dot or a port or is localhost, as container engines read it.
const IMAGE_RE =
  /^(?:(?:(?:localhost|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+)(?::[0-9]+)?|[a-zA-Z0-9-]+:[0-9]+)\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export const IMAGE_REF_HINT = "expected an image reference such as python:3.12-slim or registry.example/team/sandbox:v1";

/** True for a well-formed container image reference (`[registry[:port]/]path[:tag][@digest]`). */
export function isImageRef(raw: unknown): raw is string {
  return typeof raw === "string" && raw.length <= 512 && IMAGE_RE.test(raw);
}

function parseImageRef(raw: unknown, where: SettingSource): string {
  const value = typeof raw === "string" ? raw.trim() : raw;
  if (isImageRef(value)) return value;
  return invalidSetting(where, raw, IMAGE_REF_HINT);
}

const pluginName: SettingParser<string> = (raw, where) => {
  const value = typeof raw === "string" ? raw.trim() : "";
  if (/^(?:@[a-z0-9._~-]+\/)?[a-z0-9._~-]+$/i.test(value) || isPluginPath(value)) return value;
  return invalidSetting(where, raw, "expected a plugin's short name, an npm package name, or a path to a plugin module (./my-plugin.js)");
};

/** One setting: where it can come from and how it is validated. */
interface Setting {
  path: string;
  env?: string;
  flag?: keyof ConfigFlags;
  flagName?: string;
  file?: string;
  parse: SettingParser<unknown>;
}

const SETTINGS: Setting[] = [
  {
    path: "mode",
    env: "STIGMER_EXECUTION_MODE",
    flag: "mode",
    flagName: "--mode",
    file: "mode",
    parse: oneOf(EXECUTION_MODES, "the execution mode"),
  },
  {
    path: "sandbox.image",
    env: "STIGMER_SANDBOX_IMAGE",
    flag: "sandboxImage",
    flagName: "--sandbox-image",
    file: "sandbox.image",
    parse: parseImageRef,
  },
  { path: "sandbox.autoPull", env: "STIGMER_SANDBOX_AUTO_PULL", file: "sandbox.autoPull", parse: bool },
  { path: "sandbox.cleanup", env: "STIGMER_SANDBOX_CLEANUP", file: "sandbox.cleanup", parse: bool },
  { path: "sandbox.ttlSeconds", env: "STIGMER_SANDBOX_TTL", file: "sandbox.ttl", parse: wholeSeconds },
  { path: "sandbox.backend", env: "STIGMER_SANDBOX_BACKEND", file: "sandbox.backend", parse: pluginName },
  { path: "sandbox.network", env: "STIGMER_SANDBOX_NETWORK", file: "sandbox.network", parse: networkName },
  {
    path: "sandbox.workspace",
    env: "STIGMER_SANDBOX_WORKSPACE",
    flag: "workspace",
    flagName: "--workspace",
    file: "sandbox.workspace",
    parse: oneOf(WORKSPACE_STRATEGIES, "the workspace strategy"),
  },
  {
    path: "sandbox.allowedRoots",
    env: "STIGMER_SANDBOX_ALLOWED_ROOTS",
    flag: "allowedRoots",
    flagName: "--allowed-root",
    file: "sandbox.allowedRoots",
    parse: rootList,
  },
  { path: "sandbox.allowHostNetwork", env: "STIGMER_SANDBOX_ALLOW_HOST_NETWORK", file: "sandbox.allowHostNetwork", parse: bool },
  { path: "sandbox.hostCAs", env: "STIGMER_SANDBOX_HOST_CAS", file: "sandbox.hostCAs", parse: bool },
  { path: "sandbox.hostProxy", env: "STIGMER_SANDBOX_HOST_PROXY", file: "sandbox.hostProxy", parse: bool },
  { path: "sandbox.keepBackground", env: "STIGMER_SANDBOX_KEEP_BACKGROUND", file: "sandbox.keepBackground", parse: bool },
  { path: "sandbox.maxSyncBytes", env: "STIGMER_SANDBOX_MAX_SYNC_BYTES", file: "sandbox.maxSyncBytes", parse: syncBytes },
  { path: "localBackend", file: "localBackend", parse: pluginName },
  { path: "detector", env: "STIGMER_DETECTOR", file: "detector", parse: pluginName },
  { path: "timeoutMs", env: "STIGMER_TIMEOUT", flag: "timeout", flagName: "--timeout", file: "timeout", parse: timeoutSeconds },
  { path: "outputLimitBytes", env: "STIGMER_OUTPUT_LIMIT", file: "outputLimit", parse: byteCount },
  {
    path: "logLevel",
    env: "STIGMER_LOG_LEVEL",
    flag: "logLevel",
    flagName: "--log-level",
    file: "logLevel",
    parse: oneOf(LOG_LEVELS, "the log level"),
  },
];

const FILE_KEYS = new Set([...SETTINGS.flatMap((s) => (s.file ? [s.file] : [])), "plugins"]);

function getPath(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur = obj;
  for (const part of parts.slice(0, -1)) cur = cur[part] as Record<string, unknown>;
  cur[parts[parts.length - 1] as string] = value;
}

/**
 * True when a config file must be trusted before it is read: the one found in the current
 * directory always (it is a project's, and a sandboxed command may have written it), and a named
 * one that lies inside the current directory, or that someone else owns or may write.
 */
function needsTrust(path: string, explicit: boolean, cwd: string): boolean {
  if (!explicit) return true;
  try {
    const info = statSync(path);
    const uid = process.getuid?.();
    if ((uid !== undefined && info.uid !== uid && info.uid !== 0) || (info.mode & 0o022) !== 0) return true;
    return isInside(realpathSync(path), realpathSync(cwd));
  } catch {
    return true;
  }
}

function readConfigFile(
  path: string,
  explicit: boolean,
  cwd: string,
  env: Record<string, string | undefined>,
  movedKeys: Readonly<Record<string, string>>,
): Record<string, unknown> | undefined {
  let body: string;
  try {
    if (!statSync(path).isFile()) throw new Error("not a file");
    body = readFileSync(path, "utf8");
  } catch (cause) {
    if (!explicit) return undefined;
    throw new InvalidConfigError(`Config file ${path} cannot be read: check the path given by --config or STIGMER_CONFIG.`, { cause });
  }
  if (needsTrust(path, explicit, cwd)) requireTrusted(path, body, "Config file", env);
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (cause) {
    throw new InvalidConfigError(`Config file ${path} is not valid JSON: ${(cause as Error).message}.`, { cause });
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new InvalidConfigError(`Config file ${path} must hold a JSON object.`);
  }
  const record = data as Record<string, unknown>;
  const check = (obj: Record<string, unknown>, prefix: string) => {
    for (const key of Object.keys(obj)) {
      const full = prefix + key;
      const value = obj[key];
      if (FILE_KEYS.has(full)) continue;
      const isSection = [...FILE_KEYS].some((k) => k.startsWith(`${full}.`));
      if (isSection && typeof value === "object" && value !== null && !Array.isArray(value)) {
        check(value as Record<string, unknown>, `${full}.`);
        continue;
      }
      // A key that moved (the preset says where): name the first one exactly, inside a section too.
      const inside =
        typeof value === "object" && value !== null && !Array.isArray(value) ? Object.keys(value).map((k) => `${full}.${k}`) : [];
      const old = [full, ...inside].find((k) => Object.hasOwn(movedKeys, k));
      if (old !== undefined) {
        throw new InvalidConfigError(
          `Config file ${path}: the key "${old}" has moved: write it as "${movedKeys[old]}" (environment variables keep their names).`,
          { details: { file: path, key: old, movedTo: movedKeys[old] } },
        );
      }
      throw new InvalidConfigError(`Config file ${path}: unknown key "${full}". Known keys: ${[...FILE_KEYS].join(", ")}.`, {
        details: { file: path, key: full },
      });
    }
  };
  check(record, "");
  const plugins = record.plugins;
  if (plugins !== undefined && (typeof plugins !== "object" || plugins === null || Array.isArray(plugins))) {
    throw new InvalidConfigError(`Config file ${path}: "plugins" must map plugin names to option objects.`);
  }
  return record;
}

/**
 * Builds the configuration from, in order of precedence: command-line flags, environment
 * variables, the config file (`--config`, `STIGMER_CONFIG`, or `./stigmer.config.json`), defaults.
 * Throws `INVALID_CONFIG` naming the flag, variable or key, the value, and what is accepted.
 */
export function resolveConfig(options: ResolveConfigOptions = {}): StigmerConfig {
  const env = options.env ?? process.env;
  const flags = options.flags ?? {};
  const cwd = options.cwd ?? process.cwd();

  const explicitFile = flags.config ?? env.STIGMER_CONFIG;
  const filePath = resolve(cwd, explicitFile ?? DEFAULT_CONFIG_FILE);
  const preset = options.preset ?? CORE_PRESET;
  const file = readConfigFile(filePath, explicitFile !== undefined, cwd, env, preset.movedKeys ?? {}) ?? {};

  const warn = options.onWarning ?? ((message: string) => void process.stderr.write(`stigmer: warning: ${message}\n`));
  const chosen = preset.fromEnvironment?.(env, warn) ?? {};
  const aliases = preset.aliases ?? {};
  const config: StigmerConfig = {
    mode: chosen.mode ?? "local",
    sandbox: {
      image: DEFAULT_SANDBOX_IMAGE,
      autoPull: true,
      cleanup: true,
      ttlSeconds: 3600,
      backend: chosen.sandboxBackend ?? preset.defaults?.sandboxBackend,
      network: "bridge",
      workspace: undefined,
      allowedRoots: [],
      allowHostNetwork: false,
      hostCAs: true,
      hostProxy: true,
      keepBackground: false,
      maxSyncBytes: 2 * 1024 ** 3,
    },
    localBackend: preset.defaults?.localBackend ?? "local",
    detector: preset.defaults?.detector ?? "rules",
    profile: chosen.profile,
    aliases,
    env,
    timeoutMs: undefined,
    outputLimitBytes: 1024 * 1024,
    logLevel: options.defaults?.logLevel ?? "info",
    plugins: (file.plugins as StigmerConfig["plugins"] | undefined) ?? {},
    configFile: Object.keys(file).length > 0 ? filePath : undefined,
  };
  const root = config as unknown as Record<string, unknown>;

  for (const setting of SETTINGS) {
    const given = givenSetting({
      flag: setting.flag ? { name: setting.flagName ?? setting.path, value: flags[setting.flag] } : undefined,
      env: setting.env ? { name: setting.env, value: env[setting.env] } : undefined,
      file: setting.file ? { name: `${filePath}: ${setting.file}`, value: getPath(file, setting.file) } : undefined,
    });
    if (given) setPath(root, setting.path, setting.parse(given.raw, given.where));
  }
  if (config.sandbox.network === "host" && !config.sandbox.allowHostNetwork) {
    throw new InvalidConfigError(
      "STIGMER_SANDBOX_NETWORK=host gives sandboxed commands the host's network: every service listening on localhost, with no isolation. If you mean it, also set STIGMER_SANDBOX_ALLOW_HOST_NETWORK=true.",
      { details: { name: "STIGMER_SANDBOX_NETWORK", value: "host" } },
    );
  }
  const { backend } = config.sandbox;
  if (backend !== undefined && pluginPackage(backend, aliases) === pluginPackage(config.localBackend, aliases)) {
    throw new InvalidConfigError(
      `The sandbox backend "${backend}" is the local backend: sandboxed commands would run on the host. Set STIGMER_SANDBOX_BACKEND to a sandbox backend plugin, or use --mode=local openly.`,
      { details: { name: "STIGMER_SANDBOX_BACKEND", value: backend } },
    );
  }
  return config;
}
