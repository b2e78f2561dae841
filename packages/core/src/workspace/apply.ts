import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  futimesSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  type Stats,
  writeSync,
} from "node:fs";
import { chmod, mkdir, open, readFile, rename, rmdir, symlink, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { entryOf, type HostEntry, type HostTree, sameEntry } from "./host-tree.js";
import { type ChangeKind, cleanRelativePath, protectedReason, symlinkStaysInside } from "./protected-paths.js";
import { readTar, type TarEntry } from "./tar.js";

/** What came back from a sandbox after a command, and what was kept out. */
export interface WorkspaceReport {
  /** Entries written, created or deleted on the host. */
  applied: number;
  /** Bytes of file content written. */
  bytes: number;
  /** Changes the host refused, with the reason (protected paths, links out of the project, special files, …). */
  refused: Array<{ path: string; reason: string }>;
  /** Changes not applied because the host changed the same path meanwhile: the host's version was kept. */
  conflicts: Array<{ path: string; reason: string }>;
  /** True when `maxBytes` was reached and later changes were left in the sandbox. */
  truncated: boolean;
  /**
   * Changes deliberately not brought back (auto mode held them: the command would destroy the
   * project's uncommitted work); the sandbox's copy is reset from the host before the next command.
   */
  held?: number;
}

export interface ApplyOptions {
  /** The project directory (a real path, checked by `checkWorkspaceRoot`). */
  root: string;
  /** The manifest the sandbox's copy was based on: conflicts are judged against it, and it is kept up to date. */
  tree: HostTree;
  /** Most bytes of content to write (default 2 GiB); later changes are refused and `truncated` is set. */
  maxBytes?: number;
  /** Extra rules on top of the built-in protected paths. */
  protect?: (path: string, kind: ChangeKind, type?: "file" | "directory" | "symlink") => string | undefined;
}

export function emptyReport(): WorkspaceReport {
  return { applied: 0, bytes: 0, refused: [], conflicts: [], truncated: false };
}

// Read once: process.umask() with no argument is deprecated, and it does not change under us.
let cachedUmask: number | undefined;
function umask(): number {
  if (cachedUmask === undefined) {
    cachedUmask = process.umask(0o022);
    process.umask(cachedUmask);
  }
  return cachedUmask;
}

function lstatEntry(path: string): HostEntry | undefined {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch {
    return undefined;
  }
  return (
    entryOf(stats, stats.isSymbolicLink() ? readlinkSync(path) : undefined) ?? {
      type: "file",
      size: -1,
      mtimeMs: 0,
      ctimeMs: 0,
      mode: 0,
      ino: 0,
    }
  );
}

async function drain(content: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of content) {
  }
}

/**
 * Applies a sandbox's changes to the host project: deletions first, then the archive's entries.
 * Everything is written by this process, so it belongs to the invoking user, and nothing that
 * comes back can grant more than that user has:
 * - only regular files, directories and symlinks; modes keep the permission bits the umask allows
 *   (never setuid, setgid or sticky); no device, FIFO, socket or hard link;
 * - paths stay inside the project: no absolute path, no `..`, never through a symlink or a file on
 *   the host; symlinks must point inside the project;
 * - protected paths (git configuration and hooks, Stigmer's config) are refused;
 * - a path the host changed since the sandbox's copy was made keeps the host's version (a conflict).
 */
export async function applyChanges(
  archive: AsyncIterable<Uint8Array> | undefined,
  deletions: readonly string[],
  options: ApplyOptions,
): Promise<WorkspaceReport> {
  const report = emptyReport();
  const { root, tree } = options;
  const maxBytes = options.maxBytes ?? 2 * 1024 ** 3;
  const mask = ~umask() & 0o777;
  const judge = (path: string, kind: ChangeKind, type?: "file" | "directory" | "symlink") =>
    protectedReason(path, kind, type) ?? options.protect?.(path, kind, type);

  // Parents already seen to be real directories in this apply (hundreds of files share a few).
  const realDirs = new Set<string>();
  /** Why `path`'s parents cannot be used (a link or a file where a directory should be), or undefined. */
  const parentProblem = (path: string): string | undefined => {
    const parts = path.split("/");
    let current = root;
    for (const part of parts.slice(0, -1)) {
      current = join(current, part);
      if (realDirs.has(current)) continue;
      let stats: Stats;
      try {
        stats = lstatSync(current);
      } catch {
        return undefined; // missing parents are created as real directories
      }
      if (stats.isSymbolicLink())
        return `a parent (${current.slice(root.length + 1)}) is a link on the host: nothing is written through links`;
      if (!stats.isDirectory()) return `a parent (${current.slice(root.length + 1)}) is not a directory on the host`;
      realDirs.add(current);
    }
    return undefined;
  };

  const ensureParents = async (path: string) => {
    const parts = path.split("/").slice(0, -1);
    let rel = "";
    for (const part of parts) {
      rel = rel ? `${rel}/${part}` : part;
      const abs = join(root, rel);
      if (realDirs.has(abs) || lstatEntry(abs)) continue;
      await mkdir(abs, { mode: 0o777 & mask });
      const made = lstatEntry(abs);
      if (made) tree.record(rel, made);
      realDirs.add(abs);
    }
  };

  /** Deletes a host path whose state the sandbox knew; anything the host changed meanwhile is kept. */
  const removeKnown = async (rel: string): Promise<boolean> => {
    const abs = join(root, rel);
    const current = lstatEntry(abs);
    if (!current) {
      tree.record(rel, undefined);
      return true;
    }
    const known = tree.manifest.get(rel);
    if (current.type === "directory" && known?.type === "directory") {
      let emptied = true;
      for (const name of readdirSync(abs)) {
        const child = `${rel}/${name}`;
        if (judge(child, "delete")) {
          emptied = false;
          continue;
        }
        if (!(await removeKnown(child))) emptied = false;
      }
      if (!emptied) return false;
      await rmdir(abs);
      tree.record(rel, undefined);
      report.applied++;
      return true;
    }
    if (!sameEntry(current, known)) {
      report.conflicts.push({
        path: rel,
        reason: "deleted in the sandbox, but changed on the host meanwhile: the host's version was kept",
      });
      return false;
    }
    await unlink(abs);
    tree.record(rel, undefined);
    report.applied++;
    return true;
  };

  for (const raw of [...deletions].sort().reverse()) {
    const rel = cleanRelativePath(raw);
    if (!rel) {
      report.refused.push({ path: raw, reason: "not a relative path inside the project" });
      continue;
    }
    const why = judge(rel, "delete") ?? parentProblem(rel);
    if (why) {
      report.refused.push({ path: rel, reason: why });
      continue;
    }
    await removeKnown(rel);
  }

  if (!archive) return report;
  for await (const { entry, content } of readTar(archive)) {
    const rel = cleanRelativePath(entry.path);
    const refuse = async (reason: string) => {
      report.refused.push({ path: rel ?? entry.path, reason });
      await drain(content);
    };
    if (!rel) {
      await refuse("not a relative path inside the project");
      continue;
    }
    if (entry.type === "other" || entry.type === "hardlink") {
      await refuse(entry.type === "hardlink" ? "hard links are not taken from a sandbox" : "not a regular file, directory or symlink");
      continue;
    }
    const why =
      judge(rel, "write", entry.type) ??
      (entry.type === "symlink" && !symlinkStaysInside(rel, entry.linkTarget ?? "")
        ? `a link to ${JSON.stringify(entry.linkTarget)} would lead outside the project`
        : undefined) ??
      parentProblem(rel);
    if (why) {
      await refuse(why);
      continue;
    }
    if (entry.type === "file" && report.bytes + entry.size > maxBytes) {
      report.truncated = true;
      await refuse(`over the ${maxBytes}-byte limit of one sync: left in the sandbox`);
      continue;
    }
    const abs = join(root, rel);
    const current = lstatEntry(abs);
    const known = tree.manifest.get(rel);
    const hostChanged =
      current !== undefined && !sameEntry(current, known) && !(current.type === "directory" && entry.type === "directory");
    if (hostChanged) {
      report.conflicts.push({ path: rel, reason: "changed both in the sandbox and on the host: the host's version was kept" });
      await drain(content);
      continue;
    }
    try {
      await ensureParents(rel);
      if (entry.type === "directory") {
        if (current && current.type !== "directory") {
          report.conflicts.push({ path: rel, reason: "a directory in the sandbox, but not on the host: the host's version was kept" });
          continue;
        }
        if (!current) await mkdir(abs, { mode: (entry.mode & mask) | 0o700 });
        else await chmod(abs, (entry.mode & mask) | 0o700);
      } else if (current?.type === "directory") {
        report.conflicts.push({ path: rel, reason: "a directory on the host, but not in the sandbox: the host's version was kept" });
        await drain(content);
        continue;
      } else if (entry.type === "symlink") {
        if (current?.type === "symlink" && current.link === entry.linkTarget) continue;
        const temp = join(dirname(abs), `.stigmer-${randomBytes(6).toString("hex")}.tmp`);
        await symlink(entry.linkTarget as string, temp);
        await rename(temp, abs);
      } else {
        const written = await writeFileEntry(abs, entry, content, mask, current);
        if (!written) continue; // same content as the host's: nothing to do
        report.bytes += entry.size;
      }
      const after = lstatEntry(abs);
      if (after) tree.record(rel, after);
      report.applied++;
    } catch (error) {
      await drain(content);
      report.refused.push({ path: rel, reason: `could not be written: ${(error as Error).message}` });
    }
  }
  return report;
}

/** The bytes of a host file, read without following a link or blocking on a FIFO; undefined when it is not a regular file. */
function readRegular(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    return fstatSync(fd).isFile() ? readFileSync(fd) : undefined;
  } finally {
    closeSync(fd);
  }
}

/** Files up to this size are collected and written with synchronous calls (no thread-pool round trip per step). */
const SMALL_FILE = 1024 * 1024;

/**
 * Writes a file next to its destination (created exclusively, never through a link), gives it the
 * masked mode and the sandbox's mtime, then renames it into place. Returns false, leaving the host
 * untouched, when it could be the host's own file sent back (same size, mode and second of
 * modification) and its content is indeed the same.
 */
async function writeFileEntry(
  abs: string,
  entry: TarEntry,
  content: AsyncIterable<Uint8Array>,
  mask: number,
  current: HostEntry | undefined,
): Promise<boolean> {
  const temp = join(dirname(abs), `.stigmer-${randomBytes(6).toString("hex")}.tmp`);
  const mode = entry.mode & mask;
  const mtime = new Date(entry.mtimeMs);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const maybeEcho =
    current?.type === "file" &&
    current.size === entry.size &&
    current.mode === mode &&
    Math.floor(current.mtimeMs / 1000) === Math.floor(entry.mtimeMs / 1000);
  if (entry.size <= SMALL_FILE) {
    const parts: Uint8Array[] = [];
    for await (const chunk of content) parts.push(chunk);
    const data = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
    if (maybeEcho) {
      const theirs = readRegular(abs);
      if (theirs && Buffer.compare(Buffer.from(data.buffer, data.byteOffset, data.byteLength), theirs) === 0) return false;
    }
    const fd = openSync(temp, flags, 0o600);
    try {
      writeSync(fd, data);
      fchmodSync(fd, mode);
      futimesSync(fd, mtime, mtime);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, abs);
    return true;
  }
  const handle = await open(temp, flags, 0o600);
  let written = 0;
  try {
    for await (const chunk of content) {
      await handle.write(chunk);
      written += chunk.length;
    }
    await handle.chmod(mode);
    await handle.utimes(mtime, mtime);
  } finally {
    await handle.close();
  }
  if (maybeEcho && written === current?.size) {
    const [mine, theirs] = await Promise.all([readFile(temp), readFile(abs).catch(() => undefined)]);
    if (theirs && Buffer.compare(mine, theirs) === 0) {
      await unlink(temp);
      return false;
    }
  }
  await rename(temp, abs);
  return true;
}
