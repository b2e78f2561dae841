import { cpuCount, InvalidConfigError, memorySize, type PluginSettings, wholeCount } from "@stigmer/core";
import { defaultStateBase } from "./sandbox-state.js";

/**
 * What package managers need and nothing more: apt and dpkg change owners and modes and drop to
 * the `_apt` user; npm and pip write files owned by others. Docker's default set also grants
 * NET_RAW, MKNOD, SYS_CHROOT, SETFCAP, SETPCAP and AUDIT_WRITE, which they do not need.
 */
export const PACKAGE_MANAGER_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETUID", "SETGID", "KILL", "NET_BIND_SERVICE"];

/**
 * The docker plugin's settings, read and validated by core when the plugin loads: each from its
 * environment variable, else from `plugins.docker.<key>` in the config file.
 */
export const DOCKER_SETTINGS: PluginSettings = {
  memory: { env: "STIGMER_SANDBOX_MEMORY", parse: memorySize, description: "memory limit per sandbox (512m, 2g; 0 = none), default 2g" },
  cpus: { env: "STIGMER_SANDBOX_CPUS", parse: cpuCount, description: "CPU limit per sandbox (0.5, 2; 0 = none), default 2" },
  pidsLimit: { env: "STIGMER_SANDBOX_PIDS_LIMIT", parse: wholeCount, description: "most processes per sandbox (0 = none), default 1024" },
};

/** Options of the docker plugin (config file `plugins.docker`). Each hardening default can be relaxed here. */
export interface DockerBackendOptions {
  /** `STIGMER_SANDBOX_MEMORY`: memory limit in bytes (`512m`, `2g` accepted); 0 for none. Default 2 GiB. */
  memory?: number | string;
  /** `STIGMER_SANDBOX_CPUS`: CPU limit (fractions allowed); 0 for none. Default 2. */
  cpus?: number | string;
  /** `STIGMER_SANDBOX_PIDS_LIMIT`: most processes in one sandbox; 0 for none. Default 1024. */
  pidsLimit?: number | string;
  /** User that runs commands (`uid[:gid]` or a name). Default: the image's own `USER` (root when it sets none). */
  user?: string;
  /** Capabilities added after dropping all. Default {@link PACKAGE_MANAGER_CAPABILITIES}; SETUID and SETGID are added when `user` is set. */
  capAdd?: string[];
  /** Privileged mode. Default false; true gives the sandbox the host's devices: avoid. */
  privileged?: boolean;
  /** `no-new-privileges`: setuid binaries (sudo) cannot raise privileges. Default true. */
  noNewPrivileges?: boolean;
  /** Read-only root filesystem (package installs then fail). Default false. */
  readOnlyRootfs?: boolean;
  /** Where the project directory is mounted in the sandbox, and where commands run. Default `/workspace`. */
  workspacePath?: string;
  /** Use the in-sandbox agent when the image has python3 (fast path). Default true; false forces `docker exec`. */
  agent?: boolean;
  /** Time between SIGTERM and SIGKILL when a command is stopped. Default 1000 ms. */
  killGraceMs?: number;
  /**
   * Host directory for the sandboxes' records and channels (one subdirectory per engine endpoint).
   * Default `<Stigmer's state directory>/docker` (`~/.local/state/stigmer/docker`). Keep it short:
   * Unix socket paths are limited to 107 bytes.
   */
  stateDir?: string;
}

export type ResolvedDockerOptions = Required<Omit<DockerBackendOptions, "user" | "memory" | "cpus" | "pidsLimit">> & {
  user: string | undefined;
  memoryBytes: number;
  cpus: number;
  pidsLimit: number;
};

function fail(key: string, value: unknown, expected: string): never {
  throw new InvalidConfigError(`plugins.docker.${key} = ${JSON.stringify(value)} is not valid: ${expected}.`, {
    details: { name: `plugins.docker.${key}`, value },
  });
}

const KNOWN = new Set([
  ...Object.keys(DOCKER_SETTINGS),
  "user",
  "capAdd",
  "privileged",
  "noNewPrivileges",
  "readOnlyRootfs",
  "workspacePath",
  "agent",
  "killGraceMs",
  "stateDir",
]);

/** Validates the plugin options; throws `INVALID_CONFIG` naming the key. */
export function resolveDockerOptions(raw: Record<string, unknown>): ResolvedDockerOptions {
  for (const key of Object.keys(raw)) if (!KNOWN.has(key)) fail(key, raw[key], `unknown option; known: ${[...KNOWN].join(", ")}`);
  const o = raw as DockerBackendOptions;
  const bool = (key: keyof DockerBackendOptions, fallback: boolean): boolean => {
    const v = o[key];
    if (v === undefined) return fallback;
    if (typeof v !== "boolean") fail(key, v, "use true or false");
    return v;
  };
  if (o.user !== undefined && (typeof o.user !== "string" || !/^[a-zA-Z0-9_.-]+(:[a-zA-Z0-9_.-]+)?$/.test(o.user))) {
    fail("user", o.user, "use a user name or uid[:gid]");
  }
  if (o.capAdd !== undefined && (!Array.isArray(o.capAdd) || o.capAdd.some((c) => typeof c !== "string" || !/^[A-Z_]+$/.test(c)))) {
    fail("capAdd", o.capAdd, 'use a list of capability names such as ["CHOWN", "SETUID"]');
  }
  if (o.workspacePath !== undefined && (typeof o.workspacePath !== "string" || !o.workspacePath.startsWith("/"))) {
    fail("workspacePath", o.workspacePath, "use an absolute path inside the container");
  }
  if (o.killGraceMs !== undefined && (!Number.isInteger(o.killGraceMs) || o.killGraceMs < 0 || o.killGraceMs > 60_000)) {
    fail("killGraceMs", o.killGraceMs, "use whole milliseconds from 0 to 60000");
  }
  if (o.stateDir !== undefined && (typeof o.stateDir !== "string" || !o.stateDir.startsWith("/"))) {
    fail("stateDir", o.stateDir, "use an absolute host path");
  }
  // Core has validated these when it loaded the plugin; a backend built by hand gets the same checks.
  const limit = <T>(
    key: "memory" | "cpus" | "pidsLimit",
    parse: (raw: unknown, where: { kind: "file"; name: string }) => T,
    fallback: T,
  ): T => (o[key] === undefined ? fallback : parse(o[key], { kind: "file", name: `plugins.docker.${key}` }));
  return {
    memoryBytes: limit("memory", memorySize, 2 * 1024 ** 3),
    cpus: limit("cpus", cpuCount, 2),
    pidsLimit: limit("pidsLimit", wholeCount, 1024),
    user: o.user,
    // The keeper (root) switches to the command user: it needs SETUID and SETGID to do so.
    capAdd: [...new Set([...(o.capAdd ?? PACKAGE_MANAGER_CAPABILITIES), ...(o.user ? ["SETUID", "SETGID"] : [])])],
    privileged: bool("privileged", false),
    noNewPrivileges: bool("noNewPrivileges", true),
    readOnlyRootfs: bool("readOnlyRootfs", false),
    workspacePath: o.workspacePath ?? "/workspace",
    agent: bool("agent", true),
    killGraceMs: o.killGraceMs ?? 1000,
    stateDir: o.stateDir ?? defaultStateBase(),
  };
}
