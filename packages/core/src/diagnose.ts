import type { BackendHealth } from "./backend.js";
import type { StigmerConfig } from "./config.js";
import { ErrorCode, StigmerError } from "./errors.js";
import type { Executor } from "./executor.js";
import { scrubSecrets } from "./logger.js";
import { pluginPackage } from "./plugin-loader.js";

/** One line of `stigmer doctor` and of the server's `GET /v1/health`. */
export interface DiagnosisCheck {
  /**
   * Stable id: `node`, `config`, `sandbox-backend`, then the sandbox backend's own named checks
   * (`HealthCheck.name`), `sandbox-environment`, `detector`.
   */
  id: string;
  /** `fail`: something the configured mode needs is broken; `warn`: works, with a caveat; `skip`: not applicable. */
  status: "ok" | "warn" | "fail" | "skip";
  /** One line: what was checked and what was found. Never holds a secret. */
  message: string;
  /** When not ok: exactly what to do. */
  fix?: string;
  details?: Record<string, unknown>;
}

export interface DiagnoseInput {
  /** The resolved configuration; absent when it could not be resolved (then pass `configError`). */
  config?: StigmerConfig;
  /** What `resolveConfig` threw. */
  configError?: unknown;
  /** An executor built from `config`; its sandbox backend and detector are loaded to check them. */
  executor?: Executor;
  /** Stigmer's own version, reported in the `node` check. */
  version?: string;
  /** Longest time one check may take (ms). Default 6000; an unreachable engine or API never hangs the diagnosis. */
  timeoutMs?: number;
}

/** The Node.js version the packages declare in `engines`. */
export const MIN_NODE_VERSION = "20.16.0";
const DEFAULT_CHECK_TIMEOUT_MS = 6000;

class CheckTimeout extends Error {}

/** Resolves with `task`, or rejects with a CheckTimeout after `ms` (the task is left to finish on its own). */
function bounded<T>(task: () => Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeout(`no answer within ${Math.round(ms / 100) / 10} s`)), ms);
    timer.unref?.();
  });
  const run = Promise.resolve().then(task);
  run.catch(() => {});
  return Promise.race([run, timeout]).finally(() => clearTimeout(timer));
}

function messageOf(error: unknown): string {
  return (error as Error)?.message ?? String(error);
}

function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, "").split(".").map(Number);
  const pb = b.replace(/^v/, "").split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function checkNode(version: string | undefined): DiagnosisCheck {
  const node = process.versions.node;
  const wanted = MIN_NODE_VERSION.replace(/\.0$/, "");
  const details = { node, required: `>=${wanted}`, ...(version ? { stigmer: version } : {}) };
  if (compareVersions(node, MIN_NODE_VERSION) >= 0) {
    return { id: "node", status: "ok", message: `Node.js v${node} (needs ≥ ${wanted})`, details };
  }
  return {
    id: "node",
    status: "fail",
    message: `Node.js v${node} is too old: Stigmer needs ≥ ${wanted}`,
    fix: `Install Node.js ${wanted} or newer (Node 20 LTS or 22 LTS), for example with nvm: nvm install 20 && nvm use 20.`,
    details,
  };
}

function checkConfig(config: StigmerConfig | undefined, configError: unknown): DiagnosisCheck {
  if (configError !== undefined || !config) {
    const known = StigmerError.isInstance(configError);
    const name = known && typeof configError.details.name === "string" ? configError.details.name : undefined;
    const file = known && typeof configError.details.file === "string" ? configError.details.file : undefined;
    const message =
      configError === undefined
        ? "No configuration was given to check."
        : known
          ? configError.message
          : `Unexpected failure: ${messageOf(configError)}`;
    const fix = name
      ? `Fix ${name}: give it one of the accepted values the message lists, or unset it to use the default.`
      : file
        ? `Fix the config file ${file} as the message says.`
        : known && configError.code === ErrorCode.INVALID_CONFIG
          ? "Fix the setting the message names (flag, environment variable or config file key)."
          : "Check the configuration (flags, environment variables and the config file).";
    return {
      id: "config",
      status: "fail",
      message,
      fix,
      details: { ...(known ? { code: configError.code } : {}), ...(name ? { name } : {}), ...(file ? { file } : {}) },
    };
  }
  const parts = [
    `mode ${config.mode}`,
    `sandbox backend ${config.sandbox.backend ?? "none"}${config.profile ? ` (${config.profile})` : ""}`,
    config.configFile ? `config file ${config.configFile}` : "no config file (environment and defaults)",
  ];
  return {
    id: "config",
    status: "ok",
    message: `Configuration is valid: ${parts.join(", ")}`,
    details: {
      mode: config.mode,
      sandboxBackend: config.sandbox.backend ?? null,
      sandboxImage: config.sandbox.image,
      detector: config.detector,
      profile: config.profile ?? null,
      configFile: config.configFile ?? null,
    },
  };
}

interface BackendOutcome {
  check: DiagnosisCheck;
  health?: BackendHealth;
  /** The backend's own named checks, as lines. */
  own?: DiagnosisCheck[];
}

/** What to do about a sandbox backend that cannot be loaded, from the error. */
function loadFix(config: StigmerConfig, name: string, error: unknown): string {
  if (StigmerError.isInstance(error)) {
    // A plugin's error may say exactly what to do.
    if (typeof error.details.fix === "string") return error.details.fix;
    if (error.code === ErrorCode.INVALID_CONFIG) {
      const setting = typeof error.details.name === "string" ? error.details.name : undefined;
      return setting ? `Fix ${setting} as the message says.` : "Fix the setting the message names.";
    }
    if (error.code === ErrorCode.PLUGIN_LOAD_FAILED || error.code === ErrorCode.SANDBOX_UNAVAILABLE) {
      if (error.details.reason === "unsupported-version")
        return "Install a version of the plugin written for this Stigmer's plugin contract.";
      const install =
        typeof error.details.install === "string" ? error.details.install : `npm install ${pluginPackage(name, config.aliases)}`;
      return `Install the sandbox backend: ${install} (or set STIGMER_SANDBOX_BACKEND to another sandbox backend).`;
    }
  }
  return `See the ${pluginPackage(name, config.aliases)} documentation: the message above is its own.`;
}

async function checkSandboxBackend(config: StigmerConfig, executor: Executor, timeoutMs: number): Promise<BackendOutcome> {
  const name = config.sandbox.backend;
  // Local mode never uses the sandbox: a broken one is worth knowing about, not a failure.
  const needed = config.mode !== "local";
  const bad: DiagnosisCheck["status"] = needed ? "fail" : "warn";
  const unneeded = needed ? "" : ` (mode local does not use it: commands still run on the host)`;
  if (name === undefined) {
    return {
      check: {
        id: "sandbox-backend",
        status: bad,
        message: `No sandbox backend is configured${unneeded}`,
        fix: "Set STIGMER_SANDBOX_BACKEND (or sandbox.backend in the config file) to a sandbox backend plugin's package name.",
        details: { backend: null, needed },
      },
    };
  }
  let health: BackendHealth;
  try {
    health = await bounded(async () => {
      const backend = await executor.backend("sandbox");
      if (typeof backend.health !== "function")
        return { ok: true, message: `The sandbox backend "${name}" loads (it has no health check).` };
      return backend.health();
    }, timeoutMs);
  } catch (error) {
    const scrub = (text: string) => scrubSecrets(text, executor.knownSecrets());
    if (error instanceof CheckTimeout) {
      return {
        check: {
          id: "sandbox-backend",
          status: bad,
          message: `The sandbox backend "${name}" gave ${error.message}${unneeded}`,
          fix: `Check that what the ${pluginPackage(name, config.aliases)} backend connects to answers (its service, your network and proxy), then run stigmer doctor again.`,
          details: { backend: name, needed, timedOut: true },
        },
      };
    }
    return {
      check: {
        id: "sandbox-backend",
        status: bad,
        message: `${scrub(messageOf(error))}${unneeded}`,
        fix: loadFix(config, name, error),
        details: { backend: name, needed, ...(StigmerError.isInstance(error) ? { code: error.code } : {}) },
      },
    };
  }
  // Read after the health check: the backend's secrets are known once it has loaded.
  const scrub = (text: string) => scrubSecrets(text, executor.knownSecrets());
  const own = (health.checks ?? []).map(
    (c): DiagnosisCheck => ({
      id: c.name,
      status: c.ok ? (c.status ?? "ok") : bad,
      message: `${scrub(c.message)}${c.ok ? "" : unneeded}`,
      ...(c.fix && (!c.ok || c.status === "warn") ? { fix: scrub(c.fix) } : {}),
      ...(c.details ? { details: c.details } : {}),
    }),
  );
  const details = { backend: name, needed, ...health.details };
  const message = scrub(health.message);
  if (health.ok) return { check: { id: "sandbox-backend", status: "ok", message, details }, health, own };
  return {
    check: {
      id: "sandbox-backend",
      status: bad,
      message: `${message}${unneeded}`,
      fix: health.fix ? scrub(health.fix) : `See the ${pluginPackage(name, config.aliases)} documentation: the message above is its own.`,
      details,
    },
    health,
    own,
  };
}

/**
 * What sandboxes get from the host, as the sandbox backend reports it in `health().details.sandbox`
 * (`network`, `workspace`, `hostCAs: {enabled, certificates, sources}`, `hostProxy: {enabled,
 * variables}` with credentials already redacted). Host networking is a warning: no isolation.
 */
function checkSandboxEnvironment(config: StigmerConfig, outcome: BackendOutcome | undefined): DiagnosisCheck {
  const network = config.sandbox.network;
  const hostNetwork =
    network === "host"
      ? "STIGMER_SANDBOX_NETWORK=host: sandboxed commands share the host's network and reach every service listening on it, localhost included"
      : undefined;
  const reported = outcome?.health?.details?.sandbox as
    | {
        workspace?: string;
        hostCAs?: { enabled?: boolean; certificates?: number; sources?: string[] };
        hostProxy?: { enabled?: boolean; variables?: Record<string, string> };
      }
    | undefined;
  const parts: string[] = [`network ${network}`];
  if (reported?.workspace) parts.push(`workspace ${reported.workspace}`);
  const cas = reported?.hostCAs;
  if (cas) {
    parts.push(
      cas.enabled
        ? `the host's ${cas.certificates ?? 0} CA certificates (${(cas.sources ?? []).join(", ") || "none found"})`
        : "no host CAs (STIGMER_SANDBOX_HOST_CAS=false)",
    );
  }
  const proxy = reported?.hostProxy;
  if (proxy) {
    const vars = Object.entries(proxy.variables ?? {}).map(([k, v]) => `${k}=${v}`);
    parts.push(
      proxy.enabled
        ? vars.length > 0
          ? `proxy ${vars.join(", ")}`
          : "no proxy set on the host"
        : "no host proxy (STIGMER_SANDBOX_HOST_PROXY=false)",
    );
  }
  const message = `Sandboxes get: ${parts.join("; ")}`;
  const details = { network, ...(reported ?? {}) };
  if (hostNetwork) {
    return {
      id: "sandbox-environment",
      status: "warn",
      message: `${hostNetwork}. ${message}`,
      fix: "Unset STIGMER_SANDBOX_NETWORK (bridge) or use none, unless you need the host's network.",
      details,
    };
  }
  return { id: "sandbox-environment", status: "ok", message, details };
}

async function checkDetector(config: StigmerConfig, executor: Executor, timeoutMs: number): Promise<DiagnosisCheck> {
  const name = config.detector;
  const pkg = pluginPackage(name, config.aliases);
  const label = name === pkg ? `"${name}"` : `"${name}" (${pkg})`;
  const bad: DiagnosisCheck["status"] = config.mode === "auto" ? "fail" : "warn";
  const unneeded = config.mode === "auto" ? "" : ` (only auto mode and stigmer detect use it)`;
  const fix = `Install (or reinstall) ${pkg}, or set STIGMER_DETECTOR to a working detector.`;
  try {
    const decision = await bounded(() => executor.detect("ls"), timeoutMs);
    if (decision.rules.includes("detector-error")) {
      return { id: "detector", status: bad, message: `${decision.reason}${unneeded}`, fix, details: { detector: name } };
    }
    return {
      id: "detector",
      status: "ok",
      message: `Detector ${label} loads and answers: ls → ${decision.target} (${decision.rules.join(", ")})`,
      details: { detector: name, target: decision.target, rules: decision.rules },
    };
  } catch (error) {
    const why = error instanceof CheckTimeout ? `gave ${error.message}` : `failed: ${messageOf(error)}`;
    return { id: "detector", status: bad, message: `Detector ${label} ${why}${unneeded}`, fix, details: { detector: name } };
  }
}

/**
 * Checks the setup, one {@link DiagnosisCheck} each: `node`, `config` (core's settings, then every
 * configured plugin's own), `sandbox-backend` and the backend's own named checks,
 * `sandbox-environment`, `detector`. Never throws, and each check is bounded in time (an
 * unreachable engine or API cannot hang it). Used by `stigmer doctor` and the server's
 * `GET /v1/health`.
 */
export async function diagnose(input: DiagnoseInput): Promise<DiagnosisCheck[]> {
  const { config, executor, version } = input;
  let { configError } = input;
  const timeoutMs = input.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const checks: DiagnosisCheck[] = [];
  const guard = (id: string, build: () => DiagnosisCheck): DiagnosisCheck => {
    try {
      return build();
    } catch (error) {
      return { id, status: "fail", message: `The check itself failed: ${messageOf(error)}`, fix: "Please report this as a bug." };
    }
  };
  checks.push(guard("node", () => checkNode(version)));
  if (configError === undefined && config && executor) {
    // Every configured plugin's settings: a bad one is a configuration error, as core's own are.
    // A plugin that does not load is reported by its own check below.
    try {
      await bounded(() => executor.checkPluginSettings(), timeoutMs);
    } catch (error) {
      if (StigmerError.isInstance(error) && error.code === ErrorCode.INVALID_CONFIG) configError = executor.scrubbed(error);
    }
  }
  checks.push(guard("config", () => checkConfig(config, configError)));
  if (!config || input.configError !== undefined || !executor) {
    const why = !config || input.configError !== undefined ? "the configuration is invalid" : "no executor was given";
    for (const id of ["sandbox-backend", "sandbox-environment", "detector"]) {
      checks.push({ id, status: "skip", message: `Not checked: ${why}` });
    }
    return checks;
  }
  const failed = (id: string) => (error: unknown) =>
    ({
      id,
      status: "fail",
      message: `The check itself failed: ${messageOf(error)}`,
      fix: "Please report this as a bug.",
    }) as DiagnosisCheck;
  const [backend, detector] = await Promise.all([
    checkSandboxBackend(config, executor, timeoutMs).catch((error) => ({ check: failed("sandbox-backend")(error) }) as BackendOutcome),
    checkDetector(config, executor, timeoutMs).catch(failed("detector")),
  ]);
  checks.push(backend.check, ...(backend.own ?? []));
  checks.push(guard("sandbox-environment", () => checkSandboxEnvironment(config, backend)));
  checks.push(detector);
  return checks;
}
