import { setTimeout as delay } from "node:timers/promises";

const POLL_MS = 20;

/**
 * Stops every process in the group `pgid`: SIGTERM, then SIGKILL to whatever is left after
 * `graceMs`. Resolves once the group is gone or SIGKILL has been sent.
 *
 * A process that starts its own session (`setsid`) leaves the group and is not reached;
 * `@stigmer/backend-local` also walks /proc to catch those. An exited process that its parent has
 * not yet reaped still counts as present, so under an init that reaps late the stop takes the
 * whole grace period.
 */
export async function killProcessGroup(pgid: number, graceMs: number): Promise<void> {
  signalGroup(pgid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (signalGroup(pgid, 0)) {
    if (Date.now() >= deadline) {
      signalGroup(pgid, "SIGKILL");
      return;
    }
    await delay(POLL_MS);
  }
}

/** Signals the whole group (signal 0 only checks); false once no process is left in it. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    // A negative pid addresses the process group.
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}
