import { readFileSync } from "node:fs";
import { hostname } from "node:os";

/**
 * Who made a sandbox, for backends that keep sandboxes around and must tell a live owner from a
 * dead one: `host:pid:start`, where start (the process start time from /proc) guards against pid
 * reuse. Backends write it in a label and read it back with {@link ownerAlive}.
 */
function processStart(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  } catch {
    return "";
  }
}

/** This process, as written in an owner label. */
export const PROCESS_OWNER = `${hostname()}:${process.pid}:${processStart(process.pid)}`;

/** False only when the owner is on this host and its process is certainly gone. */
export function ownerAlive(owner: string | undefined): boolean {
  if (!owner) return false;
  const [host, pidText, start] = owner.split(":");
  if (host !== hostname()) return true; // another machine's business
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
  return !start || processStart(pid) === start;
}
