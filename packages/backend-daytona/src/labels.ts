import { createHash } from "node:crypto";

/** Labels on every Daytona sandbox Stigmer creates: how reusable ones and leftovers are found. */
export const LABELS = {
  managedBy: "dev.stigmer.managed-by",
  /** Hash of workspace key, image or snapshot, target and settings: sandboxes with the same key are interchangeable. */
  key: "dev.stigmer.key",
  /** The workspace key (see `plugins.daytona.workspaceKey`). */
  workspace: "dev.stigmer.workspace",
  /** The host project directory it serves, for `stigmer sandbox ls`. */
  workspaceDir: "dev.stigmer.workspace-dir",
  /** `image:<ref>` or `snapshot:<name>`. */
  source: "dev.stigmer.source",
  /** `host:pid:start` of the creating process. */
  owner: "dev.stigmer.owner",
  ttl: "dev.stigmer.ttl-seconds",
  cleanup: "dev.stigmer.cleanup",
  /** Unique per create call: finds a sandbox whose creation failed half-way, to delete it. */
  creation: "dev.stigmer.creation",
} as const;

export const MANAGED_BY = "stigmer";

/** The reuse key: everything that makes two sandboxes not interchangeable. */
export function reuseKey(parts: Record<string, unknown>): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 24);
}
