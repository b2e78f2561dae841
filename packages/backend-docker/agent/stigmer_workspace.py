"""The sandbox's copy of the project, for the `sync` workspace strategy.

The host pushes what changed on its side (a tar, the list of its paths, and deletions); after a
command, it pulls what changed here. Changes are found without walking the tree: inotify reports
the directories where something happened, and only those are read again and compared with the
manifest of what the host last had. A full walk happens only when inotify cannot keep up
(queue overflow) or has no watches left.

Nothing here is trusted by the host: everything it sends back is checked on the host side.
"""
import ctypes
import os
import select
import stat
import struct
import subprocess
import tarfile
import threading

IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x2, 0x4, 0x8
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF = 0x400, 0x800
IN_Q_OVERFLOW, IN_IGNORED, IN_ISDIR = 0x4000, 0x8000, 0x40000000
IN_ONLYDIR, IN_DONT_FOLLOW, IN_EXCL_UNLINK = 0x1000000, 0x2000000, 0x4000000
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000
WATCH_MASK = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
              | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)
EVENT = struct.Struct("iIII")
# Each watch is charged to root's inotify quota, which the host's own services share: stay well below it.
MAX_WATCHES = 65536

_libc = None


def libc():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


class Inotify:
    """Directory watches that report which directories saw a change."""

    def __init__(self):
        self.fd = libc().inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.paths = {}  # wd -> relative directory path
        self.wds = {}  # relative directory path -> wd

    def add(self, rel, abs_path):
        if rel in self.wds:
            return True
        if len(self.wds) >= MAX_WATCHES:
            return False
        wd = libc().inotify_add_watch(self.fd, abs_path.encode("utf-8", "surrogateescape"), WATCH_MASK)
        if wd < 0:
            return False
        self.paths[wd] = rel
        self.wds[rel] = wd
        return True

    def read(self):
        """(directory, name, mask) of every queued event; ('', None, IN_Q_OVERFLOW) when events were lost."""
        out = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            offset = 0
            while offset + EVENT.size <= len(data):
                wd, mask, _cookie, length = EVENT.unpack_from(data, offset)
                name = data[offset + EVENT.size:offset + EVENT.size + length].rstrip(b"\0")
                offset += EVENT.size + length
                if mask & IN_Q_OVERFLOW:
                    out.append(("", None, IN_Q_OVERFLOW))
                    continue
                rel = self.paths.get(wd)
                if rel is None:
                    continue
                if mask & IN_IGNORED:
                    del self.paths[wd]
                    self.wds.pop(rel, None)
                    continue
                out.append((rel, os.fsdecode(name) if name else None, mask))


SPECIAL_TYPES = {stat.S_IFIFO: tarfile.FIFOTYPE, stat.S_IFCHR: tarfile.CHRTYPE, stat.S_IFBLK: tarfile.BLKTYPE}


def entry_of(st):
    """What the manifest keeps of an entry: enough to tell it changed."""
    mode = st.st_mode
    kind = ("d" if stat.S_ISDIR(mode) else "f" if stat.S_ISREG(mode) else "l" if stat.S_ISLNK(mode)
            else "x" if stat.S_IFMT(mode) in SPECIAL_TYPES else None)
    if kind is None:
        return None
    if kind == "d":
        return (kind, stat.S_IMODE(mode))
    return (kind, stat.S_IMODE(mode), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


class ExactReader:
    """Reads exactly `size` bytes of a file that may shrink meanwhile (pads with zeros)."""

    def __init__(self, handle, size):
        self.handle, self.left = handle, size

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        data = self.handle.read(n) if n > 0 else b""
        if len(data) < n:
            data += b"\0" * (n - len(data))
        self.left -= len(data)
        return data


class Workspace:
    def __init__(self, root, spawn, finish):
        """spawn(args, **popen_kwargs) starts a process the agent tracks; finish(proc) waits for it."""
        self.spawn, self.finish = spawn, finish
        self.root = root
        os.makedirs(root, exist_ok=True)
        self.lock = threading.RLock()
        self.manifest = {}  # relative path -> entry_of(...)
        self.children = {"": set()}
        self.dirty = set()
        self.rescan_all = False
        try:
            self.inotify = Inotify()
        except OSError:
            self.inotify = None
            self.rescan_all = True
        self.watch_dir("")
        if self.inotify is not None:
            threading.Thread(target=self._drain_forever, daemon=True).start()

    # ---------------------------------------------------------------- change tracking

    def abs(self, rel):
        return os.path.join(self.root, rel) if rel else self.root

    def watch_dir(self, rel):
        if self.inotify is not None and not self.inotify.add(rel, self.abs(rel)):
            self.rescan_all = True

    def _drain_forever(self):
        while True:
            select.select([self.inotify.fd], [], [])
            self.drain()

    def drain(self):
        """Folds queued inotify events into the set of dirty directories."""
        if self.inotify is None:
            return
        with self.lock:
            for rel, name, mask in self.inotify.read():
                if mask & IN_Q_OVERFLOW:
                    self.rescan_all = True
                elif mask & (IN_DELETE_SELF | IN_MOVE_SELF):
                    self.dirty.add(os.path.dirname(rel))
                else:
                    self.dirty.add(rel)

    def is_dirty(self):
        self.drain()
        with self.lock:
            return self.rescan_all or bool(self.dirty)

    def _record(self, rel, entry):
        parent, name = os.path.split(rel)
        if entry is None:
            self.manifest.pop(rel, None)
            self.children.get(parent, set()).discard(name)
            self._drop_under(rel)
            return
        old = self.manifest.get(rel)
        if old is not None and old[0] == "d" and entry[0] != "d":
            self._drop_under(rel)
        self.manifest[rel] = entry
        self.children.setdefault(parent, set()).add(name)
        if entry[0] == "d":
            self.children.setdefault(rel, set())

    def _drop_under(self, rel):
        for name in self.children.pop(rel, set()):
            child = os.path.join(rel, name)
            self.manifest.pop(child, None)
            self._drop_under(child)

    def _lstat(self, rel):
        try:
            return entry_of(os.lstat(self.abs(rel)))
        except OSError:
            return None

    def _scan_dir(self, rel, seen, gone, walk_new):
        """Reads one directory; new subdirectories are walked (and watched) when walk_new."""
        try:
            names = os.listdir(self.abs(rel))
        except OSError:
            return
        present = set()
        for name in names:
            child = os.path.join(rel, name) if rel else name
            entry = self._lstat(child)
            if entry is None:
                continue
            present.add(name)
            seen[child] = entry
            known = self.manifest.get(child)
            if entry[0] == "d" and (known is None or known[0] != "d" or walk_new == "all"):
                self.watch_dir(child)
                self._scan_dir(child, seen, gone, walk_new)
        for name in self.children.get(rel, ()):
            if name not in present:
                gone.add(os.path.join(rel, name) if rel else name)

    def changes(self):
        """(upserts, deletions) since the manifest was last updated; does not update it."""
        self.drain()
        with self.lock:
            seen, gone = {}, set()
            if self.rescan_all:
                self._scan_dir("", seen, gone, "all")
                for rel in self.manifest:
                    parent = os.path.dirname(rel)
                    if rel not in seen and (parent == "" or parent in seen):
                        gone.add(rel)
            else:
                for rel in sorted(self.dirty, key=len):
                    if any(rel == g or rel.startswith(g + "/") for g in gone):
                        continue
                    self._scan_dir(rel, seen, gone, "new")
            upserts = sorted(rel for rel, entry in seen.items() if self.manifest.get(rel) != entry)
            # A path whose type changed is deleted first, then written anew.
            for rel in upserts:
                known = self.manifest.get(rel)
                if known is not None and known[0] != seen[rel][0]:
                    gone.add(rel)
            return upserts, seen, sorted(gone)

    def commit(self, upserts, seen, gone):
        with self.lock:
            for rel in gone:
                self._record(rel, None)
            for rel in upserts:
                self._record(rel, seen[rel])
            self.dirty.clear()
            self.rescan_all = self.inotify is None or len(self.inotify.wds) >= MAX_WATCHES

    # ---------------------------------------------------------------- host -> sandbox

    def push(self, read_chunk, deletions, paths, reset, identity):
        """Deletes, then extracts the tar that read_chunk() yields, then records what the host now has."""
        doomed = [self.abs(name) for name in os.listdir(self.root)] if reset else []
        doomed += [self.abs(rel) for rel in deletions if os.path.lexists(self.abs(rel))]
        if doomed:
            self.finish(self.spawn(["rm", "-rf", "--"] + doomed))
        extract = self.spawn(["tar", "-x", "-o", "-f", "-", "-C", self.root], stdin=subprocess.PIPE,
                             stderr=subprocess.PIPE, **identity)
        try:
            while True:
                chunk = read_chunk()
                if chunk is None:
                    break
                extract.stdin.write(chunk)
        finally:
            extract.stdin.close()
        error = extract.stderr.read().decode("utf-8", "replace")
        if self.finish(extract) != 0:
            raise RuntimeError("tar could not extract the project: " + error.strip()[-500:])
        self.drain()
        with self.lock:
            if reset:
                self.manifest.clear()
                self.children = {"": set()}
            for rel in deletions:
                self._record(rel, None)
            for rel in paths:
                entry = self._lstat(rel)
                if entry is not None:
                    self._record(rel, entry)
                    if entry[0] == "d":
                        self.watch_dir(rel)
            # The push itself marked its directories dirty: when nothing else changed there, the
            # next command has nothing to report (a command running meanwhile keeps them dirty).
            upserts, _seen, gone = self.changes()
            if not upserts and not gone:
                self.dirty.clear()
                self.rescan_all = self.inotify is None or len(self.inotify.wds) >= MAX_WATCHES

    # ---------------------------------------------------------------- sandbox -> host

    def pull(self, out, send_deletions):
        """Sends the deletions, then a tar of the changed entries written through out.write()."""
        upserts, seen, gone = self.changes()
        send_deletions(gone)
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as archive:
            for rel in upserts:
                path = self.abs(rel)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                info = tarfile.TarInfo(rel)
                info.mode = stat.S_IMODE(st.st_mode)
                info.mtime = st.st_mtime
                if stat.S_ISDIR(st.st_mode):
                    info.type = tarfile.DIRTYPE
                    archive.addfile(info)
                elif stat.S_ISLNK(st.st_mode):
                    info.type = tarfile.SYMTYPE
                    info.linkname = os.readlink(path)
                    archive.addfile(info)
                elif stat.S_ISREG(st.st_mode):
                    info.size = st.st_size
                    try:
                        with open(path, "rb") as handle:
                            archive.addfile(info, ExactReader(handle, st.st_size))
                    except OSError:
                        continue
                elif stat.S_IFMT(st.st_mode) in SPECIAL_TYPES:
                    # Sent as what it is, so that the host refuses it and says so.
                    info.type = SPECIAL_TYPES[stat.S_IFMT(st.st_mode)]
                    archive.addfile(info)
                seen[rel] = entry_of(st)
        self.commit(upserts, seen, gone)
