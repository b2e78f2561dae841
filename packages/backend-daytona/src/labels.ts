import { MANAGED_BY, reuseKey, SANDBOX_LABELS } from "@stigmer/core";

/** Labels on every Daytona sandbox Stigmer creates: how reusable ones and leftovers are found (core's sandbox labels, and Daytona's own). */
export const LABELS = {
  /** `workspace` is the workspace key (see `plugins.daytona.workspaceKey`); `key` hashes it with image or snapshot, target and settings. */
  ...SANDBOX_LABELS,
  /** The host project directory it serves, for `stigmer sandbox ls`. */
  workspaceDir: "dev.stigmer.workspace-dir",
  /** `image:<ref>` or `snapshot:<name>`. */
  source: "dev.stigmer.source",
  /** Unique per create call: finds a sandbox whose creation failed half-way, to delete it. */
  creation: "dev.stigmer.creation",
} as const;

export { MANAGED_BY, reuseKey };
