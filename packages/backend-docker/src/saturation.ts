import type { SandboxStats } from "./agent-runner.js";

/** More processes than the agent and its helpers after a command ends: something was left running. */
export const LEFTOVER_PIDS = 4;

/** Share of the pids limit in use that counts as saturated. A fork bomb does not sit at its limit:
 * its processes keep dying as their forks fail, and it hovers a few percent under it (237 of 256
 * measured), so the mark is well below the limit, still far above any command's normal leftovers. */
export const PIDS_SATURATED = 0.85;

/** A sandbox at (or near) its pids or memory limit: a fork bomb or a leak that the next command must not inherit. */
export function saturated(stats: SandboxStats): string | undefined {
  const { pids, pidsMax, memory, memoryMax } = stats;
  if (pids != null && pidsMax != null && pidsMax > 0 && pids >= pidsMax * PIDS_SATURATED) {
    return `${pids} of ${pidsMax} processes in use`;
  }
  if (memory != null && memoryMax != null && memoryMax > 0 && memoryMax < 2 ** 60 && memory >= memoryMax * 0.9) {
    return `${memory} of ${memoryMax} bytes of memory in use`;
  }
  return undefined;
}
