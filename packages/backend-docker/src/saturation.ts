import type { SandboxStats } from "./agent-runner.js";

/** More processes than the agent and its helpers after a command ends: something was left running. */
export const LEFTOVER_PIDS = 4;

/** A sandbox at (or near) its pids or memory limit: a fork bomb or a leak that the next command must not inherit. */
export function saturated(stats: SandboxStats): string | undefined {
  const { pids, pidsMax, memory, memoryMax } = stats;
  if (pids != null && pidsMax != null && pidsMax > 0 && pids >= Math.max(pidsMax * 0.9, pidsMax - 16)) {
    return `${pids} of ${pidsMax} processes in use`;
  }
  if (memory != null && memoryMax != null && memoryMax > 0 && memoryMax < 2 ** 60 && memory >= memoryMax * 0.9) {
    return `${memory} of ${memoryMax} bytes of memory in use`;
  }
  return undefined;
}
