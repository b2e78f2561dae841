import type { SpecificationVersion } from "./plugin.js";
import type { BackendExit, BackendRequest, OutputStream, ProgressInfo } from "./types.js";
import type { WorkspaceStrategy } from "./workspace/session.js";

/**
 * What a backend can do. Capabilities are data: the executor refuses a request that needs a
 * capability the backend does not declare with `CAPABILITY_UNSUPPORTED`, instead of silently doing
 * less. The conformance suite checks both directions: declared capabilities work, undeclared ones
 * are refused.
 */
export interface BackendCapabilities {
  /** Feeds `request.stdin` to the command. */
  readonly stdin: boolean;
  /** Adds `request.env` to the command's environment. */
  readonly env: boolean;
  /**
   * Stops a running command when `request.signal` aborts, killing its whole process tree.
   * Without it, requests with a timeout or an abort signal are refused.
   */
  readonly cancel: boolean;
  /** Delivers stdout and stderr separately. Without it everything arrives as `stdout`. */
  readonly separateStreams: boolean;
  /**
   * How the project reaches this backend's sandboxes, most preferred first (the default when the
   * configuration names none): `mount`, `sync`, `review` (see {@link WorkspaceStrategy}). A backend
   * that declares strategies gets `request.workspace` and must honour it; one that declares none
   * runs commands in `request.cwd` itself, as the local backend does.
   */
  readonly workspace?: readonly WorkspaceStrategy[];
}

/**
 * Where output goes. The backend calls `write` for every chunk, in order per stream, and **awaits
 * the returned promise before reading more** from the command: that is the backpressure that keeps
 * memory flat when the command writes faster than the caller reads.
 */
export interface OutputSink {
  write(stream: OutputStream, chunk: Uint8Array): void | Promise<void>;
  /** Reports a preparation step (image pull, sandbox creation) before the command starts. */
  progress(info: ProgressInfo): void;
}

/**
 * One named check of a backend's {@link BackendHealth}, shown by `stigmer doctor` as a line of its
 * own (`sandbox-image`, `api-key`, …) after the backend's main line.
 */
export interface HealthCheck {
  /** Stable id, lowercase words joined by `-`; it is the line's id in `stigmer doctor --json`. */
  name: string;
  /** False: something is broken (a failure when the configured mode needs the backend, else a warning). */
  ok: boolean;
  /** One line: what was checked and what was found. Never a secret. */
  message: string;
  /** When not ok (or a warning): exactly what to do. */
  fix?: string;
  /** Refines an ok check: `warn` works with a caveat, `skip` was not applicable. */
  status?: "warn" | "skip";
  details?: Record<string, unknown>;
}

/** Result of {@link Backend.health}. */
export interface BackendHealth {
  ok: boolean;
  /** One line: what was checked and what was found. */
  message: string;
  /** When not ok: exactly what to do (`stigmer doctor` prints it after the message). */
  fix?: string;
  /** Further named checks, one `stigmer doctor` line each. */
  checks?: HealthCheck[];
  /**
   * Anything else worth showing in `stigmer doctor --json`. `details.sandbox` (`workspace`,
   * `hostCAs: {enabled, certificates, sources}`, `hostProxy: {enabled, variables}`) feeds the
   * `sandbox-environment` line.
   */
  details?: Record<string, unknown>;
}

/** One sandbox a backend manages (a container, a cloud sandbox), as `stigmer sandbox ls` shows it. */
export interface SandboxInfo {
  id: string;
  name: string;
  /** Configured name of the backend that manages it. */
  backend: string;
  image: string;
  /** Backend-specific state: `running`, `exited`, `started`, `stopped`, … */
  state: string;
  /** Host project directory it serves, when it mounts one. */
  workspace?: string;
  createdAt: string;
  /** When it was last used, when known. */
  lastUsedAt?: string;
  /** When it will be reclaimed if it stays idle, when known. */
  expiresAt?: string;
  /** The process that created it (`host:pid`), when known. */
  owner?: string;
  /** True when the owner is this process. */
  ownedByThisProcess: boolean;
}

/** Optional part of a backend that keeps sandboxes around: listing and reclaiming them. */
export interface SandboxManager {
  /** Every sandbox this backend manages on this machine or account, Stigmer-made only. */
  list(): Promise<SandboxInfo[]>;
  /** Removes one sandbox by id or name. Throws `NOT_FOUND` when there is none. */
  remove(idOrName: string): Promise<void>;
  /**
   * Removes sandboxes nobody will use again: expired, stopped, or whose owner process is gone.
   * With `all`, also the ones kept for reuse (cleanup off), but never one that another live process
   * is using and will clean up itself. Returns what it removed.
   */
  prune(options?: { all?: boolean }): Promise<SandboxInfo[]>;
}

/**
 * A place where commands run: the host, a container, a cloud sandbox, or anything a platform
 * team plugs in. Implementations are classes registered by a {@link StigmerPlugin}; they receive
 * their dependencies through `@inject(ConfigToken)`, `@inject(LoggerToken)` and
 * `@inject(PluginOptionsToken)` constructor parameters.
 *
 * Run `runBackendConformance` from `@stigmer/core/testing` against every implementation.
 */
export interface Backend {
  /** The plugin contract it implements: `"v1"` ({@link SPECIFICATION_VERSION}). Core refuses another. */
  readonly specificationVersion: SpecificationVersion;

  /** Short display name (`"local"`, `"firecracker"`); appears in events and logs. */
  readonly name: string;

  /** What this backend supports; see {@link BackendCapabilities}. Must not change after construction. */
  readonly capabilities: BackendCapabilities;

  /**
   * Runs `request.command` with a POSIX shell (Stigmer's own backends use `bash -c` where bash
   * exists, since agents write bash, else `sh -c`; document your choice) in the
   * place this backend manages, with the project directory `request.cwd` as working directory (or
   * its documented mapping, such as `/workspace` in a container) and `request.env` added to the
   * environment. With `request.workspace` (a backend that declares workspace strategies): bring the
   * project in as its strategy says — for `sync` and `review`, `await request.workspace.syncIn(files)`
   * once the sandbox is ready and before the command starts, and `await request.workspace.syncOut(files)`
   * after it ended and before resolving.
   *
   * Must:
   * - write every stdout and stderr chunk to `output` as soon as it is read, awaiting each write;
   * - when `request.signal` aborts (timeout, cancellation, dispose): kill the command's **whole
   *   process tree**, stop reading, and resolve — not reject — with the exit it observed
   *   (`exitCode: null, signal: "SIGKILL"` when it had to kill);
   * - resolve only after the command has ended and its output has been written (a background
   *   process that keeps the pipes open must not hold `exec` forever after the command exits);
   * - support many concurrent calls.
   *
   * Throws (rejects with) a StigmerError:
   * - `BACKEND_UNAVAILABLE` when it cannot run commands at all (daemon unreachable, disposed);
   * - `IMAGE_NOT_FOUND` when the requested image is missing and cannot be pulled;
   * - `EXECUTION_FAILED` when the environment fails mid-command (container killed from outside);
   * - `CANCELLED` when `request.signal` aborted before the command was started.
   * A non-zero exit code of the command is a normal result, never an error.
   */
  exec(request: BackendRequest, output: OutputSink): Promise<BackendExit>;

  /** Checks that the backend can run commands now (used by `stigmer doctor` and the server's health route). */
  health?(): Promise<BackendHealth>;

  /**
   * Host paths a sandbox must never reach (the backend's own state directory, the container
   * engine's socket). Core refuses a project directory that contains one.
   */
  protectedPaths?(): readonly string[];

  /** Present when the backend keeps sandboxes between commands (`stigmer sandbox ls|prune`). */
  readonly sandboxes?: SandboxManager;

  /**
   * Releases everything the backend holds: kills running commands (their `exec` calls resolve as
   * cancelled) and reclaims what it created (containers, sandboxes) according to configuration.
   * Idempotent. Afterwards `exec` rejects with `BACKEND_UNAVAILABLE`. Called by `Executor.dispose()`
   * through the DI container.
   */
  dispose(): Promise<void>;
}
