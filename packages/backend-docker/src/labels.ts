import { MANAGED_BY, ownerAlive, PROCESS_OWNER, SANDBOX_LABELS } from "@stigmer/core";

/** Labels on every container Stigmer creates: how leftovers are found and reclaimed (core's sandbox labels, and Docker's own). */
export const LABELS = {
  ...SANDBOX_LABELS,
  image: "dev.stigmer.image",
  /** Host directory of the sandbox's record (its mtime + TTL = expiry) and channel. */
  stateDir: "dev.stigmer.state-dir",
  /** Which engine endpoint's state directory holds it (a hash of DOCKER_HOST or the socket path). */
  engine: "dev.stigmer.engine",
  /** How the project reaches it: sync, mount or review. */
  strategy: "dev.stigmer.workspace-strategy",
  created: "dev.stigmer.created",
} as const;

export { MANAGED_BY, ownerAlive };
/** This process, as written in the owner label. */
export const OWNER = PROCESS_OWNER;
