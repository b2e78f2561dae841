import { shutdownController } from "../abort.js";
import { BackendUnavailableError } from "../errors.js";

export interface RunTrackerOptions {
  /**
   * What a call after {@link RunTracker.dispose} is refused with (BACKEND_UNAVAILABLE), e.g.
   * "The firecracker backend has been disposed." Say what to do when there is something to do.
   */
  disposed: string;
  /** The reason the shutdown signal aborts with (`signal.reason`); default an AbortError. */
  shutdownReason?: unknown;
}

/**
 * The running commands of a backend (or of anything that runs tasks and can be disposed): each
 * task gets a signal that aborts when its caller's does or at {@link dispose}; dispose waits
 * until every task has settled, then runs the owner's cleanup; later calls are refused with
 * BACKEND_UNAVAILABLE.
 *
 * ```ts
 * private readonly runs = new RunTracker({ disposed: "The acme backend has been disposed." });
 * exec(request: BackendRequest, output: OutputSink) {
 *   return this.runs.exec(request, (r) => this.run(r, output));
 * }
 * dispose() {
 *   return this.runs.dispose(() => this.pool.dispose());
 * }
 * ```
 */
export class RunTracker {
  private readonly shutdown = shutdownController();
  private readonly running = new Set<Promise<unknown>>();
  private disposing: Promise<void> | undefined;

  constructor(private readonly options: RunTrackerOptions) {}

  /** Aborts at {@link dispose}: for work that is not a tracked task but must stop too. */
  get signal(): AbortSignal {
    return this.shutdown.signal;
  }

  /** True once {@link dispose} has been called. */
  get disposed(): boolean {
    return this.disposing !== undefined;
  }

  /** Commands running now. */
  get size(): number {
    return this.running.size;
  }

  /**
   * Runs `task` as a tracked task. Its signal aborts when `signal` (the caller's) does or at
   * dispose. After dispose, rejects with BACKEND_UNAVAILABLE without calling `task`.
   */
  run<T>(signal: AbortSignal | undefined, task: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.disposing) return Promise.reject(new BackendUnavailableError(this.options.disposed));
    let promise: Promise<T>;
    try {
      promise = task(signal ? AbortSignal.any([signal, this.shutdown.signal]) : this.shutdown.signal);
    } catch (error) {
      promise = Promise.reject(error);
    }
    this.running.add(promise);
    const forget = () => this.running.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  /**
   * {@link run} for a backend's `exec`: `task` gets the request with a signal that also aborts at
   * dispose. `exec(request, output) { return this.runs.exec(request, (r) => this.run(r, output)); }`
   */
  exec<R extends { signal: AbortSignal }, T>(request: R, task: (request: R) => Promise<T>): Promise<T> {
    return this.run(request.signal, (signal) => task({ ...request, signal }));
  }

  /** `fn()`, untracked, unless disposed (then BACKEND_UNAVAILABLE): for calls that start no command. */
  whileOpen<T>(fn: () => Promise<T>): Promise<T> {
    if (this.disposing) return Promise.reject(new BackendUnavailableError(this.options.disposed));
    return fn();
  }

  /**
   * Aborts every running task, waits until they have all settled (however they end), then runs
   * `cleanup` (once). Idempotent: every call returns the first call's promise.
   */
  dispose(cleanup?: () => Promise<unknown> | unknown): Promise<void> {
    this.disposing ??= (async () => {
      this.shutdown.abort(this.options.shutdownReason);
      await Promise.allSettled([...this.running]);
      await cleanup?.();
    })();
    return this.disposing;
  }
}
