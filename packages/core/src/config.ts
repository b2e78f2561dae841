import { readFileSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { InvalidConfigError } from "./errors.js";
import { redactUrl } from "./host-trust.js";
import { isPluginPath, pluginPackage } from "./plugin-loader.js";
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
    /** `STIGMER_SANDBOX_BACKEND`: plugin that provides the sandbox (`docker`, `daytona`, a package name). */
    backend: string;
    /** `STIGMER_SANDBOX_NETWORK`: `bridge` (network on, package installs need it), `none`, or a network name. */
    network: string;
    /** `STIGMER_SANDBOX_MEMORY`: memory limit in bytes (`512m`, `2g` accepted); 0 for none. */
    memoryBytes: number;
    /** `STIGMER_SANDBOX_CPUS`: CPU limit (fractions allowed); 0 for none. */
    cpus: number;
    /** `STIGMER_SANDBOX_PIDS_LIMIT`: most processes in one sandbox; 0 for none. */
    pidsLimit: number;
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
  /**
   * `MODE=cloud`: the sandbox runs on Daytona unless `STIGMER_SANDBOX_BACKEND` says otherwise, and
   * the mode defaults to `sandbox` (as the Daytona-only runner did) unless `STIGMER_EXECUTION_MODE`
   * or a flag says otherwise. Other `MODE` values are ignored: the name is too generic to reject.
   */
  cloud: boolean;
  /**
   * `DAYTONA_API_KEY`, `DAYTONA_API_URL`, `DAYTONA_TARGET`, `DAYTONA_SNAPSHOT` (a Daytona snapshot
   * to create sandboxes from instead of the sandbox image). The key is a secret: never logged.
   */
  daytona: { apiKey?: string; apiUrl?: string; target?: string; snapshot?: string };
  /** `STIGMER_TIMEOUT` (seconds): default timeout of a command; `undefined` for none. */
  timeoutMs: number | undefined;
  /** `STIGMER_OUTPUT_LIMIT`: bytes of each stream retained in the result (head and tail). */
  outputLimitBytes: number;
  /** `STIGMER_LOG_LEVEL`. */
  logLevel: LogLevel;
  /** Config file `plugins`: options handed to each plugin by name. */
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
   * Receives a warning about the settings that is not an error (today: a `MODE` other than
   * `cloud`, which Stigmer ignores). At most one per process. Default: one line on stderr,
   * `stigmer: warning: …`.
   */
  onWarning?: (message: string) => void;
}

type Source = { kind: "flag" | "env" | "file"; name: string };
type Parser<T> = (raw: unknown, where: Source) => T;

function describe(where: Source, raw: unknown): string {
  const shown = typeof raw === "string" ? raw : JSON.stringify(raw);
  if (where.kind === "flag") return `${where.name}=${shown}`;
  if (where.kind === "env") return `${where.name}=${shown}`;
  return `${where.name} = ${shown}`;
}

function invalid(where: Source, raw: unknown, expected: string): never {
  throw new InvalidConfigError(`${describe(where, raw)} is not valid: ${expected}.`, {
    details: { source: where.kind, name: where.name, value: raw },
  });
}

const oneOf =
  <T extends string>(values: readonly T[], what: string): Parser<T> =>
  (raw, where) => {
    const text = typeof raw === "string" ? raw.trim().toLowerCase() : raw;
    if (typeof text === "string" && (values as readonly string[]).includes(text)) return text as T;
    return invalid(where, raw, `${what} must be one of ${values.join(", ")}`);
  };

const bool: Parser<boolean> = (raw, where) => {
  if (typeof raw === "boolean") return raw;
  if (typeof raw === "string") {
    const t = raw.trim().toLowerCase();
    if (["true", "1", "yes", "on"].includes(t)) return true;
    if (["false", "0", "no", "off"].includes(t)) return false;
  }
  return invalid(where, raw, "use true or false");
};

const number = (raw: unknown): number => {
  if (typeof raw === "number") return raw;
  if (typeof raw === "string" && /^\s*\d+(\.\d+)?\s*$/.test(raw)) return Number(raw);
  return Number.NaN;
};

const wholeSeconds: Parser<number> = (raw, where) => {
  const n = number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 315_360_000) {
    return invalid(where, raw, "use a whole number of seconds, 0 or more (for example 3600)");
  }
  return n;
};

/** Seconds (fractions allowed) to milliseconds; 0 means no timeout. */
export const timeoutSeconds: Parser<number | undefined> = (raw, where) => {
  const n = number(raw);
  const maxSeconds = 2_147_483; // setTimeout's limit
  if (!Number.isFinite(n) || n < 0 || n > maxSeconds) {
    return invalid(where, raw, `use a number of seconds from 0 (no timeout) to ${maxSeconds}, for example 30 or 0.5`);
  }
  return n === 0 ? undefined : Math.max(1, Math.round(n * 1000));
};

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

const memorySize: Parser<number> = (raw, where) => {
  const match =
    typeof raw === "number"
      ? [String(raw), String(raw), ""]
      : typeof raw === "string"
        ? /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw)
        : null;
  const unit = SIZE_UNITS[(match?.[2] ?? "").toLowerCase()];
  const bytes = match && unit !== undefined ? Math.round(Number(match[1]) * unit) : Number.NaN;
  if (!Number.isFinite(bytes) || (bytes !== 0 && bytes < 6 * 1024 ** 2)) {
    return invalid(where, raw, "use a size such as 512m or 2g (at least 6m), or 0 for no limit");
  }
  return bytes;
};

const cpuCount: Parser<number> = (raw, where) => {
  const n = number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 1024) return invalid(where, raw, "use a number of CPUs such as 1, 2 or 0.5, or 0 for no limit");
  return n;
};

const wholeCount: Parser<number> = (raw, where) => {
  const n = number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 4_194_304) return invalid(where, raw, "use a whole number, or 0 for no limit");
  return n;
};

const networkName: Parser<string> = (raw, where) => {
  if (typeof raw === "string" && /^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,127}$/.test(raw.trim())) return raw.trim();
  return invalid(where, raw, "use bridge (network on), none (no network), or the name of a Docker network");
};

const rootList: Parser<string[]> = (raw, where) => {
  const items = typeof raw === "string" ? raw.split(":").filter((p) => p.trim() !== "") : raw;
  if (!Array.isArray(items) || items.some((p) => typeof p !== "string" || !isAbsolute(p.trim()))) {
    return invalid(where, raw, "use absolute directory paths (a JSON array in the config file, ':'-separated in the environment)");
  }
  return items.map((p: string) => {
    try {
      return realpathSync(p.trim());
    } catch {
      return invalid(where, raw, `${p} does not exist`);
    }
  });
};

const syncBytes: Parser<number> = (raw, where) => {
  const n = number(raw);
  if (!Number.isInteger(n) || n < 1024 * 1024) return invalid(where, raw, "use a whole number of bytes, at least 1048576");
  return n;
};

const byteCount: Parser<number> = (raw, where) => {
  const n = number(raw);
  if (!Number.isInteger(n) || n < 1024 || n > 1024 ** 3) {
    return invalid(where, raw, "use a whole number of bytes from 1024 to 1073741824");
  }
  return n;
};

// The Docker reference grammar, simplified: [registry[:port]/]path[:tag][@digest], lowercase path; the first
// component is a registry only when it has a dot or a port or is localhost, as Docker reads it.
const IMAGE_RE =
  /^(?:(?:(?:localhost|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+)(?::[0-9]+)?|[a-zA-Z0-9-]+:[0-9]+)\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export const IMAGE_REF_HINT = "expected an image reference such as python:3.12-slim or registry.example/team/sandbox:v1";

/** True for a well-formed container image reference (`[registry[:port]/]path[:tag][@digest]`). */
export function isImageRef(raw: unknown): raw is string {
  return typeof raw === "string" && raw.length <= 512 && IMAGE_RE.test(raw);
}

function parseImageRef(raw: unknown, where: Source): string {
  const value = typeof raw === "string" ? raw.trim() : raw;
  if (isImageRef(value)) return value;
  return invalid(where, raw, IMAGE_REF_HINT);
}

const pluginName: Parser<string> = (raw, where) => {
  const value = typeof raw === "string" ? raw.trim() : "";
  if (/^(?:@[a-z0-9._~-]+\/)?[a-z0-9._~-]+$/i.test(value) || isPluginPath(value)) return value;
  return invalid(
    where,
    raw,
    "expected a bundled plugin name (local, docker, daytona, rules), an npm package name, or a path to a plugin module (./my-plugin.js)",
  );
};

const text: Parser<string> = (raw, where) => {
  if (typeof raw === "string" && raw.trim() !== "") return raw.trim();
  return invalid(where, raw, "expected a non-empty string");
};

/** `DAYTONA_API_URL`: http(s), and nothing a key could hide in (userinfo, query, fragment); never echoed with one. */
const httpUrl: Parser<string> = (raw, where) => {
  if (typeof raw === "string") {
    const text = raw.trim();
    try {
      const url = new URL(text);
      if (
        (url.protocol === "http:" || url.protocol === "https:") &&
        !url.username &&
        !url.password &&
        !text.includes("?") &&
        !text.includes("#")
      )
        return text.replace(/\/+$/, "");
    } catch {}
  }
  return invalid(
    where,
    typeof raw === "string" ? redactUrl(raw) : raw,
    "expected an http(s) URL without credentials, query or fragment, such as https://app.daytona.io/api (the key goes in DAYTONA_API_KEY)",
  );
};

/** One setting: where it can come from and how it is validated. */
interface Setting {
  path: string;
  env?: string;
  flag?: keyof ConfigFlags;
  flagName?: string;
  file?: string;
  parse: Parser<unknown>;
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
  { path: "sandbox.memoryBytes", env: "STIGMER_SANDBOX_MEMORY", file: "sandbox.memory", parse: memorySize },
  { path: "sandbox.cpus", env: "STIGMER_SANDBOX_CPUS", file: "sandbox.cpus", parse: cpuCount },
  { path: "sandbox.pidsLimit", env: "STIGMER_SANDBOX_PIDS_LIMIT", file: "sandbox.pidsLimit", parse: wholeCount },
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
  { path: "daytona.apiKey", env: "DAYTONA_API_KEY", file: "daytona.apiKey", parse: text },
  { path: "daytona.apiUrl", env: "DAYTONA_API_URL", file: "daytona.apiUrl", parse: httpUrl },
  { path: "daytona.target", env: "DAYTONA_TARGET", file: "daytona.target", parse: text },
  { path: "daytona.snapshot", env: "DAYTONA_SNAPSHOT", file: "daytona.snapshot", parse: text },
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

/** Levenshtein distance (short strings only). */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min((row[j] as number) + 1, (next[j - 1] as number) + 1, (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length] as number;
}

/** Whether the `MODE` warning was given in this process (once is enough: the variable does not change). */
let modeWarned = false;

/**
 * `MODE=cloud` turns cloud mode on. `MODE` is a common name (other tools use `MODE=production`),
 * so any other value is not an error, but it is said once per process that it is ignored: a typo
 * such as `MODE=clod` would otherwise run every command on the host without a word.
 */
function cloudMode(env: Record<string, string | undefined>, onWarning: ((message: string) => void) | undefined): boolean {
  const value = (env.MODE ?? "").trim();
  if (value.toLowerCase() === "cloud") return true;
  if (value !== "" && !modeWarned) {
    modeWarned = true;
    // Shown as given, but one short line: control characters escaped, long values cut.
    const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value).slice(1, -1);
    const typo = editDistance(value.toLowerCase(), "cloud") <= 2 ? " Did you mean MODE=cloud?" : "";
    const message = `MODE=${shown} is ignored: only MODE=cloud means something to Stigmer (Daytona cloud sandboxes); the mode comes from STIGMER_EXECUTION_MODE or --mode.${typo}`;
    if (onWarning) onWarning(message);
    else process.stderr.write(`stigmer: warning: ${message}\n`);
  }
  return false;
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
  const file = readConfigFile(filePath, explicitFile !== undefined, cwd, env) ?? {};

  const cloud = cloudMode(env, options.onWarning);
  const config: StigmerConfig = {
    mode: "local",
    sandbox: {
      image: DEFAULT_SANDBOX_IMAGE,
      autoPull: true,
      cleanup: true,
      ttlSeconds: 3600,
      backend: cloud ? "daytona" : "docker",
      network: "bridge",
      memoryBytes: 2 * 1024 ** 3,
      cpus: 2,
      pidsLimit: 1024,
      workspace: undefined,
      allowedRoots: [],
      allowHostNetwork: false,
      hostCAs: true,
      hostProxy: true,
      keepBackground: false,
      maxSyncBytes: 2 * 1024 ** 3,
    },
    localBackend: "local",
    detector: "rules",
    cloud,
    daytona: {},
    timeoutMs: undefined,
    outputLimitBytes: 1024 * 1024,
    logLevel: options.defaults?.logLevel ?? "info",
    plugins: (file.plugins as StigmerConfig["plugins"] | undefined) ?? {},
    configFile: Object.keys(file).length > 0 ? filePath : undefined,
  };
  const root = config as unknown as Record<string, unknown>;
  let modeGiven = false;

  for (const setting of SETTINGS) {
    const flagValue = setting.flag ? flags[setting.flag] : undefined;
    const envValue = setting.env ? env[setting.env] : undefined;
    const fileValue = setting.file ? getPath(file, setting.file) : undefined;
    let raw: unknown;
    let where: Source;
    if (flagValue !== undefined) {
      raw = flagValue;
      where = { kind: "flag", name: setting.flagName ?? setting.path };
    } else if (envValue !== undefined && envValue !== "") {
      raw = envValue;
      where = { kind: "env", name: setting.env as string };
    } else if (fileValue !== undefined) {
      raw = fileValue;
      where = { kind: "file", name: `${filePath}: ${setting.file}` };
    } else {
      continue;
    }
    setPath(root, setting.path, setting.parse(raw, where));
    if (setting.path === "mode") modeGiven = true;
  }
  if (cloud && !modeGiven) config.mode = "sandbox";
  if (config.sandbox.network === "host" && !config.sandbox.allowHostNetwork) {
    throw new InvalidConfigError(
      "STIGMER_SANDBOX_NETWORK=host gives sandboxed commands the host's network: every service listening on localhost, with no isolation. If you mean it, also set STIGMER_SANDBOX_ALLOW_HOST_NETWORK=true.",
      { details: { name: "STIGMER_SANDBOX_NETWORK", value: "host" } },
    );
  }
  if (pluginPackage(config.sandbox.backend) === pluginPackage(config.localBackend)) {
    throw new InvalidConfigError(
      `The sandbox backend "${config.sandbox.backend}" is the local backend: sandboxed commands would run on the host. Set STIGMER_SANDBOX_BACKEND to a sandbox (docker, daytona or a plugin package), or use --mode=local openly.`,
      { details: { name: "STIGMER_SANDBOX_BACKEND", value: config.sandbox.backend } },
    );
  }
  return config;
}
