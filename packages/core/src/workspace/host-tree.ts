import { type Dirent, type FSWatcher, lstatSync, readdirSync, readlinkSync, type Stats, watch } from "node:fs";
import { join } from "node:path";

/** What Stigmer knows of one host entry: enough to tell that it changed. */
export interface HostEntry {
  type: "file" | "directory" | "symlink";
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  mode: number;
  ino: number;
  /** Symlink target. */
  link?: string;
  /** The user cannot read it: it is not in the sandbox, and is not tried again until it changes. */
  unreadable?: boolean;
}

/** Host changes since the sandbox's copy was last brought up to date. */
export interface HostChanges {
  /** Paths to create or replace in the sandbox, parents before children, with what was seen. */
  upserts: Array<[string, HostEntry]>;
  /** Paths gone from the host (a directory stands for everything under it). */
  deletions: string[];
}

/** More directories than this are not watched (each costs an inotify watch): full walks instead. */
const MAX_WATCHED_DIRS = 20_000;

export function entryOf(stats: Stats, link?: string): HostEntry | undefined {
  const type = stats.isFile() ? "file" : stats.isDirectory() ? "directory" : stats.isSymbolicLink() ? "symlink" : undefined;
  if (!type) return undefined; // FIFOs, sockets and devices never travel
  return {
    type,
    size: type === "file" ? stats.size : 0,
    mtimeMs: stats.mtimeMs,
    ctimeMs: stats.ctimeMs,
    mode: stats.mode & 0o7777,
    ino: stats.ino,
    ...(link !== undefined ? { link } : {}),
  };
}

/** True when two views of an entry describe the same thing (directories: same type and mode). */
export function sameEntry(a: HostEntry | undefined, b: HostEntry | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.type !== b.type || a.mode !== b.mode) return false;
  if (a.type === "directory") return true;
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino && a.link === b.link;
}

const parentOf = (path: string) => {
  const slash = path.lastIndexOf("/");
  return slash === -1 ? "" : path.slice(0, slash);
};

/**
 * A project directory on the host and the manifest of what a sandbox's copy of it is based on.
 * `scan()` lists what changed since; with watching on, only directories that reported a change
 * are read again (one inotify watch per directory), else the whole tree is walked. The manifest
 * changes only through `commit` and `record`, after the sandbox really has the new state.
 */
export class HostTree {
  /** Path → entry, as the sandbox's copy knows it. */
  readonly manifest = new Map<string, HostEntry>();
  private readonly children = new Map<string, Set<string>>([["", new Set()]]);
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly dirty = new Map<string, number>();
  private generation = 0;
  private watching: boolean;
  /** True once a full walk set up the watchers and its changes were committed: scans may then be partial. */
  private primed = false;
  /** The generation of a full walk whose commit primes the tree (a push that failed leaves it unprimed). */
  private primingGeneration: number | undefined;

  constructor(
    readonly root: string,
    options: { watch?: boolean; exclude?: (path: string) => boolean } = {},
  ) {
    this.watching = options.watch ?? true;
    this.exclude = options.exclude ?? (() => false);
  }

  private readonly exclude: (path: string) => boolean;

  /**
   * Lets the watchers report every change made before this call: the kernel queues an inotify
   * event during the write itself, but Node reads the queue only in the event loop's poll phase.
   * Two `setImmediate` hops always have one poll phase between them.
   */
  async settle(): Promise<void> {
    if (!this.watching || !this.primed) return;
    for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  /** Host changes since the last commit (call `settle()` first). Does not change the manifest. */
  scan(): HostChanges & { generation: number } {
    const generation = ++this.generation;
    const seen = new Map<string, HostEntry>();
    const gone = new Set<string>();
    if (!this.watching || !this.primed) {
      this.walk("", seen, this.watching);
      for (const path of this.manifest.keys()) {
        const parent = parentOf(path);
        // Only the top-most missing path: a deleted tree is one deletion.
        if (!seen.has(path) && (parent === "" || seen.has(parent))) gone.add(path);
      }
      if (this.watching) this.primingGeneration = generation;
    } else {
      const dirs = [...this.dirty.keys()].sort((a, b) => a.length - b.length);
      for (const dir of dirs) {
        if ([...gone].some((g) => dir === g || dir.startsWith(`${g}/`))) continue;
        this.rescanDir(dir, seen, gone);
      }
    }
    const upserts: Array<[string, HostEntry]> = [];
    for (const [path, entry] of seen) {
      const known = this.manifest.get(path);
      if (!sameEntry(known, entry)) upserts.push([path, entry]);
    }
    upserts.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return { upserts, deletions: [...gone].sort(), generation };
  }

  /** Reads one directory's entries (and walks new subdirectories) into `seen`. */
  private rescanDir(dir: string, seen: Map<string, HostEntry>, gone: Set<string>): void {
    let dirents: Dirent[];
    try {
      dirents = readdirSync(dir ? join(this.root, dir) : this.root, { withFileTypes: true });
    } catch {
      return; // gone or unreadable: its parent's rescan says so
    }
    const present = new Set<string>();
    for (const dirent of dirents) {
      const path = dir ? `${dir}/${dirent.name}` : dirent.name;
      if (this.exclude(path)) continue;
      const entry = this.stat(path);
      if (!entry) continue;
      present.add(dirent.name);
      seen.set(path, entry);
      if (entry.type === "directory" && (!this.manifest.has(path) || this.manifest.get(path)?.type !== "directory")) {
        this.walk(path, seen, true);
      }
    }
    for (const name of this.children.get(dir) ?? []) {
      if (!present.has(name)) gone.add(dir ? `${dir}/${name}` : name);
    }
  }

  private stat(path: string): HostEntry | undefined {
    try {
      const stats = lstatSync(join(this.root, path));
      const link = stats.isSymbolicLink() ? readlinkSync(join(this.root, path)) : undefined;
      return entryOf(stats, link);
    } catch {
      return undefined;
    }
  }

  private walk(start: string, seen: Map<string, HostEntry>, watch: boolean): void {
    const stack = [start];
    while (stack.length > 0) {
      const dir = stack.pop() as string;
      if (watch) this.watchDir(dir);
      let dirents: Dirent[];
      try {
        dirents = readdirSync(dir ? join(this.root, dir) : this.root, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const dirent of dirents) {
        const path = dir ? `${dir}/${dirent.name}` : dirent.name;
        if (this.exclude(path)) continue;
        const entry = this.stat(path);
        if (!entry) continue;
        seen.set(path, entry);
        if (entry.type === "directory") stack.push(path);
      }
    }
  }

  private watchDir(dir: string): void {
    if (!this.watching || this.watchers.has(dir)) return;
    if (this.watchers.size >= MAX_WATCHED_DIRS) return this.stopWatching();
    try {
      const watcher = watch(dir ? join(this.root, dir) : this.root, { persistent: false }, () => {
        this.dirty.set(dir, this.generation + 1);
      });
      watcher.on("error", () => {
        // A directory whose watch broke may change unseen: walk everything once more.
        watcher.close();
        this.watchers.delete(dir);
        this.primed = false;
      });
      this.watchers.set(dir, watcher);
    } catch {
      // out of inotify watches (ENOSPC) or similar: walk the whole tree every time instead
      this.stopWatching();
    }
  }

  private stopWatching(): void {
    this.watching = false;
    this.primed = false;
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
    this.dirty.clear();
  }

  /** The sandbox now has these changes: remember them (and forget the directories they cleared). */
  commit(changes: HostChanges & { generation: number }, unreadable: ReadonlySet<string> = new Set()): void {
    for (const path of changes.deletions) this.record(path, undefined);
    for (const [path, entry] of changes.upserts) this.record(path, unreadable.has(path) ? { ...entry, unreadable: true } : entry);
    for (const [dir, generation] of this.dirty) if (generation <= changes.generation) this.dirty.delete(dir);
    if (this.primingGeneration !== undefined && changes.generation >= this.primingGeneration) {
      this.primed = this.watching;
      this.primingGeneration = undefined;
    }
  }

  /** Sets (or, with undefined, removes with everything under it) what the sandbox has at `path`. */
  record(path: string, entry: HostEntry | undefined): void {
    const parent = parentOf(path);
    const name = parent ? path.slice(parent.length + 1) : path;
    if (entry) {
      const previous = this.manifest.get(path);
      if (previous?.type === "directory" && entry.type !== "directory") this.dropUnder(path);
      this.manifest.set(path, entry);
      let siblings = this.children.get(parent);
      if (!siblings) {
        siblings = new Set();
        this.children.set(parent, siblings);
      }
      siblings.add(name);
      if (entry.type === "directory" && !this.children.has(path)) this.children.set(path, new Set());
      return;
    }
    this.manifest.delete(path);
    this.children.get(parent)?.delete(name);
    this.dropUnder(path);
  }

  private dropUnder(dir: string): void {
    for (const name of this.children.get(dir) ?? []) {
      const child = `${dir}/${name}`;
      this.manifest.delete(child);
      this.dropUnder(child);
    }
    this.children.delete(dir);
    const watcher = this.watchers.get(dir);
    if (watcher) {
      watcher.close();
      this.watchers.delete(dir);
    }
  }

  /** The manifest as JSON-friendly rows, for a later process that adopts the same sandbox. */
  save(): Array<[string, HostEntry]> {
    return [...this.manifest];
  }

  /** Restores a saved manifest (the next scan walks the whole tree and compares with it). */
  load(rows: ReadonlyArray<[string, HostEntry]>): void {
    for (const [path, entry] of rows) this.record(path, entry);
  }

  close(): void {
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}
