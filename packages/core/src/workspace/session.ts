import { closeSync, constants, createReadStream, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../logger.js";
import { writePrivateFile } from "../state-dir.js";
import { applyChanges, emptyReport, type WorkspaceReport } from "./apply.js";
import { type HostChanges, type HostEntry, HostTree } from "./host-tree.js";
import { packTar, readTar, type TarSourceItem } from "./tar.js";

/**
 * How the project reaches a sandbox:
 * - `mount`: the project directory itself is mounted in the sandbox (same machine only; fastest;
 *   the sandbox writes the host's files directly, so the backend must make that safe: see the
 *   backend's documentation);
 * - `sync`: the project is copied into the sandbox before each command (only what changed) and the
 *   sandbox's changes come back after it, through core's host-side checks;
 * - `review`: as `sync`, but changes stay in the sandbox until the user applies them.
 */
export type WorkspaceStrategy = "mount" | "sync" | "review";
export const WORKSPACE_STRATEGIES: readonly WorkspaceStrategy[] = ["mount", "sync", "review"];

/**
 * The file primitives a sandbox backend implements for one sandbox's copy of a project; core does
 * the rest (what changed on the host, packing, host-side checks, conflicts). Backends without a
 * faster way build one with `remoteSandboxFiles()` from three operations (run a script, write and
 * read a file in the sandbox).
 */
export interface SandboxFiles {
  /** Identifies this sandbox's copy: core keeps one host-side manifest per key. */
  readonly key: string;
  /** True when the sandbox's workspace is empty (made for this executor): no manifest to recover. */
  readonly fresh: boolean;
  /**
   * A host directory private to this user and never visible in the sandbox, where core keeps the
   * manifest so that a later process can adopt the sandbox (cleanup off). Optional.
   */
  readonly stateDir?: string;
  /**
   * Unpacks `archive` (tar) into the sandbox's workspace after deleting `deletions` (relative paths;
   * a directory with everything in it). With `reset`, empties the workspace first. Entries keep
   * their modes and mtimes; ownership is the sandbox's command user. `paths` lists the archive's
   * entries (for a backend that tracks changes and must not report these back).
   */
  push(
    archive: AsyncIterable<Uint8Array>,
    deletions: readonly string[],
    options: { reset: boolean; paths: readonly string[] },
  ): Promise<void>;
  /**
   * What changed in the sandbox's workspace since the last pull (or since the workspace was filled):
   * a tar of the changed entries and the deleted paths. Changes it reports are not reported again.
   */
  pull(): Promise<{ archive?: AsyncIterable<Uint8Array>; deletions: string[] }>;
}

/**
 * What core gives a sandbox backend with each request (`BackendRequest.workspace`): the project
 * and how it reaches the sandbox. With `sync` and `review`, call `syncIn` once the sandbox is ready
 * and before the command starts, and `syncOut` after the command ended; with `mount`, mount `root`.
 */
export interface WorkspaceSession {
  /** The project directory: a real path, checked by `checkWorkspaceRoot`. */
  readonly root: string;
  readonly strategy: WorkspaceStrategy;
  /** Brings the host's changes into the sandbox. */
  syncIn(files: SandboxFiles): Promise<void>;
  /** Brings the sandbox's changes back (sync); keeps them in the sandbox (review: returns undefined). */
  syncOut(files: SandboxFiles): Promise<WorkspaceReport | undefined>;
  /** Call when the sandbox behind `key` is gone for good: core drops what it kept for it. */
  forget(key: string): void;
}

/** Options of a {@link WorkspaceMirrors} registry. */
export interface WorkspaceMirrorsOptions {
  logger?: Logger;
  /** Watch host directories between commands instead of walking the whole tree each time (default true). */
  watch?: boolean;
  /** Most bytes one sync may bring back (default 2 GiB). */
  maxSyncBytes?: number;
  /**
   * Host directories a sandbox must never change even when they lie inside a project (Stigmer's
   * own installation, when it is run from the project's node_modules).
   */
  protectedDirs?: readonly string[];
}

interface Mirror {
  readonly tree: HostTree;
  readonly root: string;
  /** Serialises syncs of one sandbox copy. */
  queue: Promise<unknown>;
  saved: boolean;
  /** The sandbox's copy differs from the host in ways the manifest does not know (held changes): refill it. */
  resetNext: boolean;
}

const MANIFEST_FILE = "workspace-manifest.json";
/** Files up to this size are read with one call rather than streamed. */
const SMALL_FILE = 1024 * 1024;

/** Up to `size` bytes from an open file (fewer if it shrank meanwhile: the tar pads them). */
function readAll(fd: number, size: number): Uint8Array {
  const buffer = Buffer.allocUnsafe(size);
  let offset = 0;
  while (offset < size) {
    const read = readSync(fd, buffer, offset, size - offset, offset);
    if (read === 0) break;
    offset += read;
  }
  return buffer.subarray(0, offset);
}

/** Opens a host file for reading without following a link or blocking on a FIFO; undefined when it cannot be read. */
function openRegular(path: string): { fd: number; size: number } | undefined {
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const stats = fstatSync(fd);
    if (stats.isFile()) return { fd, size: stats.size };
    closeSync(fd);
    return undefined;
  } catch {
    return undefined;
  }
}

/**
 * The host-side state of every sandbox copy an executor syncs: one manifest (and one set of
 * directory watchers) per `SandboxFiles.key`. Owned by the executor; `close()` stops the watchers.
 */
export class WorkspaceMirrors {
  private readonly mirrors = new Map<string, Mirror>();

  constructor(private options: WorkspaceMirrorsOptions = {}) {}

  /** Sets the options (the executor gives them; a backend may have touched the registry first). */
  configure(options: WorkspaceMirrorsOptions): void {
    this.options = { ...this.options, ...options };
  }

  /**
   * The session core hands to a backend for one request; `report` holds what its last syncOut
   * brought back. With `hold`, the command's changes are collected but not applied (see
   * `Decision.holdChanges`), and the sandbox's copy is refilled from the host at the next syncIn.
   */
  session(
    root: string,
    strategy: WorkspaceStrategy,
    options: { hold?: boolean } = {},
  ): WorkspaceSession & { report: WorkspaceReport | undefined } {
    const session = {
      root,
      strategy,
      report: undefined as WorkspaceReport | undefined,
      syncIn: (files: SandboxFiles) => (strategy === "mount" ? Promise.resolve() : this.syncIn(root, files)),
      syncOut: async (files: SandboxFiles) => {
        if (strategy !== "sync") return undefined;
        const report = options.hold ? await this.discard(root, files) : await this.syncOut(root, files);
        session.report = report;
        return report;
      },
      forget: (key: string) => this.forget(key),
    };
    return session;
  }

  private mirror(root: string, files: SandboxFiles): Mirror {
    let mirror = this.mirrors.get(files.key);
    if (mirror && mirror.root !== root) {
      mirror.tree.close();
      mirror = undefined;
    }
    if (!mirror) {
      const tree = new HostTree(root, { watch: this.options.watch ?? true });
      let saved = false;
      if (!files.fresh && files.stateDir) {
        try {
          const data = JSON.parse(readFileSync(join(files.stateDir, MANIFEST_FILE), "utf8")) as {
            root: string;
            rows: Array<[string, HostEntry]>;
            resetNext?: boolean;
          };
          // A sandbox that holds changes the host refused to take is refilled from scratch.
          if (data.root === root && !data.resetNext) {
            tree.load(data.rows);
            saved = true;
          }
        } catch {
          // no manifest: the sandbox's workspace is reset and filled again
        }
      }
      mirror = { tree, root, queue: Promise.resolve(), saved, resetNext: false };
      this.mirrors.set(files.key, mirror);
    }
    return mirror;
  }

  private serialise<T>(mirror: Mirror, task: () => Promise<T>): Promise<T> {
    const run = mirror.queue.then(task, task);
    mirror.queue = run.catch(() => {});
    return run;
  }

  private syncIn(root: string, files: SandboxFiles): Promise<void> {
    const mirror = this.mirror(root, files);
    return this.serialise(mirror, async () => {
      // An adopted sandbox whose manifest is lost, or one that holds changes the host refused to
      // take: its content is unknown or wrong, so fill it again from the host.
      const reset = mirror.resetNext || (!files.fresh && !mirror.saved && mirror.tree.manifest.size === 0);
      if (mirror.resetNext) {
        for (const path of [...mirror.tree.manifest.keys()]) mirror.tree.record(path, undefined);
        mirror.resetNext = false;
      }
      await mirror.tree.settle();
      const changes = mirror.tree.scan();
      if (!reset && changes.upserts.length === 0 && changes.deletions.length === 0) return;
      const unreadable = new Set<string>();
      await files.push(packHostChanges(root, changes, unreadable), changes.deletions, {
        reset,
        paths: changes.upserts.map(([path]) => path),
      });
      mirror.tree.commit(changes, unreadable);
      mirror.saved = true;
      this.save(mirror, files);
    });
  }

  private syncOut(root: string, files: SandboxFiles): Promise<WorkspaceReport> {
    const mirror = this.mirror(root, files);
    return this.serialise(mirror, async () => {
      const { archive, deletions } = await files.pull();
      if (!archive && deletions.length === 0) return emptyReport();
      const inside = (this.options.protectedDirs ?? []).flatMap((dir) => (dir.startsWith(`${root}/`) ? [dir.slice(root.length + 1)] : []));
      const report = await applyChanges(archive, deletions, {
        root,
        tree: mirror.tree,
        ...(this.options.maxSyncBytes !== undefined ? { maxBytes: this.options.maxSyncBytes } : {}),
        ...(inside.length > 0
          ? {
              protect: (path: string, kind: string) =>
                inside.some((dir) => path === dir || path.startsWith(`${dir}/`) || (kind === "delete" && dir.startsWith(`${path}/`)))
                  ? "Stigmer's own installation is never changed from a sandbox"
                  : undefined,
            }
          : {}),
      });
      if (report.applied > 0) this.save(mirror, files);
      if (report.refused.length > 0 || report.conflicts.length > 0) {
        this.options.logger?.warn(
          { root, refused: report.refused.slice(0, 20), conflicts: report.conflicts.slice(0, 20) },
          "some sandbox changes were kept out of the project",
        );
      }
      return report;
    });
  }

  /** Collects the sandbox's changes and drops them; the sandbox's copy is refilled at the next syncIn. */
  private discard(root: string, files: SandboxFiles): Promise<WorkspaceReport> {
    const mirror = this.mirror(root, files);
    return this.serialise(mirror, async () => {
      const { archive, deletions } = await files.pull();
      let held = deletions.length;
      if (archive) for await (const _ of readTar(archive)) held++;
      if (held > 0) {
        mirror.resetNext = true;
        this.save(mirror, files);
      }
      return { ...emptyReport(), held };
    });
  }

  private save(mirror: Mirror, files: SandboxFiles): void {
    if (!files.stateDir) return;
    try {
      const state = { root: mirror.root, rows: mirror.tree.save(), ...(mirror.resetNext ? { resetNext: true } : {}) };
      writePrivateFile(join(files.stateDir, MANIFEST_FILE), JSON.stringify(state));
    } catch (error) {
      this.options.logger?.debug({ err: (error as Error).message }, "could not save the workspace manifest");
    }
  }

  /** Forgets one sandbox copy (the sandbox is gone). */
  forget(key: string): void {
    this.mirrors.get(key)?.tree.close();
    this.mirrors.delete(key);
  }

  close(): void {
    for (const mirror of this.mirrors.values()) mirror.tree.close();
    this.mirrors.clear();
  }
}

/**
 * The tar of a scan's upserts, read from the host as this user: a file that cannot be opened (no
 * permission, or no longer a regular file) is left out and added to `unreadable`. FIFOs, sockets
 * and devices never appear in a scan.
 */
export async function* packHostChanges(root: string, changes: HostChanges, unreadable: Set<string>): AsyncGenerator<Uint8Array> {
  async function* items(): AsyncGenerator<TarSourceItem> {
    for (const [path, entry] of changes.upserts) {
      if (entry.type === "file") {
        const file = openRegular(join(root, path));
        if (!file) {
          unreadable.add(path);
          continue;
        }
        // Read through the descriptor that was checked: the path may have been swapped since. Small
        // files (most of a project) are read at once: a stream per file costs ten times more.
        let content: Uint8Array | NodeJS.ReadableStream | undefined;
        if (file.size > SMALL_FILE) content = createReadStream("", { fd: file.fd, start: 0, end: file.size - 1, autoClose: true });
        else {
          try {
            content = readAll(file.fd, file.size);
          } finally {
            closeSync(file.fd);
          }
        }
        yield {
          entry: { path, type: "file", mode: entry.mode, size: file.size, mtimeMs: entry.mtimeMs },
          ...(content ? { content: content as Uint8Array | AsyncIterable<Uint8Array> } : {}),
        };
      } else if (entry.type === "directory") {
        yield { entry: { path, type: "directory", mode: entry.mode, size: 0, mtimeMs: entry.mtimeMs } };
      } else {
        yield { entry: { path, type: "symlink", mode: 0o777, size: 0, mtimeMs: entry.mtimeMs, linkTarget: entry.link ?? "" } };
      }
    }
  }
  yield* packTar(items());
}

const registry = new WeakMap<object, WorkspaceMirrors>();

/** The mirrors of one backend instance, made on first use; options given by any caller apply from then on. */
export function workspaceMirrorsOf(backend: object, options?: WorkspaceMirrorsOptions): WorkspaceMirrors {
  let mirrors = registry.get(backend);
  if (!mirrors) {
    mirrors = new WorkspaceMirrors(options);
    registry.set(backend, mirrors);
  } else if (options) {
    mirrors.configure(options);
  }
  return mirrors;
}
