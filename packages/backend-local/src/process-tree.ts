import { readdirSync, readFileSync } from "node:fs";

interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  zombie: boolean;
}

/** Every process in /proc (Linux); empty where /proc is absent. */
function snapshot(): ProcInfo[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const out: ProcInfo[] = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses; split after the last ")".
    const [state, ppid, pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out.push({ pid, ppid: Number(ppid), pgrp: Number(pgrp), zombie: state === "Z" || state === "X" });
  }
  return out;
}

/** Every descendant of `pid` (children, grandchildren, …), including those that left its process group. */
export function descendantsOf(pid: number, procs: ProcInfo[] = snapshot()): number[] {
  const children = new Map<number, number[]>();
  for (const p of procs) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = children.get(queue.shift() as number) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

/** Live (not zombie) processes of process group `group` or in `tracked`. */
function survivors(group: number, tracked: Set<number>): number[] {
  return snapshot()
    .filter((p) => !p.zombie && (p.pgrp === group || tracked.has(p.pid)))
    .map((p) => p.pid);
}

function signal(target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Kills the process group led by `pid` and every descendant found in /proc (which catches
 * processes that called setsid): SIGTERM first, SIGKILL to whatever is left after `graceMs`, then
 * waits until nothing is left (at most one more second). Zombies count as gone.
 */
export async function killTree(pid: number, graceMs: number): Promise<void> {
  const tracked = new Set(descendantsOf(pid));
  tracked.add(pid);
  signal(-pid, "SIGTERM");
  for (const p of tracked) signal(p, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (survivors(pid, tracked).length > 0) {
    if (Date.now() >= deadline) break;
    await sleep(15);
  }
  const procs = snapshot();
  for (const p of tracked) for (const d of descendantsOf(p, procs)) tracked.add(d);
  if (survivors(pid, tracked).length === 0) return;
  signal(-pid, "SIGKILL");
  for (const p of survivors(pid, tracked)) signal(p, "SIGKILL");
  const killDeadline = Date.now() + 1000;
  while (Date.now() < killDeadline && survivors(pid, tracked).length > 0) await sleep(10);
}
