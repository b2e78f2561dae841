import { ownerAlive, PROCESS_OWNER } from "@stigmer/core";

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
  /** Host directory of the sandbox's record (its mtime + TTL = expiry) and channel. */
  stateDir: "dev.stigmer.state-dir",
  /** Which engine endpoint's state directory holds it (a hash of DOCKER_HOST or the socket path). */
  engine: "dev.stigmer.engine",
  /** How the project reaches it: sync, mount or review. */
  strategy: "dev.stigmer.workspace-strategy",
  created: "dev.stigmer.created",
} as const;

export const MANAGED_BY = "stigmer";

/** This process, as written in the owner label. */
export const OWNER = PROCESS_OWNER;
export { ownerAlive };
