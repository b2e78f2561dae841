import type { BackendHealth } from "./backend.js";
import { DEFAULT_SANDBOX_IMAGE, type StigmerConfig } from "./config.js";
import { ErrorCode, StigmerError } from "./errors.js";
import type { Executor } from "./executor.js";
import { redactUrl } from "./host-trust.js";
import { scrubSecrets } from "./logger.js";
import { pluginPackage } from "./plugin-loader.js";

/** One line of `stigmer doctor` and of the server's `GET /v1/health`. */
export interface DiagnosisCheck {
  /** Stable id: `node`, `config`, `sandbox-backend`, `sandbox-image`, `daytona`, `detector`. */
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
const BUILDABLE_IMAGES = new Set([DEFAULT_SANDBOX_IMAGE, "ghcr.io/stigmer/agent-sandbox-full:latest"]);

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
          : "Check the configuration (environment variables STIGMER_*, MODE, DAYTONA_*, and the config file).";
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
    `sandbox backend ${config.sandbox.backend}${config.cloud ? " (MODE=cloud)" : ""}`,
    config.configFile ? `config file ${config.configFile}` : "no config file (environment and defaults)",
  ];
  return {
    id: "config",
    status: "ok",
    message: `Configuration is valid: ${parts.join(", ")}`,
    details: {
      mode: config.mode,
      sandboxBackend: config.sandbox.backend,
      sandboxImage: config.sandbox.image,
      detector: config.detector,
      cloud: config.cloud,
      configFile: config.configFile ?? null,
    },
  };
}

interface BackendOutcome {
  check: DiagnosisCheck;
  health?: BackendHealth;
  loadError?: unknown;
}

/** `DAYTONA_API_URL` as it may be shown: userinfo, query and fragment (where keys hide) replaced by `***`. */
function shownDaytonaUrl(config: StigmerConfig): string {
  return redactUrl(config.daytona.apiUrl ?? "https://app.daytona.io/api");
}

/**
 * What went wrong reaching the Daytona API, from the backend's health details (`connection`:
 * refused, dns, tls, timeout, …; `status`: the HTTP answer), in a few words.
 */
function daytonaProblem(details: Record<string, unknown> | undefined): string | undefined {
  const connection = details?.connection;
  const status = typeof details?.status === "number" ? details.status : undefined;
  switch (connection) {
    case "refused":
      return "connection refused";
    case "dns":
      return "DNS failure: the host name does not resolve";
    case "dns-retry":
      return "DNS failure: the host name could not be looked up";
    case "tls":
      return "TLS failure: the secure connection could not be set up";
    case "timeout":
      return "timeout: no answer in time";
    case "reset":
      return "the connection was reset";
    case "unreachable":
      return "host or network unreachable";
    case "network":
      return "network error";
  }
  if (status === 401) return "HTTP 401: the API key is rejected";
  if (status === 403) return "HTTP 403: the key lacks permission, or a quota is used up";
  if (status !== undefined) return `HTTP error ${status}`;
  return undefined;
}

/** What to do about the Daytona API, from the backend's message and health details. */
function daytonaFix(message: string, details: Record<string, unknown> | undefined): string {
  const apiUrl = typeof details?.apiUrl === "string" ? details.apiUrl : "DAYTONA_API_URL";
  let host = apiUrl;
  try {
    host = new URL(apiUrl).host;
  } catch {}
  const status = typeof details?.status === "number" ? details.status : undefined;
  switch (details?.connection) {
    case "refused":
      return `Nothing accepts connections at ${host}: check the host and port in DAYTONA_API_URL (${apiUrl}; unset it for Daytona's cloud) and, for a self-hosted Daytona, that its API is running.`;
    case "dns":
    case "dns-retry":
      return `Check the host name in DAYTONA_API_URL (${apiUrl}) for a typo, and your DNS server and network connection.`;
    case "tls":
      return `Check the scheme and port in DAYTONA_API_URL (${apiUrl}; https for Daytona's cloud); behind a TLS-inspecting proxy, give Node.js its certificate authority with NODE_EXTRA_CA_CERTS.`;
    case "timeout":
      return `Check your network, proxy (HTTPS_PROXY) and firewall: the API at ${apiUrl} (DAYTONA_API_URL) did not answer in time.`;
  }
  if (status === 401 || /\b401\b|rejected the API key/.test(message)) {
    return `Check DAYTONA_API_KEY: it is mistyped, revoked or expired, or belongs to another API than ${apiUrl} (DAYTONA_API_URL).`;
  }
  if (status === 403 || /\b403\b/.test(message))
    return "Give the DAYTONA_API_KEY key sandbox permissions, or free quota in the Daytona dashboard.";
  if ((status !== undefined && (status === 408 || status === 429 || status >= 500)) || /\b(429|5\d\d|408)\b/.test(message)) {
    return "Daytona is rate limiting or failing: check Daytona's status page and try again later.";
  }
  if (status === 404) {
    return `${apiUrl} answers, but not as Daytona's API: DAYTONA_API_URL must be the API's base URL, such as https://app.daytona.io/api.`;
  }
  return `Check DAYTONA_API_URL (${apiUrl}), your network and proxy settings.`;
}

/** What to do about an unhealthy or unloadable sandbox backend, from what it reported. */
function backendFix(config: StigmerConfig, message: string, details: Record<string, unknown> | undefined, error?: unknown): string {
  const backend = config.sandbox.backend;
  if (StigmerError.isInstance(error)) {
    if (error.code === ErrorCode.INVALID_CONFIG) {
      const name = typeof error.details.name === "string" ? error.details.name : undefined;
      if (name === "DAYTONA_API_KEY") {
        return "Set DAYTONA_API_KEY (create a key in the Daytona dashboard under API Keys): export DAYTONA_API_KEY=dtn_…";
      }
      return name ? `Fix ${name} as the message says.` : "Fix the setting the message names.";
    }
    if (error.code === ErrorCode.PLUGIN_LOAD_FAILED || error.code === ErrorCode.SANDBOX_UNAVAILABLE) {
      return `Install the sandbox backend: npm install ${pluginPackage(backend)} (or set STIGMER_SANDBOX_BACKEND to docker or daytona).`;
    }
  }
  if (backend === "docker") {
    const endpoint = typeof details?.endpoint === "string" ? details.endpoint : undefined;
    const where = endpoint ? ` (now ${endpoint})` : "";
    if (details?.code === "EACCES") {
      return `Give your user access to the Docker socket (sudo usermod -aG docker $USER, then log in again), or set DOCKER_HOST to an engine you may use${where}.`;
    }
    return `Start the Docker engine (sudo systemctl start docker, sudo dockerd &, or Docker Desktop), or set DOCKER_HOST to a running engine${where}.`;
  }
  if (backend === "daytona") return daytonaFix(message, details);
  return `See the ${pluginPackage(backend)} documentation: the message above is its own.`;
}

async function checkSandboxBackend(config: StigmerConfig, executor: Executor, timeoutMs: number): Promise<BackendOutcome> {
  const name = config.sandbox.backend;
  // Local mode never uses the sandbox: a broken one is worth knowing about, not a failure.
  const needed = config.mode !== "local";
  const bad: DiagnosisCheck["status"] = needed ? "fail" : "warn";
  const unneeded = needed ? "" : ` (mode local does not use it: commands still run on the host)`;
  const secrets = [config.daytona.apiKey];
  let health: BackendHealth | undefined;
  try {
    health = await bounded(async () => {
      const backend = await executor.backend("sandbox");
      if (typeof backend.health !== "function")
        return { ok: true, message: `The sandbox backend "${name}" loads (it has no health check).` };
      return backend.health();
    }, timeoutMs);
  } catch (error) {
    if (error instanceof CheckTimeout) {
      return {
        check: {
          id: "sandbox-backend",
          status: bad,
          message:
            name === "daytona"
              ? `The Daytona API at ${shownDaytonaUrl(config)} gave ${error.message} (timeout: connected or not, nothing answered)${unneeded}`
              : `${name === "docker" ? "The Docker engine" : `The sandbox backend "${name}"`} gave ${error.message}${unneeded}`,
          fix: backendFix(config, "", name === "docker" ? {} : { apiUrl: shownDaytonaUrl(config), connection: "timeout" }),
          details: { backend: name, needed, timedOut: true, ...(name === "daytona" ? { connection: "timeout" } : {}) },
        },
        loadError: error,
      };
    }
    const message = scrubSecrets(messageOf(error), secrets);
    return {
      check: {
        id: "sandbox-backend",
        status: bad,
        message: `${message}${unneeded}`,
        fix: backendFix(config, message, undefined, error),
        details: { backend: name, needed, ...(StigmerError.isInstance(error) ? { code: error.code } : {}) },
      },
      loadError: error,
    };
  }
  const details = { backend: name, needed, ...health.details };
  const message = scrubSecrets(health.message, secrets);
  if (health.ok) return { check: { id: "sandbox-backend", status: "ok", message, details }, health };
  let shown = message;
  const problem = name === "daytona" ? daytonaProblem(health.details) : undefined;
  if (problem && health.details?.connection !== undefined) {
    // The backend's own message ends with what to do, which `fix` says in full.
    const says = typeof health.details?.error === "string" ? ` (${scrubSecrets(health.details.error, secrets)})` : "";
    shown = `Cannot reach the Daytona API at ${shownDaytonaUrl(config)}: ${problem}${says}`;
  }
  if (name === "docker" && typeof health.details?.endpoint === "string") {
    // The engine's own message ends with what to do, which `fix` says in full.
    const code = typeof health.details.code === "string" ? ` (${health.details.code})` : "";
    shown = `Cannot reach the Docker engine at ${health.details.endpoint}${code}`;
  }
  return {
    check: {
      id: "sandbox-backend",
      status: bad,
      message: `${shown}${unneeded}`,
      fix: backendFix(config, message, health.details),
      details,
    },
    health,
  };
}

function checkSandboxImage(config: StigmerConfig, outcome: BackendOutcome | undefined): DiagnosisCheck {
  const image = config.sandbox.image;
  if (config.sandbox.backend !== "docker") {
    const source = config.daytona.snapshot ? `snapshot ${config.daytona.snapshot}` : `image ${image}`;
    return {
      id: "sandbox-image",
      status: "skip",
      message:
        config.sandbox.backend === "daytona"
          ? `Daytona builds sandboxes from ${source} on its side: nothing to check locally`
          : `Only checked for the docker backend (the sandbox backend is ${config.sandbox.backend})`,
    };
  }
  const info = outcome?.health?.details?.image as { name?: string; present?: boolean; error?: string } | undefined;
  if (!outcome?.health?.ok || !info) {
    return { id: "sandbox-image", status: "skip", message: `Cannot check the image ${image}: the Docker engine does not answer` };
  }
  if (info.present === true) {
    return { id: "sandbox-image", status: "ok", message: `Image ${image} is present locally`, details: { image, present: true } };
  }
  const get = BUILDABLE_IMAGES.has(image)
    ? `build it: stigmer sandbox build${image.includes("-full:") ? " --full" : ""} (or docker pull ${image})`
    : `docker pull ${image}, or build it (docker build -t ${image} …; stigmer sandbox build -t ${image} builds Stigmer's basic image)`;
  if (info.present === undefined) {
    return {
      id: "sandbox-image",
      status: "warn",
      message: `Could not inspect the image ${image}: ${info.error ?? "unknown error"}`,
      fix: `Check it with docker image inspect ${image}; if it is missing, ${get}.`,
      details: { image },
    };
  }
  const needed = config.mode !== "local";
  if (config.sandbox.autoPull) {
    return {
      id: "sandbox-image",
      status: "warn",
      message: `Image ${image} is not present locally; with auto-pull on it will be pulled on first use (slow the first time)`,
      fix: `To have it ready now, ${get}.`,
      details: { image, present: false, autoPull: true },
    };
  }
  // Without auto-pull, every sandboxed command would fail with IMAGE_NOT_FOUND.
  return {
    id: "sandbox-image",
    status: needed ? "fail" : "warn",
    message: `Image ${image} is not present locally and STIGMER_SANDBOX_AUTO_PULL is off: sandboxed commands will fail with IMAGE_NOT_FOUND`,
    fix: `Make it available — ${get} — or set STIGMER_SANDBOX_AUTO_PULL=true.`,
    details: { image, present: false, autoPull: false },
  };
}

function checkDaytona(config: StigmerConfig, outcome: BackendOutcome | undefined): DiagnosisCheck {
  if (config.sandbox.backend !== "daytona") {
    return { id: "daytona", status: "skip", message: "Not the sandbox backend: set MODE=cloud + DAYTONA_API_KEY to use Daytona" };
  }
  const apiUrl = shownDaytonaUrl(config);
  const details = {
    apiUrl,
    keySet: Boolean(config.daytona.apiKey),
    ...(config.daytona.snapshot ? { snapshot: config.daytona.snapshot } : {}),
  };
  if (!config.daytona.apiKey) {
    return {
      id: "daytona",
      status: config.mode === "local" ? "warn" : "fail",
      message: `DAYTONA_API_KEY is not set (API ${apiUrl})`,
      fix: "Set DAYTONA_API_KEY (create a key in the Daytona dashboard under API Keys): export DAYTONA_API_KEY=dtn_…",
      details,
    };
  }
  const backend = outcome?.check;
  if (backend?.status === "ok") {
    return { id: "daytona", status: "ok", message: `DAYTONA_API_KEY is set and the API at ${apiUrl} answers`, details };
  }
  const problem = daytonaProblem(outcome?.health?.details ?? backend?.details);
  const connection = outcome?.health?.details?.connection ?? backend?.details?.connection;
  return {
    id: "daytona",
    status: backend?.status ?? "fail",
    message: /rejected the API key|\b401\b/.test(backend?.message ?? "")
      ? `DAYTONA_API_KEY is set, but the API at ${apiUrl} rejects it (see sandbox-backend)`
      : problem
        ? `DAYTONA_API_KEY is set, but the API at ${apiUrl} ${connection !== undefined ? "cannot be reached" : "does not answer as it should"}: ${problem} (see sandbox-backend)`
        : `DAYTONA_API_KEY is set, but the API at ${apiUrl} does not answer as it should (see sandbox-backend)`,
    ...(backend?.fix ? { fix: backend.fix } : {}),
    details: { ...details, ...(connection !== undefined ? { connection } : {}) },
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
  const label = name === pluginPackage(name) ? `"${name}"` : `"${name}" (${pluginPackage(name)})`;
  const bad: DiagnosisCheck["status"] = config.mode === "auto" ? "fail" : "warn";
  const unneeded = config.mode === "auto" ? "" : ` (only auto mode and stigmer detect use it)`;
  const fix =
    name === "rules"
      ? "Reinstall Stigmer (the rules detector ships with it), or set STIGMER_DETECTOR to a working detector."
      : `Install ${pluginPackage(name)}, or set STIGMER_DETECTOR=rules.`;
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
 * Checks the setup, one {@link DiagnosisCheck} each: `node`, `config`, `sandbox-backend`,
 * `sandbox-image`, `sandbox-environment`, `daytona`, `detector`. Never throws, and each check is bounded in time (an
 * unreachable Docker engine or Daytona API cannot hang it). Used by `stigmer doctor` and the
 * server's `GET /v1/health`.
 */
export async function diagnose(input: DiagnoseInput): Promise<DiagnosisCheck[]> {
  const { config, configError, executor, version } = input;
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
  checks.push(guard("config", () => checkConfig(config, configError)));
  if (!config || configError !== undefined || !executor) {
    const why = !config || configError !== undefined ? "the configuration is invalid" : "no executor was given";
    for (const id of ["sandbox-backend", "sandbox-image", "sandbox-environment", "daytona", "detector"]) {
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
  checks.push(backend.check);
  checks.push(guard("sandbox-image", () => checkSandboxImage(config, backend)));
  checks.push(guard("sandbox-environment", () => checkSandboxEnvironment(config, backend)));
  checks.push(guard("daytona", () => checkDaytona(config, backend)));
  checks.push(detector);
  return checks;
}
