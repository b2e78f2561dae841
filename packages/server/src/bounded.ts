import { type ExecRequest, type ExecResult, type Executor, type RunOptions, TimeoutError } from "@stigmer/core";

/** Default of {@link BoundedRun.stopTimeoutMs}: 30 s. */
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;

/** Longest delay setTimeout honours (larger ones fire at once): core refuses such timeouts anyway. */
const MAX_TIMER_MS = 2_147_483_647;

export interface BoundedRun {
  /** Aborting it stops the command (cancel, client gone, shutdown); the bound aborts it too when it gives up. */
  controller: AbortController;
  /**
   * Once the command should have stopped — its `timeoutMs` passed, or `controller` was aborted —
   * how long the backend has to report its end before the caller stops waiting.
   */
  stopTimeoutMs: number;
}

/**
 * Runs a command with a promise that always settles. A backend reports a command's end within a
 * kill grace of its timeout or cancellation; one that does not (a hung sandbox, a process that
 * never started, a client that stopped reading the output) would hold whatever the caller holds —
 * a concurrency slot, an MCP call — for ever. `stopTimeoutMs` after the command should have
 * stopped, the promise rejects with `TIMEOUT` and the command is aborted (if it was not already).
 */
export async function runBounded(
  run: Executor["run"],
  request: ExecRequest,
  options: RunOptions,
  { controller, stopTimeoutMs }: BoundedRun,
): Promise<ExecResult> {
  const task = run({ ...request, signal: controller.signal }, options);
  let deadline: NodeJS.Timeout | undefined;
  let giveUp: NodeJS.Timeout | undefined;
  let abandon: ((error: Error) => void) | undefined;
  const abandoned = new Promise<never>((_, reject) => {
    abandon = reject;
  });
  let why = "";
  const stopped = () => {
    if (giveUp !== undefined) return;
    why ||= `it was stopped (${(controller.signal.reason as Error | undefined)?.message ?? "cancelled"})`;
    giveUp = setTimeout(() => {
      const error = new TimeoutError(
        `The command was not over ${stopTimeoutMs} ms after ${why} (its backend did not report its end, or its output could not be delivered): Stigmer stopped waiting for it.`,
        { details: { stopTimeoutMs } },
      );
      if (!controller.signal.aborted) controller.abort(error);
      abandon?.(error);
    }, stopTimeoutMs);
  };
  const timeoutMs = request.timeoutMs;
  if (typeof timeoutMs === "number" && timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS) {
    deadline = setTimeout(() => {
      why = `its timeout of ${timeoutMs} ms`;
      stopped();
    }, timeoutMs);
  }
  if (controller.signal.aborted) stopped();
  else controller.signal.addEventListener("abort", stopped, { once: true });
  try {
    return await Promise.race([task, abandoned]);
  } finally {
    clearTimeout(deadline);
    clearTimeout(giveUp);
    controller.signal.removeEventListener("abort", stopped);
    // A backend that settles after the bound gave up must not leave an unhandled rejection.
    task.catch(() => {});
  }
}
