// Process-tree helpers for the Daytona imitation (Linux: reads /proc).
//
// The daemon kills a session by signalling its process group (SIGTERM), walking the
// process tree for descendants that escaped the group, waiting for a grace period and
// then sending SIGKILL (apps/daemon/pkg/session/delete.go). These helpers do the same.

import { readdirSync, readFileSync } from "node:fs";

/** pid → { ppid, pgid, state } for every process visible in /proc. */
export function processTable() {
  const table = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // The command name may contain spaces and parentheses: the fixed fields follow the last ")".
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      table.set(Number(name), { state: fields[0], ppid: Number(fields[1]), pgid: Number(fields[2]) });
    } catch {
      // the process went away while we were reading
    }
  }
  return table;
}

/** Every descendant of `pid` (not including it) plus every member of process group `pgid`. */
export function treeAndGroup(pid, pgid = pid, table = processTable()) {
  const found = new Set();
  for (const [p, info] of table) if (info.pgid === pgid && info.state !== "Z") found.add(p);
  const children = new Map();
  for (const [p, info] of table) {
    if (!children.has(info.ppid)) children.set(info.ppid, []);
    children.get(info.ppid).push(p);
  }
  const stack = [pid];
  const visited = new Set([pid]);
  while (stack.length > 0) {
    const current = stack.pop();
    for (const child of children.get(current) ?? []) {
      if (visited.has(child)) continue;
      visited.add(child);
      if (table.get(child)?.state !== "Z") found.add(child);
      stack.push(child);
    }
  }
  if (table.get(pid) && table.get(pid).state !== "Z") found.add(pid);
  return found;
}

/** True while the process exists and is not a zombie. */
export function isAlive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Terminates a process group and every descendant of its leader the way the daemon deletes a
 * session (pkg/session/delete.go): SIGTERM to the group and the tree, wait up to `graceMs`
 * (checking every `checkMs`) until the leader's descendants are gone, then SIGKILL whatever is
 * left, leader included (the daemon's exec.CommandContext kills the shell when the session
 * context is cancelled; the shell itself may survive SIGTERM because the command wrapper traps
 * TERM). Resolves when nothing of the tree is alive (or after a final bounded wait).
 */
export async function killTree(pid, { pgid = pid, graceMs = 5000, checkMs = 100 } = {}) {
  const targets = treeAndGroup(pid, pgid);
  const rescan = () => {
    for (const p of treeAndGroup(pid, pgid)) targets.add(p);
  };
  signal(-pgid, "SIGTERM");
  for (const p of targets) signal(p, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    rescan();
    if ([...targets].every((p) => p === pid || !isAlive(p))) break;
    await sleep(checkMs);
  }
  rescan();
  signal(-pgid, "SIGKILL");
  for (const p of targets) signal(p, "SIGKILL");
  const killDeadline = Date.now() + 2000;
  while (Date.now() < killDeadline && [...targets].some((p) => isAlive(p))) await sleep(10);
}
