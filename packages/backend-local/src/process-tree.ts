import { readdirSync, readFileSync } from "node:fs";
import { sleep } from "@stigmer/core";

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

/**
 * Processes whose environment holds a variable entry starting with `entry` (`NAME=value-prefix`),
 * found through /proc/<pid>/environ: what a command started, double-forked daemons included, as
 * long as they kept the environment they were started with. Only processes whose environment this
 * process may read (the same user; every user for root) are found; this process never is.
 */
function markedProcesses(entry: string, pids: readonly number[]): number[] {
  const needle = Buffer.from(`\0${entry}`);
  const found: number[] = [];
  for (const pid of pids) {
    if (pid === process.pid) continue;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${pid}/environ`);
    } catch {
      continue; // gone, or another user's
    }
    if (environ.subarray(0, needle.length - 1).equals(needle.subarray(1)) || environ.includes(needle)) found.push(pid);
  }
  return found;
}

function signal(target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig);
  } catch {
    // already gone
  }
}

/**
 * Kills the process group led by `pid` and every descendant found in /proc (which catches
 * processes that called setsid) and, with `marker` (`NAME=value` prefix of an environment entry),
 * every process carrying it with its descendants (which catches double-forked daemons, whose parent
 * is gone): SIGTERM first, SIGKILL to whatever is left after `graceMs`, then looks again, freezing
 * (SIGSTOP) what it finds before killing it so that a fork bomb cannot outrun it, until nothing is
 * left (at most 50 rounds or one more second). Zombies count as gone.
 */
export async function killTree(pid: number, graceMs: number, marker?: string): Promise<void> {
  const tracked = new Set<number>([pid]);
  /** Adds what the command started since the last look: descendants of tracked processes, marked ones. */
  const track = (procs: ProcInfo[]) => {
    if (marker)
      for (const p of markedProcesses(
        marker,
        procs.map((q) => q.pid),
      ))
        tracked.add(p);
    for (const p of [...tracked]) for (const d of descendantsOf(p, procs)) tracked.add(d);
  };
  const survivors = (procs: ProcInfo[]) => procs.filter((p) => !p.zombie && (p.pgrp === pid || tracked.has(p.pid))).map((p) => p.pid);

  track(snapshot());
  signal(-pid, "SIGTERM");
  for (const p of tracked) signal(p, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (survivors(snapshot()).length > 0 && Date.now() < deadline) await sleep(15);

  const killDeadline = Date.now() + 1000;
  for (let round = 0; round < 50; round++) {
    const procs = snapshot();
    track(procs);
    const left = survivors(procs);
    if (left.length === 0) return;
    if (Date.now() >= killDeadline) return;
    signal(-pid, "SIGSTOP");
    for (const p of left) signal(p, "SIGSTOP");
    signal(-pid, "SIGKILL");
    for (const p of left) signal(p, "SIGKILL");
    await sleep(10);
  }
}
