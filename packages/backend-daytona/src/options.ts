import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { httpUrl, InvalidConfigError, type PluginSettings, type StigmerConfig, text } from "@stigmer/core";

export const DEFAULT_API_URL = "https://app.daytona.io/api";

/**
 * The daytona plugin's settings, read and validated by core when the plugin loads: each from its
 * environment variable, else from `plugins.daytona.<key>` in the config file. The key is a secret:
 * core scrubs it from logs, `stigmer doctor` and error messages.
 */
/** `DAYTONA_API_URL`: http(s), and nothing a key could hide in (userinfo, query, fragment); shown redacted when refused. */
const apiUrlSetting = httpUrl(`such as ${DEFAULT_API_URL} (the key goes in DAYTONA_API_KEY)`);

export const DAYTONA_SETTINGS: PluginSettings = {
  apiKey: { env: "DAYTONA_API_KEY", parse: text, secret: true, description: "the Daytona API key (required)" },
  apiUrl: {
    env: "DAYTONA_API_URL",
    parse: apiUrlSetting,
    description: `the API's base URL, default ${DEFAULT_API_URL}`,
  },
  target: { env: "DAYTONA_TARGET", parse: text, description: "the Daytona target (region)" },
  snapshot: { env: "DAYTONA_SNAPSHOT", parse: text, description: "a snapshot to create sandboxes from instead of the sandbox image" },
};

/** Options of the daytona plugin (config file `plugins.daytona`). */
export interface DaytonaBackendOptions {
  /** `DAYTONA_API_KEY`: the API key (a secret). Required. */
  apiKey?: string;
  /** `DAYTONA_API_URL`: the API's base URL. Default {@link DEFAULT_API_URL}. */
  apiUrl?: string;
  /** `DAYTONA_TARGET`: the target (region). Default: Daytona's. */
  target?: string;
  /** `DAYTONA_SNAPSHOT`: a Daytona snapshot to create sandboxes from instead of the sandbox image. */
  snapshot?: string;
  /**
   * Directory in the sandbox that holds the copy of the project (kept in sync with the host before
   * and after each command) and where commands run, created when missing. `~/` means the sandbox
   * user's home. Default `~/workspace`.
   */
  workspacePath?: string;
  /**
   * Names the persistent workspace: executors with the same key (and the same image or snapshot)
   * share one sandbox, and a later executor restarts it when it has auto-stopped. Default: derived
   * from this host's name and the project directory, so each project gets its own sandbox. Project
   * directories that share a key share the sandbox's one copy: switching from one to another
   * copies the whole project again.
   */
  workspaceKey?: string;
  /** Seconds to wait for a sandbox to be created or started. Default 180. */
  createTimeoutSeconds?: number;
  /** Time limit of each Daytona API request (ms). Default 60000. */
  requestTimeoutMs?: number;
  /** Retries of a request Daytona answered with 429 or 5xx, or that could not connect. Default 4. */
  retries?: number;
  /** First retry delay (ms); doubles each retry, with jitter, capped by `retryMaxDelayMs`. Default 500. */
  retryBaseDelayMs?: number;
  /** Longest wait between retries, including a `retry-after` Daytona asks for (ms). Default 10000. */
  retryMaxDelayMs?: number;
  /** Time between SIGTERM and SIGKILL when a command is stopped. Default 1000 ms. */
  killGraceMs?: number;
  /** Follow sandbox state over Daytona's socket.io events (true) or poll (false). Default true. */
  events?: boolean;
  /** Sandbox resources (cores, GiB, GiB). Default: Daytona's defaults for the image or snapshot. */
  resources?: { cpu?: number; memory?: number; disk?: number };
  /** Extra labels on sandboxes this backend creates. */
  labels?: Record<string, string>;
  /** Idle sessions kept per sandbox for the next commands. Default 4. */
  idleSessions?: number;
}

/** Everything the backend needs, validated: connection, source, lifetime and tuning. */
export interface ResolvedDaytonaOptions {
  apiKey: string;
  apiUrl: string;
  target: string | undefined;
  /** What sandboxes are made from: a Daytona snapshot, or an image Daytona builds. */
  source: { snapshot: string } | { image: string };
  workspacePath: string;
  workspaceKey: string | undefined;
  createTimeoutSeconds: number;
  requestTimeoutMs: number;
  retries: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  killGraceMs: number;
  events: boolean;
  resources: { cpu?: number; memory?: number; disk?: number } | undefined;
  labels: Record<string, string>;
  idleSessions: number;
  /** Daytona's auto-stop, in minutes, from `STIGMER_SANDBOX_TTL` (rounded up; TTL 0 → 1). */
  autoStopMinutes: number;
  ttlSeconds: number;
  cleanup: boolean;
  networkBlockAll: boolean;
}

function fail(key: string, value: unknown, expected: string): never {
  throw new InvalidConfigError(`plugins.daytona.${key} = ${JSON.stringify(value)} is not valid: ${expected}.`, {
    details: { name: `plugins.daytona.${key}`, value },
  });
}

const KNOWN = new Set([
  ...Object.keys(DAYTONA_SETTINGS),
  "workspacePath",
  "workspaceKey",
  "createTimeoutSeconds",
  "requestTimeoutMs",
  "retries",
  "retryBaseDelayMs",
  "retryMaxDelayMs",
  "killGraceMs",
  "events",
  "resources",
  "labels",
  "idleSessions",
]);

function integer(raw: Record<string, unknown>, key: string, fallback: number, min: number, max: number): number {
  const value = raw[key];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(key, value, `use a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Validates configuration and plugin options; throws `INVALID_CONFIG` naming what to set. */
export function resolveDaytonaOptions(config: StigmerConfig, raw: Record<string, unknown>): ResolvedDaytonaOptions {
  const apiKey = raw.apiKey;
  if (typeof apiKey !== "string" || apiKey === "") {
    throw new InvalidConfigError(
      "Cloud mode needs a Daytona API key: set DAYTONA_API_KEY (create one in the Daytona dashboard under API Keys), or plugins.daytona.apiKey in stigmer.config.json.",
      {
        details: {
          name: "DAYTONA_API_KEY",
          fix: "Set DAYTONA_API_KEY (create a key in the Daytona dashboard under API Keys): export DAYTONA_API_KEY=dtn_…",
        },
      },
    );
  }
  // Core has validated it when it loaded the plugin; options made by hand get the same check. Never echo a key.
  const apiUrl = raw.apiUrl === undefined ? DEFAULT_API_URL : apiUrlSetting(raw.apiUrl, { kind: "env", name: "DAYTONA_API_URL" });
  for (const key of Object.keys(raw)) if (!KNOWN.has(key)) fail(key, raw[key], `unknown option; known: ${[...KNOWN].join(", ")}`);
  const workspacePath = raw.workspacePath ?? "~/workspace";
  if (typeof workspacePath !== "string" || !(workspacePath.startsWith("/") || workspacePath.startsWith("~/"))) {
    fail("workspacePath", workspacePath, "use an absolute path in the sandbox, or one starting with ~/");
  }
  const workspaceKey = raw.workspaceKey;
  if (workspaceKey !== undefined && (typeof workspaceKey !== "string" || !/^[A-Za-z0-9_.-]{1,63}$/.test(workspaceKey))) {
    fail("workspaceKey", workspaceKey, "use 1 to 63 letters, digits, '.', '_' or '-'");
  }
  const events = raw.events ?? true;
  if (typeof events !== "boolean") fail("events", events, "use true or false");
  const resources = raw.resources as ResolvedDaytonaOptions["resources"];
  if (resources !== undefined) {
    if (typeof resources !== "object" || resources === null || Array.isArray(resources))
      fail("resources", resources, "use { cpu, memory, disk }");
    for (const [k, v] of Object.entries(resources)) {
      if (!["cpu", "memory", "disk"].includes(k) || typeof v !== "number" || !Number.isInteger(v) || v < 1) {
        fail(`resources.${k}`, v, "cpu (cores), memory and disk (GiB) are whole numbers of at least 1");
      }
    }
  }
  const labels = raw.labels ?? {};
  if (
    typeof labels !== "object" ||
    labels === null ||
    Array.isArray(labels) ||
    Object.entries(labels).some(([k, v]) => typeof v !== "string" || k.startsWith("dev.stigmer."))
  ) {
    fail("labels", labels, "use an object of string values; keys must not start with dev.stigmer.");
  }
  const retryBaseDelayMs = integer(raw, "retryBaseDelayMs", 500, 1, 60_000);
  const snapshot = typeof raw.snapshot === "string" ? raw.snapshot : undefined;
  const target = typeof raw.target === "string" ? raw.target : undefined;
  return {
    apiKey,
    apiUrl,
    target,
    source: snapshot ? { snapshot } : { image: config.sandbox.image },
    workspacePath,
    workspaceKey: workspaceKey as string | undefined,
    createTimeoutSeconds: integer(raw, "createTimeoutSeconds", 180, 1, 3600),
    requestTimeoutMs: integer(raw, "requestTimeoutMs", 60_000, 100, 600_000),
    retries: integer(raw, "retries", 4, 0, 20),
    retryBaseDelayMs,
    retryMaxDelayMs: integer(raw, "retryMaxDelayMs", 10_000, retryBaseDelayMs, 600_000),
    killGraceMs: integer(raw, "killGraceMs", 1000, 0, 60_000),
    events,
    resources,
    labels: labels as Record<string, string>,
    idleSessions: integer(raw, "idleSessions", 4, 0, 64),
    autoStopMinutes: Math.max(1, Math.ceil(config.sandbox.ttlSeconds / 60)),
    ttlSeconds: config.sandbox.ttlSeconds,
    cleanup: config.sandbox.cleanup,
    networkBlockAll: config.sandbox.network === "none",
  };
}

/** The workspace key of a project directory when none is configured: one sandbox per host project. */
export function defaultWorkspaceKey(cwd: string): string {
  return createHash("sha256").update(`${hostname()}\0${cwd}`).digest("hex").slice(0, 16);
}
