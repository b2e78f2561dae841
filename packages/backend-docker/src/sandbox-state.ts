import { createHash } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { privateDir, stateDir, writePrivateFile } from "@stigmer/core";

/**
 * The host-side state of this process's sandboxes, one directory per container under a directory
 * per engine endpoint (so pruning one engine never touches another's sandboxes):
 *
 *   <base>/<engine id>/<sandbox id>/
 *     record.json     the host's own record (token, TTL, owner); its mtime is the last use. Private.
 *     channel/        mounted read-only at /run/stigmer: the host's sockets, and the lease (exec mode)
 *     trust/          mounted read-only at /etc/stigmer: the host's CA bundle
 *
 * Nothing under <base> is ever writable from a sandbox, so the host can trust what it reads there.
 */

/**
 * `<Stigmer's state directory>/docker`: inside the directory core keeps out of every workspace, so
 * no project directory (sandboxed or auto mode) can contain it. Names below it are short, because
 * a Unix socket path (…/<engine>/<sandbox>/channel/<socket>) is limited to 107 bytes.
 */
export function defaultStateBase(): string {
  return join(stateDir(), "docker");
}

/** A short, stable name for an engine endpoint. */
export function engineId(endpoint: string): string {
  return createHash("sha256").update(endpoint).digest("hex").slice(0, 8);
}

/** The directory of one engine's sandboxes, made private (0700, ours, not a link). */
export function engineDir(base: string, endpoint: string): string {
  privateDir(base);
  return privateDir(join(base, engineId(endpoint)));
}

export interface SandboxRecord {
  /** Shared secret the agent proves it knows (HMAC); never leaves the host but for the agent. */
  token: string;
  ttlSeconds: number;
  cleanup: boolean;
  /** `host:pid:start` of the process that created the sandbox. */
  owner: string;
  key: string;
  image: string;
  root: string;
  strategy: string;
  /** `agent` or `exec`, once known. */
  mode?: "agent" | "exec";
  /** The user commands run as, once known ("" for the image's default): an adopting process need not ask the engine. */
  user?: string;
  createdAt: string;
}

export const recordFile = (dir: string) => join(dir, "record.json");
export const channelDir = (dir: string) => join(dir, "channel");
export const trustDir = (dir: string) => join(dir, "trust");

/** Makes a sandbox's directories: private, with a world-readable channel (the agent runs as the sandbox's root). */
export function makeSandboxDir(dir: string, record: SandboxRecord, caBundle: string): void {
  mkdirSync(dir, { mode: 0o700 });
  mkdirSync(channelDir(dir), { mode: 0o755 });
  chmodSync(channelDir(dir), 0o755);
  // Read by the agent at start; deleted once it has proven it knows it.
  writeFileSync(join(channelDir(dir), "token"), record.token, { mode: 0o644 });
  writeFileSync(join(channelDir(dir), "lease"), "");
  if (caBundle) {
    mkdirSync(trustDir(dir), { mode: 0o755 });
    writeFileSync(join(trustDir(dir), "ca-certificates.crt"), caBundle, { mode: 0o644 });
  }
  writeRecord(dir, record);
}

export function writeRecord(dir: string, record: SandboxRecord): void {
  writePrivateFile(recordFile(dir), `${JSON.stringify(record)}\n`);
}

/** The record, when it is a regular file of ours (never followed through a link). */
export function readRecord(dir: string): SandboxRecord | undefined {
  try {
    const info = lstatSync(recordFile(dir));
    if (!info.isFile() || (process.getuid && info.uid !== process.getuid())) return undefined;
    return JSON.parse(readFileSync(recordFile(dir), "utf8")) as SandboxRecord;
  } catch {
    return undefined;
  }
}

/** Records a use now: the record's mtime (and the exec-mode lease's) is the last use. */
export function touchRecord(dir: string): void {
  const now = new Date();
  for (const file of [recordFile(dir), join(channelDir(dir), "lease")]) {
    try {
      utimesSync(file, now, now);
    } catch {
      // gone: the sandbox is being removed
    }
  }
}

/** Last use + TTL, from the host's own record; undefined when there is no record here. */
export function recordExpiry(dir: string): number | undefined {
  const record = readRecord(dir);
  if (!record) return undefined;
  try {
    return lstatSync(recordFile(dir)).mtimeMs + record.ttlSeconds * 1000;
  } catch {
    return undefined;
  }
}

export function lastUse(dir: string): number | undefined {
  try {
    return lstatSync(recordFile(dir)).mtimeMs;
  } catch {
    return undefined;
  }
}

export function removeSandboxDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Deletes the token file once the agent has authenticated (nothing else in the sandbox may read it). */
export function dropToken(dir: string): void {
  rmSync(join(channelDir(dir), "token"), { force: true });
}
