import {
  type Backend,
  type BackendCapabilities,
  type BackendExit,
  type BackendHealth,
  type BackendRequest,
  BackendUnavailableError,
  ConfigToken,
  ExecutionFailedError,
  inject,
  injectable,
  type Logger,
  LoggerToken,
  type OutputSink,
  PluginOptionsToken,
  type SandboxManager,
  type StigmerConfig,
  shutdownController,
} from "@stigmer/core";
import { toStigmerError } from "./errors.js";
import { defaultWorkspaceKey, type ResolvedDaytonaOptions, resolveDaytonaOptions } from "./options.js";
import { DaytonaSandboxPool, type SandboxSpec } from "./sandbox-pool.js";
import { createDaytonaClient, type Daytona } from "./sdk.js";
import { runInSession, SandboxGoneError } from "./session-runner.js";

/**
 * Cloud mode: commands run in Daytona sandboxes through `@daytonaio/sdk`. One sandbox per
 * workspace (project directory, or `plugins.daytona.workspaceKey`), found by labels and reused
 * across executors, restarted when Daytona auto-stopped it; commands run in
 * `plugins.daytona.workspacePath` (default `~/workspace`) inside it. The host project directory is
 * not copied: the sandbox's own filesystem persists between commands.
 */
@injectable()
export class DaytonaBackend implements Backend {
  readonly name = "daytona";
  readonly capabilities: BackendCapabilities = { stdin: true, env: true, cancel: true, separateStreams: true };
  readonly sandboxes: SandboxManager;
  readonly options: ResolvedDaytonaOptions;
  private client: Promise<Daytona> | undefined;
  private readonly pool: DaytonaSandboxPool;
  private disposed = false;
  private readonly running = new Set<Promise<unknown>>();
  private readonly shutdown = shutdownController();

  constructor(
    @inject(ConfigToken) config: StigmerConfig,
    @inject(LoggerToken) private readonly logger: Logger,
    @inject(PluginOptionsToken) options: Record<string, unknown>,
  ) {
    this.options = resolveDaytonaOptions(config, options);
    this.pool = new DaytonaSandboxPool(() => this.daytona(), this.options, logger);
    const pool = this.pool;
    this.sandboxes = {
      list: () => this.guard(() => pool.list()),
      remove: (id) => this.guard(() => pool.remove(id)),
      prune: (o) => this.guard(() => pool.prune(o)),
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

  private guard<T>(fn: () => Promise<T>): Promise<T> {
    if (this.disposed) return Promise.reject(new BackendUnavailableError("The daytona backend has been disposed."));
    return fn();
  }

  async health(): Promise<BackendHealth> {
    try {
      const daytona = await this.daytona();
      await this.pool.call(
        "checking the API",
        () => daytona.list({ labels: { "dev.stigmer.managed-by": "stigmer" }, limit: 1 }).next(),
        true,
      );
      return {
        ok: true,
        message: `The Daytona API answers at ${this.options.apiUrl} and accepts the key.`,
        details: { apiUrl: this.options.apiUrl },
      };
    } catch (error) {
      return {
        ok: false,
        message: toStigmerError(error, "checking the API", this.options.apiUrl).message,
        details: { apiUrl: this.options.apiUrl },
      };
    }
  }

  exec(request: BackendRequest, output: OutputSink): Promise<BackendExit> {
    if (this.disposed) return Promise.reject(new BackendUnavailableError("The daytona backend has been disposed."));
    const task = this.run({ ...request, signal: AbortSignal.any([request.signal, this.shutdown.signal]) }, output);
    this.running.add(task);
    const forget = () => this.running.delete(task);
    task.then(forget, forget);
    return task;
  }

  private async run(request: BackendRequest, output: OutputSink): Promise<BackendExit> {
    const spec: SandboxSpec = {
      source: request.image ? { image: request.image } : this.options.source,
      workspaceKey: this.options.workspaceKey ?? defaultWorkspaceKey(request.cwd),
      workspaceDir: request.cwd,
    };
    // A sandbox found gone or stopped before the command started is replaced once; a command
    // that had started is never run twice.
    for (let attempt = 1; ; attempt++) {
      const live = await this.pool.acquire(spec, output, request.signal);
      try {
        return await runInSession(live, this.pool, request, output, this.options);
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

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.shutdown.abort();
    await Promise.allSettled([...this.running]);
    await this.pool.dispose();
    const client = await this.client?.catch(() => undefined);
    await client?.[Symbol.asyncDispose]().catch(() => {});
    this.logger.debug({}, "daytona backend disposed");
  }
}
