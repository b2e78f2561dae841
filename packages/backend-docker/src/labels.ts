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
  /** Host directory holding the agent socket and the heartbeat (its mtime + TTL = expiry). */
  stateDir: "dev.stigmer.state-dir",
  created: "dev.stigmer.created",
} as const;

export const MANAGED_BY = "stigmer";

/** This process, as written in the owner label. */
export const OWNER = PROCESS_OWNER;
export { ownerAlive };
