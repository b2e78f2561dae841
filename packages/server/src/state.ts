import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** What a running server records so that `stigmer server status|stop` (and clients) can find it. */
export interface ServerState {
  pid: number;
  url: string;
  host: string;
  port: number;
  /** File holding the bearer token when the server generated it (mode 0600); absent when it came from STIGMER_SERVER_TOKEN. */
  tokenFile?: string;
  startedAt: string;
  version: string;
}

/** `STIGMER_STATE_DIR`, else `$XDG_STATE_HOME/stigmer`, else `~/.local/state/stigmer`; created with mode 0700. */
export function stateDir(env: Record<string, string | undefined> = process.env): string {
  const dir = env.STIGMER_STATE_DIR || join(env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "stigmer");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Writes a file readable only by this user, atomically (no moment where it exists with wider permissions). */
export function writePrivateFile(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export const stateFile = (dir: string) => join(dir, "server.json");
export const tokenFile = (dir: string) => join(dir, "server-token");

export function readState(dir: string): ServerState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(dir), "utf8")) as ServerState;
  } catch {
    return undefined;
  }
}

export function writeState(dir: string, state: ServerState): void {
  writePrivateFile(stateFile(dir), `${JSON.stringify(state, null, 2)}\n`);
}

export function removeState(dir: string, pid = process.pid): void {
  if (readState(dir)?.pid === pid) rmSync(stateFile(dir), { force: true });
}

/** A new random bearer token (256 bits). */
export function generateToken(): string {
  return randomBytes(32).toString("base64url");
}

/** True when a process with this pid exists (ours to signal or not). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}
