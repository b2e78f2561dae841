import "reflect-metadata";
import type { Backend } from "./backend.js";
import type { StigmerConfig } from "./config.js";
import type { Decision, DetectionContext, Detector } from "./detector.js";
import { type DependencyContainer, type InjectionToken, inject, injectable, instantiatePlugin, type PluginInstance } from "./di.js";
import {
  BackendUnavailableError,
  CapabilityUnsupportedError,
  isUsageError,
  PluginLoadError,
  SandboxUnavailableError,
  StigmerError,
} from "./errors.js";
import { EventChannel } from "./event-channel.js";
import { RunTracker } from "./kit/run-tracker.js";
import { within } from "./kit/sleep.js";
import { type Logger, scrubSecrets } from "./logger.js";
import { stigmerInstallDirs } from "./own-install.js";
import type { StigmerPlugin } from "./plugin.js";
import { checkSpecificationVersion, loadPlugin, type PluginLoaderOptions, pluginPackage } from "./plugin-loader.js";
import { resolvePluginOptions } from "./plugin-settings.js";
import { checkCommand, validateRequest } from "./request.js";
import { type EventListener, runOnBackend, STOP_GRACE_MS } from "./run-on-backend.js";
import { stateDir } from "./state-dir.js";
import { BackendToken, ConfigToken, DetectorToken, LoggerToken, PluginOptionsToken } from "./tokens.js";
import type { ExecEvent, ExecRequest, ExecResult, Target } from "./types.js";
import { checkWorkspaceRoot } from "./workspace/roots.js";
import { workspaceMirrorsOf } from "./workspace/session.js";

/** Token for the plugin loader options an executor uses. */
export const PluginLoaderOptionsToken = Symbol.for("stigmer.plugin-loader-options");
/** Token for the executor's own DI container (its child containers hold the plugins). */
export const ContainerToken = Symbol.for("stigmer.container");

export interface RunOptions {
  /** Receives every event as it happens; a returned promise applies backpressure to the command. */
  onEvent?: EventListener;
}

/** A running execution as a stream of events; `result` settles when it ends. */
export interface ExecutionStream extends AsyncIterable<ExecEvent> {
  readonly result: Promise<ExecResult>;
}

type LoadedPlugin<T> = PluginInstance<T>;

/**
 * Runs commands where the configuration and, in auto mode, the detector say. Create one with
 * `createExecutor()`; dispose it (`await executor.dispose()` or `await using`) to kill running
 * commands and reclaim sandboxes.
 */
@injectable()
export class Executor implements AsyncDisposable {
  private readonly backends = new Map<string, Promise<LoadedPlugin<Backend>>>();
  private detectorPlugin: Promise<LoadedPlugin<Detector>> | undefined;
  private readonly runs = new RunTracker({
    disposed: "This executor has been disposed: create a new one.",
    shutdownReason: new BackendUnavailableError("The executor is shutting down."),
  });
  /** Values of the loaded plugins' secret settings: scrubbed from logs and from the errors this executor reports. */
  private readonly secrets = new Set<string>();

  constructor(
    @inject(ConfigToken) readonly config: StigmerConfig,
    @inject(LoggerToken) private readonly logger: Logger,
    @inject(PluginLoaderOptionsToken) private readonly loaderOptions: PluginLoaderOptions,
    @inject(ContainerToken) private readonly container: DependencyContainer,
  ) {}

  /**
   * Runs one command and resolves with its result once it has ended (a non-zero exit code is a
   * result, not an error). Rejects with a StigmerError when it cannot run: `INVALID_REQUEST`,
   * `SANDBOX_UNAVAILABLE`, `BACKEND_UNAVAILABLE`, `PLUGIN_LOAD_FAILED`, `CAPABILITY_UNSUPPORTED`, …
   */
  run(request: ExecRequest, options: RunOptions = {}): Promise<ExecResult> {
    return this.runs.run(undefined, () => this.runNow(request, options));
  }

  /**
   * Runs one command and yields its events as they happen, with backpressure: a consumer that
   * reads slowly slows the command's output. Leaving the loop early cancels the command.
   */
  stream(request: ExecRequest): ExecutionStream {
    const channel = new EventChannel<ExecEvent>();
    const controller = new AbortController();
    const outer = request.signal;
    const onOuterAbort = () => controller.abort(outer?.reason);
    if (outer?.aborted) controller.abort(outer.reason);
    outer?.addEventListener("abort", onOuterAbort, { once: true });
    const result = this.run({ ...request, signal: controller.signal }, { onEvent: (event) => channel.push(event) });
    result.then(
      () => channel.close(),
      (error) => channel.close(error),
    );
    const settle = result.finally(() => outer?.removeEventListener("abort", onOuterAbort));
    settle.catch(() => {});
    return {
      result: settle,
      async *[Symbol.asyncIterator]() {
        let finished = false;
        try {
          for await (const event of channel) {
            yield event;
            if (event.type === "exit") finished = true;
          }
          finished = true;
        } finally {
          if (!finished) {
            controller.abort(new Error("The event stream was closed by its consumer."));
            channel.abandon();
            await settle.catch(() => {});
          }
        }
      },
    };
  }

  /** Asks the configured detector where `command` would run in auto mode. Never runs anything. */
  async detect(command: string, context: Partial<DetectionContext> = {}): Promise<Decision> {
    checkCommand(command);
    return this.decide((await this.loadDetector()).instance, command, context);
  }

  /**
   * Loads the configured detector and returns a function that decides exactly as {@link detect}
   * does (the same checks, the same fail-closed decision), but answers synchronously when the
   * detector does. For callers that classify many commands in a row (`stigmer detect --jsonl`),
   * where a promise per command costs more than the decision. Rejects as `detect` does when the
   * detector cannot be loaded.
   */
  async decider(): Promise<(command: string, context?: Partial<DetectionContext>) => Decision | Promise<Decision>> {
    const detector = (await this.loadDetector()).instance;
    return (command, context = {}) => {
      checkCommand(command);
      return this.decide(detector, command, context);
    };
  }

  /** Runs the detector; a promise only when it returned one. A detector that throws or answers nonsense fails closed. */
  private decide(detector: Detector, command: string, context: Partial<DetectionContext>): Decision | Promise<Decision> {
    const ctx: DetectionContext = { cwd: context.cwd ?? process.cwd(), ...(context.env ? { env: context.env } : {}) };
    let answer: Decision | PromiseLike<Decision>;
    try {
      answer = detector.detect(command, ctx);
    } catch (error) {
      return this.detectorFailed(detector, error);
    }
    // As `await` would: anything with a then() is waited for.
    if (typeof (answer as PromiseLike<Decision> | undefined)?.then === "function") {
      return Promise.resolve(answer).then(
        (decision) => this.checkDecision(detector, decision),
        (error: unknown) => this.detectorFailed(detector, error),
      );
    }
    return this.checkDecision(detector, answer as Decision);
  }

  private checkDecision(detector: Detector, decision: Decision): Decision {
    try {
      if (!decision || (decision.target !== "local" && decision.target !== "sandbox")) {
        throw new Error(`returned ${JSON.stringify(decision)}`);
      }
      return decision;
    } catch (error) {
      return this.detectorFailed(detector, error);
    }
  }

  /** The contract says a detector never throws; if one does, fail closed. */
  private detectorFailed(detector: Detector, error: unknown): Decision {
    this.logger.warn({ err: error, detector: detector.name }, "detector failed; sending the command to the sandbox");
    return {
      target: "sandbox",
      rules: ["detector-error"],
      reason: `The detector "${detector.name}" failed (${(error as Error)?.message ?? String(error)}), so the command goes to the sandbox.`,
    };
  }

  /** The backend that runs commands for `target`, loading its plugin on first use. */
  async backend(target: Target): Promise<Backend> {
    return (await this.loadBackend(target)).instance;
  }

  /** Kills running commands, then disposes every plugin (backends reclaim their sandboxes). Idempotent. */
  dispose(): Promise<void> {
    // Runs end within their stop grace of the shutdown (run-on-backend.ts); a plugin's own dispose gets the same.
    return this.runs.dispose(async () => {
      const loaded = await Promise.allSettled([...this.backends.values(), ...(this.detectorPlugin ? [this.detectorPlugin] : [])]);
      await Promise.allSettled(loaded.map((r) => (r.status === "fulfilled" ? within(r.value.dispose(), STOP_GRACE_MS) : undefined)));
      for (const r of loaded) if (r.status === "fulfilled") workspaceMirrorsOf(r.value.instance as object).close();
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  private async runNow(request: ExecRequest, options: RunOptions): Promise<ExecResult> {
    const started = performance.now();
    let valid: Awaited<ReturnType<typeof validateRequest>> | undefined;
    let decision: Decision | undefined;
    let target: Target | undefined;
    let backendName: string | undefined;
    try {
      valid = await validateRequest(request, this.config.timeoutMs === undefined ? {} : { timeoutMs: this.config.timeoutMs });
      const mode = valid.mode ?? this.config.mode;
      // Auto mode judges paths against the project directory: it needs a real project, as a sandbox does.
      if (mode !== "local") valid.cwd = this.workspaceRoot(valid.cwd);
      if (mode === "auto") {
        decision = await this.detect(valid.command, { cwd: valid.cwd, env: valid.env });
        target = decision.target;
      } else {
        target = mode;
      }
      backendName = this.backendName(target, decision);
      const backend = (await this.loadBackend(target, decision)).instance;
      const workspace =
        target === "sandbox" ? this.workspaceSession(backend, backendName, this.workspaceRoot(valid.cwd, backend), decision) : undefined;
      if (workspace) valid.cwd = workspace.root;
      const result = await runOnBackend(backend, valid, {
        mode,
        target,
        backendName,
        ...(decision ? { decision } : {}),
        outputLimitBytes: this.config.outputLimitBytes,
        ...(options.onEvent ? { onEvent: options.onEvent } : {}),
        ...(workspace ? { workspace } : {}),
        shutdownSignal: this.runs.signal,
      });
      this.logExecution(valid, { result });
      return result;
    } catch (error) {
      this.logExecution(valid, { error, target, backendName, decision, durationMs: performance.now() - started });
      throw this.scrubbed(error);
    }
  }

  /** The values of every loaded plugin's secret settings (for callers that report what plugins say, such as `diagnose`). */
  knownSecrets(): string[] {
    return [...this.secrets];
  }

  /** `error` with the plugins' secrets replaced by `[redacted]` in its message. */
  scrubbed<E>(error: E): E {
    if (error instanceof Error && this.secrets.size > 0) {
      const clean = scrubSecrets(error.message, this.secrets);
      if (clean !== error.message) error.message = clean;
    }
    return error;
  }

  /**
   * Loads every configured plugin (the local and sandbox backends and the detector) and validates
   * its settings, without constructing it: `stigmer doctor` calls this. Throws `INVALID_CONFIG` or
   * `PLUGIN_LOAD_FAILED` for the first that fails. Commands validate a plugin's settings when they
   * first load it.
   */
  async checkPluginSettings(): Promise<void> {
    const plugins: [string | undefined, StigmerPlugin["kind"]][] = [
      [this.config.localBackend, "backend"],
      [this.config.sandbox.backend, "backend"],
      [this.config.detector, "detector"],
    ];
    for (const [name, kind] of plugins) {
      if (name === undefined) continue;
      const plugin = await loadPlugin(name, kind, this.pluginLoader());
      resolvePluginOptions(plugin, name, pluginPackage(name, this.config.aliases), this.config);
    }
  }

  private pluginLoader(): PluginLoaderOptions {
    return { aliases: this.config.aliases, ...this.loaderOptions };
  }

  /** The project directory as a sandbox may receive it (real path), or INVALID_REQUEST saying why not. */
  private workspaceRoot(cwd: string, backend?: Backend): string {
    return checkWorkspaceRoot(cwd, {
      protectedPaths: [stateDir(), ...(backend?.protectedPaths?.() ?? [])],
      allowedRoots: this.config.sandbox.allowedRoots,
    });
  }

  /** The workspace session for a sandbox backend that declares strategies; CAPABILITY_UNSUPPORTED for a strategy it lacks. */
  private workspaceSession(backend: Backend, backendName: string, root: string, decision: Decision | undefined) {
    const declared = backend.capabilities.workspace ?? [];
    const hold = decision?.holdChanges === true;
    // A command that would destroy the project's work must not write the project directly: held changes need a copy.
    const wanted = hold && this.config.sandbox.workspace === "mount" && declared.includes("sync") ? "sync" : this.config.sandbox.workspace;
    if (declared.length === 0) {
      if (wanted === undefined) return undefined;
      throw new CapabilityUnsupportedError(
        `The sandbox backend "${backendName}" does not support workspace strategies, but STIGMER_SANDBOX_WORKSPACE=${wanted}: unset it or choose another backend.`,
        { details: { backend: backendName, missing: ["workspace"] } },
      );
    }
    const strategy = wanted ?? (declared[0] as NonNullable<typeof wanted>);
    if (!declared.includes(strategy)) {
      throw new CapabilityUnsupportedError(
        `The sandbox backend "${backendName}" does not support the "${strategy}" workspace strategy (it supports ${declared.join(", ")}): set STIGMER_SANDBOX_WORKSPACE to one of those.`,
        { details: { backend: backendName, missing: [`workspace:${strategy}`] } },
      );
    }
    return workspaceMirrorsOf(backend, {
      logger: this.logger,
      maxSyncBytes: this.config.sandbox.maxSyncBytes,
      protectedDirs: stigmerInstallDirs(),
    }).session(root, strategy, { hold });
  }

  private backendName(target: Target, decision?: Decision): string {
    const name = target === "local" ? this.config.localBackend : this.config.sandbox.backend;
    if (name === undefined) {
      throw new SandboxUnavailableError(
        `${sandboxNeed(decision)}, but no sandbox backend is configured: set STIGMER_SANDBOX_BACKEND (or sandbox.backend in the config file) to a sandbox backend plugin's package name, or run the command with --mode=local if it is safe on this machine. Stigmer never falls back to the host on its own.`,
        { details: { backend: null, ...(decision ? { rules: decision.rules } : {}) } },
      );
    }
    return name;
  }

  private loadBackend(target: Target, decision?: Decision): Promise<LoadedPlugin<Backend>> {
    let name: string;
    try {
      name = this.backendName(target, decision);
    } catch (error) {
      return Promise.reject(error);
    }
    let loaded = this.backends.get(name);
    if (!loaded) {
      loaded = this.instantiate<Backend>(name, "backend", BackendToken);
      this.backends.set(name, loaded);
      // A failed load is not cached: the package may be installed by the next call.
      loaded.catch(() => this.backends.delete(name));
    }
    if (target === "local") return loaded;
    return loaded.catch((error: unknown) => {
      // A plugin the program ships under a short name (the CLI's optional sandbox backends): say how to add it.
      if (PluginLoadError.isInstance(error) && error.details.reason === "not-installed" && Object.hasOwn(this.config.aliases, name)) {
        const why = sandboxNeed(decision);
        // An embedder (the CLI) that knows how it was installed says how to add the package.
        const install = typeof error.details.install === "string" ? `Install it (${error.details.install})` : "Install it";
        throw new SandboxUnavailableError(
          `${why}, but the sandbox backend "${name}" (${pluginPackage(name, this.config.aliases)}) is not installed. ${install}, or run the command with --mode=local if it is safe on this machine. Stigmer never falls back to the host on its own.`,
          { cause: error, details: { backend: name, ...(decision ? { rules: decision.rules } : {}) } },
        );
      }
      throw error;
    });
  }

  private loadDetector(): Promise<LoadedPlugin<Detector>> {
    if (!this.detectorPlugin) {
      this.detectorPlugin = this.instantiate<Detector>(this.config.detector, "detector", DetectorToken);
      this.detectorPlugin.catch(() => {
        this.detectorPlugin = undefined;
      });
    }
    return this.detectorPlugin;
  }

  private async instantiate<T>(name: string, kind: StigmerPlugin["kind"], token: InjectionToken<T>): Promise<LoadedPlugin<T>> {
    const plugin = await loadPlugin(name, kind, this.pluginLoader());
    const pkg = pluginPackage(name, this.config.aliases);
    // Settings are validated when the plugin loads: a bad value is INVALID_CONFIG naming its variable or key.
    const { options, secrets } = resolvePluginOptions(plugin, name, pkg, this.config);
    for (const secret of secrets) this.secrets.add(secret);
    const contract = kind === "backend" ? "Backend" : "Detector";
    return instantiatePlugin<T>(
      this.container,
      plugin,
      { name, package: pkg },
      token,
      (instance) => {
        const ok =
          kind === "backend"
            ? typeof (instance as Backend).exec === "function" && typeof (instance as Backend).capabilities === "object"
            : typeof (instance as Detector).detect === "function";
        if (!ok) return `the registered class does not implement the ${contract} contract`;
        checkSpecificationVersion(
          (instance as { specificationVersion?: unknown }).specificationVersion,
          `The ${contract} that "${pkg}" registers`,
          {
            plugin: name,
            package: pkg,
          },
        );
        return undefined;
      },
      (child) => {
        child.register(LoggerToken, { useValue: this.logger.child({ plugin: name }) });
        child.register(PluginOptionsToken, { useValue: options });
      },
    );
  }

  private logExecution(
    request: Awaited<ReturnType<typeof validateRequest>> | undefined,
    outcome: {
      result?: ExecResult;
      error?: unknown;
      target?: Target | undefined;
      backendName?: string | undefined;
      decision?: Decision | undefined;
      durationMs?: number;
    },
  ): void {
    const secrets = [...Object.values(request?.env ?? {}), ...this.secrets];
    const command = request
      ? scrubSecrets(request.command.length > 500 ? `${request.command.slice(0, 500)}…` : request.command, secrets)
      : undefined;
    const { result, error } = outcome;
    const decision = result?.decision ?? outcome.decision;
    const record = {
      id: request?.id,
      command,
      cwd: request?.cwd,
      mode: result?.mode ?? request?.mode ?? this.config.mode,
      target: result?.target ?? outcome.target,
      backend: result?.backend ?? outcome.backendName,
      ...(decision ? { rules: decision.rules, reason: scrubSecrets(decision.reason, secrets) } : {}),
    };
    if (result) {
      const { exitCode, signal, timedOut, cancelled, durationMs, truncated, stdoutBytes, stderrBytes } = result;
      this.logger.info(
        { ...record, exitCode, signal, timedOut, cancelled, durationMs, truncated, stdoutBytes, stderrBytes },
        "execution finished",
      );
    } else {
      const code = StigmerError.isInstance(error) ? error.code : "INTERNAL";
      const message = scrubSecrets((error as Error)?.message ?? String(error), secrets);
      // Invalid input is the caller's mistake, reported to the caller; backend failures are the operator's concern.
      const level = isUsageError(error) ? "info" : "warn";
      this.logger[level]({ ...record, code, error: message, durationMs: Math.round(outcome.durationMs ?? 0) }, "execution failed");
    }
  }
}

/** Why a command needs the sandbox, to begin a SANDBOX_UNAVAILABLE message. */
function sandboxNeed(decision: Decision | undefined): string {
  return decision
    ? `Auto mode sent this command to the sandbox (${decision.rules.join(", ")}: ${decision.reason})`
    : "This command needs the sandbox";
}
