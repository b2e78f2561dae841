import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Logger, ownerShown, type SandboxInfo } from "@stigmer/core";
import type Docker from "dockerode";
import { engineUnavailable, isConnectionError, statusOf } from "./docker-errors.js";
import type { EngineApi } from "./engine-api.js";
import { LABELS, MANAGED_BY, OWNER, ownerAlive } from "./labels.js";
import { lastUse, recordExpiry, removeSandboxDir } from "./sandbox-state.js";

/** A stopped container or a directory younger than this may still be starting in another process. */
export const STARTING_GRACE_MS = 60_000;

/** True when the container's state directory is in this engine's directory (this user's, on this machine). */
export function isOurs(c: Docker.ContainerInfo, engineDirPath: string): boolean {
  const dir = c.Labels[LABELS.stateDir];
  return dir?.startsWith(`${engineDirPath}/`) === true;
}

/**
 * True when nobody will use this container again, judged from the host's own record (its mtime is
 * the last use), never from anything the sandbox can write: stopped, expired, or orphaned with
 * cleanup on. Only containers whose record lives in this engine's directory are judged.
 */
export function isReclaimable(c: Docker.ContainerInfo, engineDirPath: string, now = Date.now()): boolean {
  if (!isOurs(c, engineDirPath)) return false;
  const labels = c.Labels;
  const ownerGone = !ownerAlive(labels[LABELS.owner]);
  if (c.State !== "running") return ownerGone || now - c.Created * 1000 > STARTING_GRACE_MS;
  if (labels[LABELS.cleanup] === "true" && ownerGone) return true;
  const expires = recordExpiry(labels[LABELS.stateDir] as string);
  // No record: its directory was removed (the owner's exit hook), so it is done.
  return expires === undefined ? now - c.Created * 1000 > STARTING_GRACE_MS || ownerGone : expires < now;
}

/** How `stigmer sandbox ls` shows a container. */
export function sandboxInfo(c: Docker.ContainerInfo): SandboxInfo {
  const labels = c.Labels;
  const dir = labels[LABELS.stateDir];
  const used = dir ? lastUse(dir) : undefined;
  const expires = dir ? recordExpiry(dir) : undefined;
  return {
    id: c.Id,
    name: (c.Names[0] ?? "").replace(/^\//, ""),
    backend: "docker",
    image: labels[LABELS.image] ?? c.Image,
    state: c.State,
    ...(labels[LABELS.workspace] ? { workspace: labels[LABELS.workspace] } : {}),
    createdAt: labels[LABELS.created] ?? new Date(c.Created * 1000).toISOString(),
    ...(used ? { lastUsedAt: new Date(used).toISOString() } : {}),
    ...(expires ? { expiresAt: new Date(expires).toISOString() } : {}),
    ...(labels[LABELS.owner] ? { owner: ownerShown(labels[LABELS.owner] as string) } : {}),
    ownedByThisProcess: labels[LABELS.owner] === OWNER,
  };
}

/** Removes a container (gone already is fine) and its state directory. */
export async function removeContainer(docker: Docker, id: string, dir: string | undefined): Promise<void> {
  if (dir) removeSandboxDir(dir);
  try {
    await docker.getContainer(id).remove({ force: true });
  } catch (error) {
    const status = statusOf(error);
    if (status !== 404 && status !== 409) throw isConnectionError(error) ? engineUnavailable(docker, error) : error;
  }
}

/** Removes sandbox directories of this engine that no container uses and nobody touched lately. */
export function removeStrayDirs(engineDirPath: string, inUse: ReadonlySet<string>): void {
  let entries: string[];
  try {
    entries = readdirSync(engineDirPath);
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = join(engineDirPath, entry);
    if (!/^[0-9a-f]{8}-[0-9a-f]{6}$/.test(entry) || inUse.has(dir)) continue;
    const touched = lastUse(dir) ?? statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (Date.now() - touched > STARTING_GRACE_MS) removeSandboxDir(dir);
  }
}

/** Every container Stigmer manages on this engine, in any state. */
export async function listManaged(api: EngineApi): Promise<Docker.ContainerInfo[]> {
  try {
    return await api.listContainers({ all: true, filters: { label: [`${LABELS.managedBy}=${MANAGED_BY}`] } });
  } catch (error) {
    throw isConnectionError(error) ? engineUnavailable(undefined, error) : error;
  }
}

/**
 * Removes leftovers of earlier processes of this user on this engine (stopped, expired, or
 * orphaned with cleanup on) from `listing`, but the containers this process uses (`inUse`, by id).
 * Returns what it left.
 */
export async function reapLeftovers(
  docker: () => Docker,
  listing: Docker.ContainerInfo[],
  engineDirPath: string,
  inUse: ReadonlySet<string>,
  logger: Logger,
): Promise<Docker.ContainerInfo[]> {
  const left: Docker.ContainerInfo[] = [];
  for (const c of listing) {
    if (inUse.has(c.Id) || !isReclaimable(c, engineDirPath)) {
      left.push(c);
      continue;
    }
    logger.info({ container: c.Names[0], owner: c.Labels[LABELS.owner], state: c.State }, "reaping a leftover sandbox container");
    await removeContainer(docker(), c.Id, c.Labels[LABELS.stateDir]).catch(() => {});
  }
  return left;
}

/**
 * Whether `stigmer sandbox prune` takes a container: reclaimable ones ({@link isReclaimable}) not
 * used by this process; with `all`, also kept or orphaned ones, but never one that a live process
 * owns and will clean up itself. `mine`: this process's use of it, if any.
 */
export function pruneable(c: Docker.ContainerInfo, engineDirPath: string, mine: { uses: number } | undefined, all: boolean): boolean {
  if (!isOurs(c, engineDirPath)) return false;
  if (mine && mine.uses > 0) return false;
  const ownedElsewhere =
    !mine && c.Labels[LABELS.cleanup] === "true" && ownerAlive(c.Labels[LABELS.owner]) && c.Labels[LABELS.owner] !== OWNER;
  return (all && !ownedElsewhere) || (!mine && isReclaimable(c, engineDirPath));
}
