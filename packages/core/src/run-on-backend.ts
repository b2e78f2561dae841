import type { Backend, OutputSink } from "./backend.js";
import type { Decision } from "./detector.js";
import { CancelledError, CapabilityUnsupportedError, StigmerError, TimeoutError } from "./errors.js";
import { OutputCapture } from "./output-capture.js";
import { type ValidRequest, validateRequest } from "./request.js";
import type { ExecEvent, ExecRequest, ExecResult, ExecutionMode, Target } from "./types.js";
import type { WorkspaceReport } from "./workspace/apply.js";
import { checkWorkspaceRoot } from "./workspace/roots.js";
import { type WorkspaceSession, type WorkspaceStrategy, workspaceMirrorsOf } from "./workspace/session.js";

export type EventListener = (event: ExecEvent) => void | Promise<void>;

export interface RunContext {
  mode: ExecutionMode;
  target: Target;
  /** Configured name of the backend. */
  backendName: string;
  decision?: Decision;
  outputLimitBytes: number;
  /** Receives every event; a returned promise holds the backend until it settles (backpressure). */
  onEvent?: EventListener;
  /** Aborted when the owner shuts down (executor dispose): the command is cancelled. */
  shutdownSignal?: AbortSignal;
  /** For sandbox backends with workspace strategies: the session handed to the backend; its report goes in the exit event. */
  workspace?: WorkspaceSession & { report?: WorkspaceReport | undefined };
  /**
   * How long a backend has to end a command once it was told to stop (timeout, cancel, shutdown)
   * before the run gives up waiting on it; default {@link STOP_GRACE_MS}.
   */
  stopGraceMs?: number;
}

/** Default time a backend has to end a stopped command before the run stops waiting (and says so). */
export const STOP_GRACE_MS = 30_000;

/** Throws `CAPABILITY_UNSUPPORTED` when the request needs something the backend does not declare. */
export function requireCapabilities(backend: Backend, request: ValidRequest, backendName = backend.name): void {
  const missing: string[] = [];
  if (request.stdin !== undefined && !backend.capabilities.stdin) missing.push("stdin");
  if (Object.keys(request.env).length > 0 && !backend.capabilities.env) missing.push("env");
  if ((request.timeoutMs !== undefined || request.signal !== undefined) && !backend.capabilities.cancel) {
    missing.push("cancel (needed for a timeout or an abort signal)");
  }
  if (missing.length > 0) {
    throw new CapabilityUnsupportedError(
      `Backend "${backendName}" does not support ${missing.join(" and ")}: drop it from the request or choose another backend.`,
      { details: { backend: backendName, missing } },
    );
  }
}

/**
 * Runs one validated request on one backend: capability check, timeout and cancellation folded
 * into one abort signal, output retention with a limit, and the event sequence
 * `start → stdout/stderr/progress… → exit`. The executor uses it; so does the conformance suite.
 */
export async function runOnBackend(backend: Backend, request: ValidRequest, context: RunContext): Promise<ExecResult> {
  requireCapabilities(backend, request, context.backendName);
  if (request.signal?.aborted || context.shutdownSignal?.aborted) {
    throw new CancelledError("The request was cancelled before the command started.");
  }

  const controller = new AbortController();
  let timedOut = false;
  let listenerError: unknown;
  const onAbort = () => controller.abort(request.signal?.reason);
  const onShutdown = () => controller.abort(context.shutdownSignal?.reason);
  request.signal?.addEventListener("abort", onAbort, { once: true });
  context.shutdownSignal?.addEventListener("abort", onShutdown, { once: true });
  const timer =
    request.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          controller.abort(new TimeoutError(`The command ran longer than ${request.timeoutMs} ms.`));
        }, request.timeoutMs);

  const listener = context.onEvent;
  const emit = async (event: ExecEvent): Promise<void> => {
    if (!listener || listenerError !== undefined) return;
    try {
      await listener(event);
    } catch (error) {
      // A failing consumer must not leave the command running unobserved.
      listenerError = error;
      controller.abort(error);
    }
  };

  const stdout = new OutputCapture(context.outputLimitBytes);
  const stderr = new OutputCapture(context.outputLimitBytes);
  const sink: OutputSink = {
    write(stream, chunk) {
      (stream === "stderr" ? stderr : stdout).push(chunk);
      return listener ? emit({ type: stream, data: chunk }) : undefined;
    },
    progress(info) {
      void emit({ type: "progress", ...info });
    },
  };

  const startedAt = new Date();
  const started = performance.now();
  let exit: Awaited<ReturnType<Backend["exec"]>>;
  try {
    await emit({
      type: "start",
      id: request.id,
      mode: context.mode,
      target: context.target,
      backend: context.backendName,
      ...(context.decision ? { decision: context.decision } : {}),
      command: request.command,
      cwd: request.cwd,
      startedAt: startedAt.toISOString(),
    });
    const running = backend.exec(
      {
        id: request.id,
        command: request.command,
        cwd: request.cwd,
        env: request.env,
        ...(request.stdin !== undefined ? { stdin: request.stdin } : {}),
        ...(request.image !== undefined ? { image: request.image } : {}),
        ...(context.workspace ? { workspace: context.workspace } : {}),
        signal: controller.signal,
      },
      sink,
    );
    exit = await Promise.race([
      running,
      stopDeadline(controller.signal, running, context.stopGraceMs ?? STOP_GRACE_MS, context.backendName, () => timedOut),
    ]);
  } catch (error) {
    if (listenerError !== undefined) throw listenerError;
    if (timedOut && StigmerError.isInstance(error) && error.code === "CANCELLED") {
      throw new TimeoutError(
        `The timeout of ${request.timeoutMs} ms passed before the command started (preparing the ${context.target} took too long).`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    if (timer) clearTimeout(timer);
    request.signal?.removeEventListener("abort", onAbort);
    context.shutdownSignal?.removeEventListener("abort", onShutdown);
  }
  if (listenerError !== undefined) throw listenerError;

  const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
  const aborted = controller.signal.aborted;
  const exitEvent = {
    type: "exit" as const,
    id: request.id,
    exitCode: exit.exitCode,
    signal: exit.signal,
    timedOut: aborted && timedOut,
    cancelled: aborted && !timedOut,
    durationMs,
    truncated: stdout.truncated || stderr.truncated,
    ...(context.workspace?.report ? { workspace: context.workspace.report } : {}),
  };
  await emit(exitEvent);
  if (listenerError !== undefined) throw listenerError;

  const { type: _type, ...exitFields } = exitEvent;
  return {
    ...exitFields,
    mode: context.mode,
    target: context.target,
    backend: context.backendName,
    ...(context.decision ? { decision: context.decision } : {}),
    stdout: stdout.text(),
    stderr: stderr.text(),
    stdoutBytes: stdout.total,
    stderrBytes: stderr.total,
  };
}

/**
 * Rejects when a command told to stop has not ended within `graceMs`: a backend that never reports
 * its end must not hold the caller (and its slot, its process) forever. The backend's own promise
 * keeps running, its outcome ignored.
 */
function stopDeadline(
  signal: AbortSignal,
  running: Promise<unknown>,
  graceMs: number,
  backendName: string,
  timedOut: () => boolean,
): Promise<never> {
  return new Promise<never>((_, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onStop = () => {
      timer = setTimeout(() => {
        const what = `backend "${backendName}" did not end the command within ${graceMs} ms after it was told to stop; its processes may still be running`;
        reject(
          timedOut()
            ? new TimeoutError(`The command ran past its timeout and ${what}.`, { details: { stuck: true } })
            : new CancelledError(`The command was cancelled and ${what}.`, { details: { stuck: true } }),
        );
      }, graceMs);
    };
    if (signal.aborted) onStop();
    else signal.addEventListener("abort", onStop, { once: true });
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onStop);
    };
    running.then(done, done);
  });
}

export interface ExecuteOnOptions {
  /** Bytes of each stream retained in the result; default 1 MiB. */
  outputLimitBytes?: number;
  onEvent?: EventListener;
  /** Name reported in events; defaults to `backend.name`. */
  backendName?: string;
  /** Workspace strategy for a backend that declares strategies (default: its first). */
  workspace?: WorkspaceStrategy;
  /** How long the backend has to end a stopped command; default {@link STOP_GRACE_MS}. */
  stopGraceMs?: number;
}

/**
 * Runs a request directly on a backend instance, without configuration, plugins or mode
 * resolution: for tests and for embedding one backend. The request's `mode` is reported as given.
 */
export async function executeOn(backend: Backend, request: ExecRequest, options: ExecuteOnOptions = {}): Promise<ExecResult> {
  const valid = await validateRequest(request, {});
  const mode = valid.mode ?? "local";
  const strategy = options.workspace ?? backend.capabilities.workspace?.[0];
  let workspace: RunContext["workspace"];
  if (strategy !== undefined) {
    const root = checkWorkspaceRoot(valid.cwd, { protectedPaths: backend.protectedPaths?.() ?? [] });
    workspace = workspaceMirrorsOf(backend).session(root, strategy);
    valid.cwd = root;
  }
  return runOnBackend(backend, valid, {
    mode,
    target: mode === "sandbox" ? "sandbox" : "local",
    backendName: options.backendName ?? backend.name,
    outputLimitBytes: options.outputLimitBytes ?? 1024 * 1024,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(workspace ? { workspace } : {}),
    ...(options.stopGraceMs !== undefined ? { stopGraceMs: options.stopGraceMs } : {}),
  });
}
