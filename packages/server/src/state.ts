import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { stateDir, writePrivateFile } from "@stigmer/core";

export { stateDir, writePrivateFile };

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
