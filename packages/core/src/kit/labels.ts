import { createHash } from "node:crypto";
import { PROCESS_OWNER } from "../owner.js";

/**
 * Labels every sandbox backend writes on what it creates (containers, cloud sandboxes), so that
 * `stigmer sandbox ls|rm|prune` and the reaping of leftovers work alike everywhere. A backend
 * adds its own labels beside them (`{ ...SANDBOX_LABELS, image: "dev.stigmer.image" }`).
 */
export const SANDBOX_LABELS = {
  /** {@link MANAGED_BY} on everything Stigmer made: how its sandboxes are told from others. */
  managedBy: "dev.stigmer.managed-by",
  /** `host:pid:start` of the creating process ({@link PROCESS_OWNER}); see `ownerAlive`. */
  owner: "dev.stigmer.owner",
  /** The reuse key ({@link reuseKey}): sandboxes with the same key are interchangeable. */
  key: "dev.stigmer.key",
  /** What the sandbox serves: a project directory, or a workspace key. */
  workspace: "dev.stigmer.workspace",
  /** The TTL (seconds) it was created with. */
  ttl: "dev.stigmer.ttl-seconds",
  /** `true` when it is to be removed once its creator is done with it. */
  cleanup: "dev.stigmer.cleanup",
} as const;

/** The value of {@link SANDBOX_LABELS}.managedBy. */
export const MANAGED_BY = "stigmer";

/** The values of {@link SANDBOX_LABELS} for a sandbox this process creates. */
export function sandboxLabels(input: { key: string; workspace: string; ttlSeconds: number; cleanup: boolean }): Record<string, string> {
  return {
    [SANDBOX_LABELS.managedBy]: MANAGED_BY,
    [SANDBOX_LABELS.owner]: PROCESS_OWNER,
    [SANDBOX_LABELS.key]: input.key,
    [SANDBOX_LABELS.workspace]: input.workspace,
    [SANDBOX_LABELS.ttl]: String(input.ttlSeconds),
    [SANDBOX_LABELS.cleanup]: String(input.cleanup),
  };
}

/** An owner label as `stigmer sandbox ls` shows it: `host:pid`. */
export function ownerShown(owner: string): string {
  return owner.split(":").slice(0, 2).join(":");
}

/**
 * The reuse key of a sandbox: a hash (hex, `length` characters) of everything that makes two
 * sandboxes not interchangeable. The same material always gives the same key, across processes.
 */
export function reuseKey(material: unknown, length = 24): string {
  return createHash("sha256").update(JSON.stringify(material)).digest("hex").slice(0, length);
}
