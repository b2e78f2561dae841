import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
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
  StigmerError,
  shutdownController,
} from "@stigmer/core";
import Docker from "dockerode";
import { runViaAgent } from "./agent-runner.js";
import { describeEndpoint, engineUnavailable, isConnectionError, statusOf } from "./docker-errors.js";
import { type ResolvedDockerOptions, resolveDockerOptions } from "./docker-options.js";
import { runViaExec } from "./exec-runner.js";
import { SandboxGoneError, SandboxLostError } from "./sandbox-errors.js";
import { type Sandbox, SandboxPool } from "./sandbox-pool.js";

/** agent/stigmer-agent.py of this package, from src/, dist/ or dist/bundle/. */
function agentScript(): string {
  for (let url = new URL("./agent/stigmer-agent.py", import.meta.url); ; url = new URL("../../agent/stigmer-agent.py", url)) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
    if (path === "/agent/stigmer-agent.py") throw new Error("agent/stigmer-agent.py is missing from @stigmer/backend-docker");
  }
}
const AGENT_SCRIPT = agentScript();
const PING_TIMEOUT_MS = 5000;

/**
 * Sandbox mode on Docker: each project directory gets a hardened container (mounted at
 * /workspace), reused while idle less than STIGMER_SANDBOX_TTL and reclaimed after.
 */
@injectable()
export class DockerBackend implements Backend {
  readonly name = "docker";
  readonly capabilities: BackendCapabilities = { stdin: true, env: true, cancel: true, separateStreams: true };
  readonly sandboxes: SandboxManager;
  private readonly docker: Docker;
  private readonly options: ResolvedDockerOptions;
  private readonly pool: SandboxPool;
  private reachable: Promise<void> | undefined;
  private disposed = false;
  private readonly running = new Set<Promise<unknown>>();
  private readonly shutdown = shutdownController();

  constructor(
    @inject(ConfigToken) private readonly config: StigmerConfig,
    @inject(LoggerToken) private readonly logger: Logger,
    @inject(PluginOptionsToken) options: Record<string, unknown>,
  ) {
    this.options = resolveDockerOptions(options);
    // dockerode reads DOCKER_HOST (unix://, tcp://, ssh://), DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.
    this.docker = new Docker();
    this.pool = new SandboxPool(this.docker, config.sandbox, this.options, AGENT_SCRIPT, logger);
    const pool = this.pool;
    const ready = () => this.ensureReachable();
    this.sandboxes = {
      list: () => ready().then(() => pool.list()),
      remove: (id) => ready().then(() => pool.remove(id)),
      prune: (o) => ready().then(() => pool.prune(o)),
    };
  }

  /**
   * Ok when the engine answers. `details.image` says whether the configured sandbox image is
   * present locally (`present: false` is still ok: it is pulled on first use when auto-pull is on).
   */
  async health(): Promise<BackendHealth> {
    // docker-modem keeps its default socket as a function until it has resolved it: ask for the path.
    const modem = this.docker.modem as unknown as { socketPath?: unknown; getSocketPath?: () => Promise<string | undefined> };
    const socket = typeof modem.socketPath === "function" ? await modem.getSocketPath?.().catch(() => undefined) : undefined;
    const endpoint = socket ? `unix://${socket}` : describeEndpoint(this.docker);
    try {
      await this.ensureReachable();
      const version = await this.docker.version();
      const name = this.config.sandbox.image;
      const image = await this.docker
        .getImage(name)
        .inspect()
        .then(
          () => ({ name, present: true }),
          (error: unknown) =>
            statusOf(error) === 404 ? { name, present: false } : { name, error: (error as Error)?.message ?? String(error) },
        );
      return {
        ok: true,
        message: `Docker ${version.Version} answers at ${endpoint}.`,
        details: { version: version.Version, endpoint, image },
      };
    } catch (error) {
      const code = StigmerError.isInstance(error) ? error.details.code : undefined;
      return { ok: false, message: (error as Error).message, details: { endpoint, ...(typeof code === "string" ? { code } : {}) } };
    }
  }

  exec(request: BackendRequest, output: OutputSink): Promise<BackendExit> {
    if (this.disposed) return Promise.reject(new BackendUnavailableError("The docker backend has been disposed."));
    // Dispose stops running commands the same way a cancellation does.
    const task = this.run({ ...request, signal: AbortSignal.any([request.signal, this.shutdown.signal]) }, output);
    this.running.add(task);
    const forget = () => this.running.delete(task);
    task.then(forget, forget);
    return task;
  }

  private async run(request: BackendRequest, output: OutputSink): Promise<BackendExit> {
    await this.ensureReachable();
    const spec = { image: request.image ?? this.config.sandbox.image, workspace: request.cwd };
    // A sandbox found gone before the command started (engine restarted, container removed from
    // outside) is recreated once; a command that had started is never run twice.
    for (let attempt = 1; ; attempt++) {
      const sandbox = await this.pool.acquire(spec, output, request.signal);
      try {
        return await this.runIn(sandbox, request, output);
      } catch (error) {
        if (error instanceof SandboxGoneError && attempt === 1 && !request.signal.aborted) {
          this.pool.invalidate(sandbox, error.message);
          continue;
        }
        if (error instanceof SandboxGoneError || error instanceof SandboxLostError) {
          this.pool.invalidate(sandbox, error.message);
          if (isConnectionError(await this.docker.ping().catch((e: unknown) => e))) {
            throw engineUnavailable(this.docker, error);
          }
          throw new ExecutionFailedError(
            `The sandbox container ${sandbox.name} stopped while the command was running (killed from outside, out of memory, or the engine restarted): run the command again to get a fresh sandbox.`,
            { cause: error, details: { container: sandbox.name } },
          );
        }
        throw error;
      } finally {
        this.pool.release(sandbox);
      }
    }
  }

  private runIn(sandbox: Sandbox, request: BackendRequest, output: OutputSink): Promise<BackendExit> {
    if (sandbox.mode === "agent") return runViaAgent(sandbox, request, output, this.options.workspacePath);
    return runViaExec(this.docker, sandbox, request, output, {
      workspacePath: this.options.workspacePath,
      killGraceMs: this.options.killGraceMs,
    });
  }

  /** One ping, remembered; a failure is not remembered, so a later call retries. */
  private ensureReachable(): Promise<void> {
    this.reachable ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          this.docker.ping(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })), PING_TIMEOUT_MS);
          }),
        ]);
      } catch (error) {
        this.reachable = undefined;
        throw engineUnavailable(this.docker, error);
      } finally {
        clearTimeout(timer);
      }
    })();
    return this.reachable;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.shutdown.abort();
    await Promise.allSettled([...this.running]);
    await this.pool.dispose();
    this.logger.debug({}, "docker backend disposed");
  }
}
