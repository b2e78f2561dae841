import { chmodSync, lstatSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Stigmer's per-user state directory: `STIGMER_STATE_DIR`, else `$XDG_STATE_HOME/stigmer`, else
 * `~/.local/state/stigmer`. Holds the server's state and token, the trust store, and the sandbox
 * backends' host-side records. It must never be reachable from a sandbox: workspace roots that
 * contain it are refused. Created with mode 0700.
 */
export function stateDir(env: Record<string, string | undefined> = process.env): string {
  const dir = env.STIGMER_STATE_DIR || join(env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "stigmer");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * Makes `dir` (and missing parents) and checks that it is a real directory owned by this user and
 * closed to others: a directory in a shared place (/tmp) that someone else made first, or a link
 * planted there, would let them read or redirect what Stigmer keeps in it. Throws when it is not.
 */
export function privateDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const info = lstatSync(dir);
  const uid = process.getuid?.();
  if (!info.isDirectory()) throw new Error(`${dir} is not a directory (a link or a file is in its place)`);
  if (uid !== undefined && info.uid !== uid) throw new Error(`${dir} belongs to another user (uid ${info.uid})`);
  if ((info.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return dir;
}

/** Writes a file readable only by this user, atomically (no moment where it exists with wider permissions). */
export function writePrivateFile(path: string, content: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
