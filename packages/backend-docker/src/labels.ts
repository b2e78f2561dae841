import { readFileSync } from "node:fs";
import { hostname } from "node:os";

/** Labels on every container Stigmer creates: how leftovers are found and reclaimed. */
export const LABELS = {
  managedBy: "dev.stigmer.managed-by",
  /** `host:pid:start` of the creating process; start (from /proc) guards against pid reuse. */
  owner: "dev.stigmer.owner",
  image: "dev.stigmer.image",
  /** Hash of image, workspace and settings: containers with the same key are interchangeable. */
  key: "dev.stigmer.key",
  workspace: "dev.stigmer.workspace",
  ttl: "dev.stigmer.ttl-seconds",
  cleanup: "dev.stigmer.cleanup",
  /** Host directory holding the agent socket and the heartbeat (its mtime + TTL = expiry). */
  stateDir: "dev.stigmer.state-dir",
  created: "dev.stigmer.created",
} as const;

export const MANAGED_BY = "stigmer";

function processStart(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  } catch {
    return "";
  }
}

/** This process, as written in the owner label. */
export const OWNER = `${hostname()}:${process.pid}:${processStart(process.pid)}`;

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
