import { BusyError, type Decision, type ExecRequest, type ExecResult, type Executor, type RunOptions } from "@stigmer/core";
import { runBounded } from "./bounded.js";

/**
 * What the HTTP routes and the MCP tools need of an executor: run a checked request (its `signal`
 * cancels it) and ask the detector. An {@link Executor} is one; {@link boundedRunner} and
 * {@link Slots.limit} wrap one with the service's guarantees.
 */
export interface Runner {
  run(request: ExecRequest, options?: RunOptions): Promise<ExecResult>;
  detect(command: string): Promise<Decision>;
}

/** Aborts `controller` when `signal` aborts; returns what stops following it. */
function follow(controller: AbortController, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  const forward = () => controller.abort(signal.reason);
  if (signal.aborted) forward();
  else signal.addEventListener("abort", forward, { once: true });
  return () => signal.removeEventListener("abort", forward);
}

export interface BoundedRunnerOptions {
  /** Once a command should have stopped, how long its backend has to report its end (see {@link runBounded}). */
  stopTimeoutMs: number;
  /** Caps each request's timeout, and is its default when neither the request nor the configuration sets one. */
  maxTimeoutMs?: number;
}

/**
 * The executor as a runner whose promises always settle: each run gets the configured timeout
 * (capped by `maxTimeoutMs`) so that {@link runBounded} knows when the command should stop.
 */
export function boundedRunner(executor: Executor, { stopTimeoutMs, maxTimeoutMs }: BoundedRunnerOptions): Runner {
  return {
    detect: (command) => executor.detect(command),
    async run(request, options = {}) {
      let timeoutMs = request.timeoutMs ?? executor.config.timeoutMs;
      if (maxTimeoutMs !== undefined) timeoutMs = Math.min(timeoutMs ?? maxTimeoutMs, maxTimeoutMs);
      const controller = new AbortController();
      const unfollow = follow(controller, request.signal);
      try {
        const bounded = timeoutMs === undefined ? request : { ...request, timeoutMs };
        return await runBounded(executor.run.bind(executor), bounded, options, { controller, stopTimeoutMs });
      } finally {
        unfollow();
      }
    },
  };
}

/**
 * Counts running commands against a limit (more: `BUSY`), and stops them all at shutdown: the
 * concurrency gate of a server, shared by every route that runs commands (HTTP and MCP).
 */
export class Slots {
  active = 0;
  private readonly running = new Set<AbortController>();
  private idle: Array<() => void> = [];

  constructor(readonly max: number) {}

  /** `runner` with each run holding a slot while it runs. */
  limit(runner: Runner): Runner {
    return {
      detect: (command) => runner.detect(command),
      run: async (request, options) => {
        const release = this.acquire();
        const controller = new AbortController();
        const unfollow = follow(controller, request.signal);
        this.running.add(controller);
        try {
          return await runner.run({ ...request, signal: controller.signal }, options);
        } finally {
          unfollow();
          this.running.delete(controller);
          release();
        }
      },
    };
  }

  /** Aborts every running command (their runs still settle, and free their slots, as runners do). */
  stopAll(reason: Error): void {
    for (const controller of this.running) controller.abort(reason);
  }

  whenIdle(): Promise<void> {
    return this.active === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }

  private acquire(): () => void {
    if (this.active >= this.max) {
      throw new BusyError(
        `${this.active} commands are running, the most this server allows (--max-concurrency ${this.max}): retry shortly.`,
        {
          details: { limit: this.max },
        },
      );
    }
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      if (this.active === 0) for (const wake of this.idle.splice(0)) wake();
    };
  }
}
