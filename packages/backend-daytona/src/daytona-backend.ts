import { join } from "node:path";
import {
  type Backend,
  type BackendCapabilities,
  type BackendExit,
  type BackendHealth,
  type BackendRequest,
  CancelledError,
  CapabilityUnsupportedError,
  ConfigToken,
  checkWorkspaceRoot,
  ErrorCode,
  ExecutionFailedError,
  inject,
  injectable,
  type Logger,
  LoggerToken,
  type OutputSink,
  PluginOptionsToken,
  RunTracker,
  redactUrl,
  type SandboxFiles,
  type SandboxManager,
  type StigmerConfig,
  StigmerError,
  stateDir,
  type WorkspaceSession,
  workspaceMirrorsOf,
} from "@stigmer/core";
import { statusOf, toStigmerError } from "./errors.js";
import { daytonaHealth } from "./health.js";
import { LABELS, MANAGED_BY } from "./labels.js";
import { defaultWorkspaceKey, type ResolvedDaytonaOptions, resolveDaytonaOptions } from "./options.js";
import { daytonaSandboxFiles, dropSyncState, syncStateDir } from "./sandbox-files.js";
import { DaytonaSandboxPool, type LiveSandbox, type SandboxSpec } from "./sandbox-pool.js";
import { createDaytonaClient, type Daytona } from "./sdk.js";
import { runInSession, SandboxGoneError } from "./session-runner.js";

const MiB = 1024 * 1024;

/**
 * Cloud mode: commands run in Daytona sandboxes through `@daytonaio/sdk`. One sandbox per
 * workspace (project directory, or `plugins.daytona.workspaceKey`), found by labels and reused
 * across executors, restarted when Daytona auto-stopped it; commands run in
 * `plugins.daytona.workspacePath` (default `~/workspace`) inside it.
 *
 * The project reaches the sandbox with the `sync` workspace strategy: before each command, what
 * changed on the host since the sandbox's copy was last brought up to date is copied into
 * `workspacePath` (the whole project the first time); after it (also after a timeout or a
 * cancellation), what the command changed there comes back through core's host-side checks (no
 * git configuration or hooks, no Stigmer config, no links out of the project, no special files or
 * setuid bits; the host's version wins a conflict). The manifest of each sandbox's copy is kept
 * in Stigmer's state directory, so a later process that reuses a kept sandbox copies only what
 * changed in between. Files outside `workspacePath` (the sandbox user's home, installed packages)
 * stay in the sandbox and persist with it.
 */
@injectable()
export class DaytonaBackend implements Backend {
  readonly specificationVersion = "v1";
  readonly name = "daytona";
  readonly capabilities: BackendCapabilities = {
    stdin: true,
    env: true,
    cancel: true,
    separateStreams: true,
    workspace: ["sync"],
  };
  readonly sandboxes: SandboxManager;
  readonly options: ResolvedDaytonaOptions;
  private client: Promise<Daytona> | undefined;
  private readonly pool: DaytonaSandboxPool;
  private readonly runs = new RunTracker({ disposed: "The daytona backend has been disposed." });

  constructor(
    @inject(ConfigToken) config: StigmerConfig,
    @inject(LoggerToken) private readonly logger: Logger,
    @inject(PluginOptionsToken) options: Record<string, unknown>,
  ) {
    // apiKey, apiUrl, target and snapshot are DAYTONA_SETTINGS, validated by core when the plugin loaded.
    this.options = resolveDaytonaOptions(config, options);
    this.pool = new DaytonaSandboxPool(() => this.daytona(), this.options, logger, {
      released: (id) => this.forgetCopy(id),
      deleted: (id) => {
        this.forgetCopy(id);
        dropSyncState(id);
      },
    });
    const pool = this.pool;
    this.sandboxes = {
      list: () => this.runs.whileOpen(() => pool.list()),
      remove: (id) => this.runs.whileOpen(() => pool.remove(id)),
      prune: (o) => this.runs.whileOpen(() => pool.prune(o)),
    };
  }

  /** The SDK client, made (and the SDK imported) on first use; a failure is not remembered. */
  private daytona(): Promise<Daytona> {
    if (!this.client) {
      const pending = createDaytonaClient(this.options);
      this.client = pending;
      pending.catch(() => {
        if (this.client === pending) this.client = undefined;
      });
    }
    return this.client;
  }

  /** Core no longer needs to track this sandbox's copy (the sandbox is gone, or this process lets go of it). */
  private forgetCopy(sandboxId: string): void {
    workspaceMirrorsOf(this).forget(sandboxId);
  }

  /** Stigmer's state of Daytona sandboxes (the manifests of their copies): a project must never contain it. */
  protectedPaths(): readonly string[] {
    return [join(stateDir(), "daytona")];
  }

  async health(): Promise<BackendHealth> {
    const apiUrl = redactUrl(this.options.apiUrl);
    try {
      const daytona = await this.daytona();
      await this.pool.call("checking the API", () => daytona.list({ labels: { [LABELS.managedBy]: MANAGED_BY }, limit: 1 }).next(), true);
      return daytonaHealth(apiUrl, this.options.source);
    } catch (error) {
      // `connection` (refused, dns, tls, timeout, …) or `status` say what failed.
      const failure = toStigmerError(error, "checking the API", this.options.apiUrl);
      return daytonaHealth(apiUrl, this.options.source, failure);
    }
  }

  /** The request's workspace session, or one made here for a caller that bypasses core (a checked root, `sync`). */
  private workspaceOf(request: BackendRequest): WorkspaceSession {
    if (!request.workspace) {
      const root = checkWorkspaceRoot(request.cwd, { protectedPaths: this.protectedPaths() });
      return workspaceMirrorsOf(this).session(root, "sync");
    }
    if (request.workspace.strategy !== "sync") {
      throw new CapabilityUnsupportedError(
        `The daytona backend supports only the "sync" workspace strategy, not "${request.workspace.strategy}": set STIGMER_SANDBOX_WORKSPACE=sync or unset it.`,
        { details: { backend: this.name, missing: [`workspace:${request.workspace.strategy}`] } },
      );
    }
    return request.workspace;
  }

  /** The sandbox's copy of the project as core sees it, for one request (progress goes to its output). */
  private filesOf(live: LiveSandbox, root: string, output: OutputSink): SandboxFiles {
    // Projects that share a workspace key share the sandbox's one copy: another project's files
    // are there, so the workspace is no longer empty for this one.
    if (live.root !== undefined && live.root !== root) live.fresh = false;
    live.root = root;
    const dir = syncStateDir(live.sandbox.id);
    return daytonaSandboxFiles(live, this.pool, {
      workspacePath: this.options.workspacePath,
      ...(dir ? { stateDir: dir } : {}),
      onUpload: (bytes) =>
        output.progress({
          phase: "sync",
          message: `Copying ${(bytes / MiB).toFixed(1)} MiB of the project into the Daytona sandbox…`,
          item: live.sandbox.id,
          current: bytes,
        }),
    });
  }

  exec(request: BackendRequest, output: OutputSink): Promise<BackendExit> {
    // Dispose stops running commands the same way a cancellation does.
    return this.runs.exec(request, (r) => this.run(r, output));
  }

  private async run(request: BackendRequest, output: OutputSink): Promise<BackendExit> {
    const workspace = this.workspaceOf(request);
    const spec: SandboxSpec = {
      source: request.image ? { image: request.image } : this.options.source,
      workspaceKey: this.options.workspaceKey ?? defaultWorkspaceKey(workspace.root),
      workspaceDir: workspace.root,
    };
    // A sandbox found gone or stopped before the command started is replaced once; a command
    // that had started is never run twice.
    for (let attempt = 1; ; attempt++) {
      const live = await this.pool.acquire(spec, output, request.signal);
      try {
        const files = this.filesOf(live, workspace.root, output);
        await this.syncIn(workspace, live, files);
        if (request.signal.aborted) throw new CancelledError("The command was cancelled before it started.");
        const exit = await runInSession(live, this.pool, request, output, this.options, this.logger).catch(async (error: unknown) => {
          // The command ran but its output is lost: what it changed still comes back.
          const lost = StigmerError.isInstance(error) && error.details.reason === "output-unavailable";
          if (lost)
            await this.syncOut(workspace, live, files, { exitCode: error.details.exitCode as number, signal: null }).catch(() => {});
          throw error;
        });
        // Also after a timeout or a cancellation: what the command wrote before it was stopped comes back.
        await this.syncOut(workspace, live, files, exit);
        return exit;
      } catch (error) {
        if (error instanceof SandboxGoneError) {
          this.pool.invalidate(live);
          if (attempt === 1 && !request.signal.aborted) {
            this.logger.debug({ sandbox: live.sandbox.id, why: error.message }, "daytona sandbox gone; finding another");
            continue;
          }
          throw new ExecutionFailedError(`${error.message} (twice in a row): run the command again, and check the Daytona dashboard.`, {
            cause: error,
          });
        }
        throw toStigmerError(error, "running the command", this.options.apiUrl);
      } finally {
        this.pool.release(live);
      }
    }
  }

  /** Brings the host's changes into the sandbox; a sandbox that vanished meanwhile is replaced (SandboxGoneError). */
  private async syncIn(workspace: WorkspaceSession, live: LiveSandbox, files: SandboxFiles): Promise<void> {
    try {
      await workspace.syncIn(files);
    } catch (error) {
      const state = await this.stateOf(live);
      if (state !== "started") throw new SandboxGoneError(`the Daytona sandbox ${live.sandbox.id} is ${state}`);
      // Core's in-memory view of the copy may now be ahead of it (a first copy that failed is not
      // retried by a watching mirror): start over from the manifest saved after the last good sync,
      // or, without one, from an emptied workspace.
      live.fresh = false;
      this.forgetCopy(live.sandbox.id);
      if (StigmerError.isInstance(error) && error.code !== ErrorCode.EXECUTION_FAILED) throw error;
      throw new ExecutionFailedError(
        `Could not copy the project into the Daytona sandbox ${live.sandbox.id}: ${(error as Error).message}. The command was not run.`,
        { cause: error, details: { sandbox: live.sandbox.id } },
      );
    }
  }

  /**
   * Brings the command's changes back. When that fails, the sandbox's copy and the host's
   * manifest may disagree: the copy is rebuilt from the host at the next command.
   */
  private async syncOut(workspace: WorkspaceSession, live: LiveSandbox, files: SandboxFiles, exit: BackendExit): Promise<void> {
    try {
      await workspace.syncOut(files);
    } catch (error) {
      live.fresh = false;
      this.forgetCopy(live.sandbox.id);
      dropSyncState(live.sandbox.id);
      throw new ExecutionFailedError(
        `The command ended (exit ${exit.exitCode ?? exit.signal}), but its changes could not be brought back from the Daytona sandbox ${live.sandbox.id}: ${(error as Error).message}. The sandbox's copy of the project is refreshed from the host at the next command; run the command again.`,
        { cause: error, details: { exitCode: exit.exitCode, sandbox: live.sandbox.id } },
      );
    }
  }

  /**
   * The sandbox's state as Daytona reports it now: `gone` when it no longer exists; `started` when
   * Daytona does not say (the original error is then reported as it is).
   */
  private stateOf(live: LiveSandbox): Promise<string> {
    const { sandbox } = live;
    return sandbox.refreshData().then(
      () => String(sandbox.state),
      (error: unknown) => (statusOf(error) === 404 ? "gone" : "started"),
    );
  }

  dispose(): Promise<void> {
    return this.runs.dispose(async () => {
      await this.pool.dispose();
      workspaceMirrorsOf(this).close();
      const client = await this.client?.catch(() => undefined);
      await client?.[Symbol.asyncDispose]().catch(() => {});
      this.logger.debug({}, "daytona backend disposed");
    });
  }
}
