import { existsSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  type Backend,
  type BackendCapabilities,
  type BackendExit,
  type BackendHealth,
  type BackendRequest,
  CancelledError,
  ConfigToken,
  checkWorkspaceRoot,
  ExecutionFailedError,
  inject,
  injectable,
  type Logger,
  LoggerToken,
  type OutputSink,
  PluginOptionsToken,
  RunTracker,
  type SandboxManager,
  type StigmerConfig,
  StigmerError,
  type WorkspaceSession,
  workspaceMirrorsOf,
} from "@stigmer/core";
import type Docker from "dockerode";
import { agentStats } from "./agent-files.js";
import { runViaAgent, type SandboxStats } from "./agent-runner.js";
import { hostCgroupStats } from "./cgroup-stats.js";
import { describeEndpoint, engineUnavailable, isConnectionError, statusOf } from "./docker-errors.js";
import { engineUnreachable, type ImageState, imageCheck } from "./docker-health.js";
import { type ResolvedDockerOptions, resolveDockerOptions } from "./docker-options.js";
import { type EngineApi, engineApi, loadDockerode } from "./engine-api.js";
import { runViaExec } from "./exec-runner.js";
import { type SandboxEnvironment, sandboxEnvironment } from "./sandbox-env.js";
import { SandboxGoneError, SandboxLostError } from "./sandbox-errors.js";
import { type Sandbox, SandboxPool } from "./sandbox-pool.js";
import { engineDir, engineId } from "./sandbox-state.js";
import { LEFTOVER_PIDS, saturated } from "./saturation.js";

/** agent/ of this package, from src/, dist/ or dist/bundle/. */
function agentDir(): string {
  for (let url = new URL("./agent/", import.meta.url); ; url = new URL("../../agent/", url)) {
    const path = fileURLToPath(url);
    if (existsSync(`${path}stigmer_agent.py`)) return path.replace(/\/$/, "");
    if (path === "/agent/") throw new Error("agent/stigmer_agent.py is missing from @stigmer/backend-docker");
  }
}
const AGENT_DIR = agentDir();
const PING_TIMEOUT_MS = 5000;

/** The engine endpoint as a stable string: DOCKER_HOST, or the default socket. */
function endpointKey(): string {
  return process.env.DOCKER_HOST || "unix:///var/run/docker.sock";
}

/**
 * Sandbox mode on Docker: each project directory gets a hardened container, reused while idle less
 * than STIGMER_SANDBOX_TTL and reclaimed after. By default (`sync`) no host directory is writable
 * from the container: the project is copied in, and what commands change comes back through
 * core's host-side checks; `mount` mounts the project instead (commands then run as the invoking user).
 */
@injectable()
export class DockerBackend implements Backend {
  readonly specificationVersion = "v1";
  readonly name = "docker";
  readonly capabilities: BackendCapabilities = {
    stdin: true,
    env: true,
    cancel: true,
    separateStreams: true,
    workspace: ["sync", "mount"],
  };
  readonly sandboxes: SandboxManager;
  /** dockerode, created on first use (a warm command does not need it: see engine-api.ts). */
  private dockerClient: Docker | undefined;
  private readonly api: EngineApi;
  private readonly options: ResolvedDockerOptions;
  private readonly environment: SandboxEnvironment;
  private readonly pool: SandboxPool;
  private reachable: Promise<void> | undefined;
  private readonly runs = new RunTracker({ disposed: "The docker backend has been disposed." });

  constructor(
    @inject(ConfigToken) private readonly config: StigmerConfig,
    @inject(LoggerToken) private readonly logger: Logger,
    @inject(PluginOptionsToken) options: Record<string, unknown>,
  ) {
    this.options = resolveDockerOptions(options);
    this.api = engineApi(process.env, () => this.docker);
    this.environment = sandboxEnvironment(config.sandbox);
    const endpoint = endpointKey();
    const stateBase = this.options.stateDir;
    this.pool = new SandboxPool(
      () => this.docker,
      this.api,
      config.sandbox,
      this.options,
      AGENT_DIR,
      this.environment,
      { id: engineId(endpoint), dir: async () => engineDir(stateBase, endpoint) },
      logger,
      (sandbox) => workspaceMirrorsOf(this).forget(sandbox.files.key),
    );
    const pool = this.pool;
    const ready = () => this.ensureReachable();
    this.sandboxes = {
      list: () => ready().then(() => pool.list()),
      remove: (id) => ready().then(() => pool.remove(id)),
      prune: (o) => ready().then(() => pool.prune(o)),
    };
  }

  /** dockerode reads DOCKER_HOST (unix://, tcp://, ssh://), DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. */
  private get docker(): Docker {
    this.dockerClient ??= new (loadDockerode())();
    return this.dockerClient;
  }

  /** The engine's socket and this backend's state: a project directory must never contain them. */
  protectedPaths(): readonly string[] {
    const paths = [this.options.stateDir];
    const endpoint = endpointKey();
    if (endpoint.startsWith("unix://")) {
      const socket = endpoint.slice("unix://".length);
      paths.push(socket);
      try {
        paths.push(realpathSync(socket));
      } catch {
        // no socket there: nothing more to protect
      }
    }
    return paths;
  }

  /**
   * Ok when the engine answers; its `sandbox-image` check says whether the configured image is
   * present (pulled on first use when absent). `details.sandbox`: what the sandboxes get from the
   * host (CAs, proxy settings) and the network.
   */
  async health(): Promise<BackendHealth> {
    // docker-modem keeps its default socket as a function until it has resolved it: ask for the path.
    const modem = this.docker.modem as unknown as { socketPath?: unknown; getSocketPath?: () => Promise<string | undefined> };
    const socket = typeof modem.socketPath === "function" ? await modem.getSocketPath?.().catch(() => undefined) : undefined;
    const endpoint = socket ? `unix://${socket}` : describeEndpoint(this.docker);
    const env = this.environment;
    const sandbox = {
      network: this.config.sandbox.network,
      workspace: this.config.sandbox.workspace ?? "sync",
      hostCAs: { enabled: this.config.sandbox.hostCAs, certificates: env.caCount, sources: env.caSources },
      hostProxy: { enabled: this.config.sandbox.hostProxy, variables: env.proxyShown },
    };
    try {
      await this.ensureReachable();
      const version = await this.docker.version();
      const state = await this.docker
        .getImage(this.config.sandbox.image)
        .inspect()
        .then(
          (): ImageState => ({ present: true }),
          (error: unknown): ImageState =>
            statusOf(error) === 404 ? { present: false } : { present: undefined, error: (error as Error)?.message ?? String(error) },
        );
      return {
        ok: true,
        message: `Docker ${version.Version} answers at ${endpoint}.`,
        checks: [imageCheck(this.config.sandbox, state)],
        details: { version: version.Version, endpoint, sandbox },
      };
    } catch (error) {
      const code = StigmerError.isInstance(error) && typeof error.details.code === "string" ? error.details.code : undefined;
      const image = this.config.sandbox.image;
      return {
        ...engineUnreachable(endpoint, code),
        ok: false,
        checks: [
          {
            name: "sandbox-image",
            ok: true,
            status: "skip",
            message: `Cannot check the image ${image}: the Docker engine does not answer`,
          },
        ],
        details: { endpoint, sandbox, error: (error as Error).message, ...(code ? { code } : {}) },
      };
    }
  }

  exec(request: BackendRequest, output: OutputSink): Promise<BackendExit> {
    // Dispose stops running commands the same way a cancellation does.
    return this.runs.exec(request, (r) => this.run(r, output));
  }

  private workspaceOf(request: BackendRequest): WorkspaceSession {
    if (request.workspace) return request.workspace;
    const root = checkWorkspaceRoot(request.cwd, { protectedPaths: this.protectedPaths() });
    return workspaceMirrorsOf(this).session(root, this.config.sandbox.workspace ?? "sync");
  }

  private async run(request: BackendRequest, output: OutputSink): Promise<BackendExit> {
    // The pool's first housekeeping (one listing of sandboxes) is the reachability check.
    await this.ensureReachable(() => this.pool.prepare());
    const workspace = this.workspaceOf(request);
    const spec = { image: request.image ?? this.config.sandbox.image, root: workspace.root, strategy: workspace.strategy };
    // A sandbox found gone before the command started (engine restarted, container removed from
    // outside) is recreated once; a command that had started is never run twice.
    // Replacing a saturated sandbox before the command does not use up this one retry.
    let goneRetried = false;
    for (;;) {
      const sandbox = await this.pool.acquire(spec, output, request.signal);
      if (sandbox.leftovers && this.pool.uses(sandbox) === 1) {
        // What the last command left running may have filled the sandbox since: a fresh one then. An
        // agent that gives no figures (its sandbox at the pids limit) counts as full.
        const stats = sandbox.channel ? await agentStats(sandbox.channel).catch((): SandboxStats => ({})) : await this.execStats(sandbox);
        const full = sandbox.channel && stats.pids === undefined ? "its agent gave no figures" : saturated(stats);
        if (full) {
          this.pool.invalidate(sandbox, `the sandbox is saturated (${full})`);
          this.pool.release(sandbox);
          continue;
        }
      }
      try {
        await this.syncIn(workspace, sandbox);
        if (request.signal.aborted) throw new CancelledError("The command was cancelled before it started.");
        const { exit, stats } = await this.runIn(sandbox, request, output);
        if (workspace.strategy === "sync" && stats.dirty !== false) await this.syncOut(workspace, sandbox, exit);
        const full = saturated(stats);
        if (full) this.pool.invalidate(sandbox, `the sandbox is saturated (${full})`);
        sandbox.leftovers = stats.pids != null && stats.pids > LEFTOVER_PIDS;
        return exit;
      } catch (error) {
        if (error instanceof SandboxGoneError && !goneRetried && !request.signal.aborted) {
          goneRetried = true;
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

  private async syncIn(workspace: WorkspaceSession, sandbox: Sandbox): Promise<void> {
    try {
      await workspace.syncIn(sandbox.files);
    } catch (error) {
      if (error instanceof SandboxGoneError || StigmerError.isInstance(error)) throw error;
      throw new ExecutionFailedError(`Could not copy the project into the sandbox: ${(error as Error).message}.`, { cause: error });
    }
  }

  private async syncOut(workspace: WorkspaceSession, sandbox: Sandbox, exit: BackendExit): Promise<void> {
    try {
      await workspace.syncOut(sandbox.files);
    } catch (error) {
      this.pool.invalidate(sandbox, "its changes could not be collected");
      throw new ExecutionFailedError(
        `The command ended (exit ${exit.exitCode ?? exit.signal}), but its changes could not be brought back from the sandbox: ${(error as Error).message}. They are lost with the sandbox; run the command again.`,
        { cause: error, details: { exitCode: exit.exitCode } },
      );
    }
  }

  private async runIn(sandbox: Sandbox, request: BackendRequest, output: OutputSink): Promise<{ exit: BackendExit; stats: SandboxStats }> {
    const keepBackground = this.config.sandbox.keepBackground;
    if (sandbox.channel) return runViaAgent(sandbox.channel, request, output, { user: sandbox.user, keepBackground });
    const exit = await runViaExec(this.docker, sandbox, request, output, {
      workspacePath: this.options.workspacePath,
      killGraceMs: this.options.killGraceMs,
      keepBackground,
    });
    return { exit, stats: await this.execStats(sandbox) };
  }

  /** The cgroup figures Docker reports (one sample, no waiting), for images without the agent. */
  private async execStats(sandbox: Sandbox): Promise<SandboxStats> {
    // An engine on this machine: its cgroup files answer at once (its stats endpoint may take a second).
    const found = (this.api.local ? hostCgroupStats(sandbox.id) : undefined) ?? (await this.engineStats(sandbox));
    return {
      ...found,
      pidsMax: this.options.pidsLimit || (found.pidsMax ?? null),
      memoryMax: this.options.memoryBytes || (found.memoryMax ?? null),
    };
  }

  /** The engine's stats endpoint, one sample. */
  private async engineStats(sandbox: Sandbox): Promise<SandboxStats> {
    type Sample = { pids_stats?: { current?: number; limit?: number }; memory_stats?: { usage?: number; limit?: number } };
    const sample = (await this.docker
      .getContainer(sandbox.id)
      .stats({ stream: false, "one-shot": true } as { stream: false })
      .catch(() => undefined)) as Sample | undefined;
    return {
      pids: sample?.pids_stats?.current ?? null,
      pidsMax: sample?.pids_stats?.limit ?? null,
      memory: sample?.memory_stats?.usage ?? null,
      memoryMax: sample?.memory_stats?.limit ?? null,
    };
  }

  /**
   * One answer from the engine within PING_TIMEOUT_MS, remembered; a failure is not remembered, so a
   * later call retries. The probe is a ping, or the first request the caller needs anyway (a
   * command's first listing of sandboxes), which saves a round trip.
   */
  private ensureReachable(probe: () => Promise<unknown> = () => this.api.ping()): Promise<void> {
    this.reachable ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          probe(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })), PING_TIMEOUT_MS);
          }),
        ]);
      } catch (error) {
        this.reachable = undefined;
        if (StigmerError.isInstance(error)) throw error;
        throw engineUnavailable(this.dockerClient, error);
      } finally {
        clearTimeout(timer);
      }
    })();
    return this.reachable;
  }

  dispose(): Promise<void> {
    return this.runs.dispose(async () => {
      await this.pool.dispose();
      workspaceMirrorsOf(this).close();
      this.logger.debug({}, "docker backend disposed");
    });
  }
}
