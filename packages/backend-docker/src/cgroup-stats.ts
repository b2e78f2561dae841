import { readFileSync } from "node:fs";
import type { SandboxStats } from "./agent-runner.js";

/**
 * Where a container's cgroup lives on this machine, for each layout Docker uses: cgroup v1 with the
 * cgroupfs driver, v2 with systemd, v2 with cgroupfs. `pids` and `memory` name the controllers (v1)
 * or are the same directory (v2).
 */
function layouts(id: string): { pids: string; memory: string; v1: boolean }[] {
  return [
    { pids: `/sys/fs/cgroup/pids/docker/${id}`, memory: `/sys/fs/cgroup/memory/docker/${id}`, v1: true },
    { pids: `/sys/fs/cgroup/system.slice/docker-${id}.scope`, memory: `/sys/fs/cgroup/system.slice/docker-${id}.scope`, v1: false },
    { pids: `/sys/fs/cgroup/docker/${id}`, memory: `/sys/fs/cgroup/docker/${id}`, v1: false },
    {
      pids: `/sys/fs/cgroup/pids/system.slice/docker-${id}.scope`,
      memory: `/sys/fs/cgroup/memory/system.slice/docker-${id}.scope`,
      v1: true,
    },
  ];
}

function read(path: string): number | null | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
  if (text === "max") return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * How full a container is, read from its cgroup files on this machine (an engine on this host):
 * microseconds, where the engine's stats endpoint can take a second. Undefined when the files are
 * not here (a remote engine, a VM, rootless Docker): ask the engine then.
 */
export function hostCgroupStats(containerId: string): SandboxStats | undefined {
  if (!/^[0-9a-f]{64}$/.test(containerId)) return undefined;
  for (const layout of layouts(containerId)) {
    const pids = read(`${layout.pids}/pids.current`);
    if (pids === undefined) continue;
    return {
      pids,
      pidsMax: read(`${layout.pids}/pids.max`) ?? null,
      memory: read(`${layout.memory}/${layout.v1 ? "memory.usage_in_bytes" : "memory.current"}`) ?? null,
      memoryMax: read(`${layout.memory}/${layout.v1 ? "memory.limit_in_bytes" : "memory.max"}`) ?? null,
    };
  }
  return undefined;
}
