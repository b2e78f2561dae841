#!/usr/bin/env python3
"""Stigmer's in-sandbox agent: the container's main process (PID 1).

Usage: stigmer_agent.py CHANNEL_DIR WORKSPACE TTL_SECONDS KILL_GRACE_SECONDS CLEANUP(1/0) STRATEGY

The host never opens anything the sandbox can write. It creates listening sockets in CHANNEL_DIR,
a directory mounted read-only here, and this agent connects out to each of them. Frames in both
directions: 1 byte type, 4 bytes big-endian length, payload.

  on connect   host -> HELLO {nonce};  agent -> AUTH {mac: HMAC-SHA256(token, nonce), role, stream?}
  control      agent -> READY {...};   host -> OPEN {stream} (agent connects again as that stream), PING
  stream       host -> RUN {command, env, stdin, user, runId, keepBackground}, STDIN, STDIN_EOF, KILL
                 agent -> STARTED, STDOUT, STDERR, EXIT {exitCode, signal, stats}, ERROR
               host -> PUSH {deletions, paths, reset, user}, DATA..., DATA_END;  agent -> DONE
               host -> PULL;  agent -> DELETIONS {paths}, DATA..., DATA_END
               host -> STATS;  agent -> DONE {stats}

The token comes from CHANNEL_DIR/token, read once at start (the host deletes it as soon as this
agent has authenticated, before any command runs). As PID 1 the agent cannot be stopped or killed
by processes of the sandbox, and it makes itself non-dumpable, so they cannot trace it or read its
memory. It exits, and the container with it, once no host has used it for TTL_SECONDS (with
CLEANUP, as soon as no host is connected), whatever the sandbox's own processes do.
"""
import ctypes
import hashlib
import hmac
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
from stigmer_workspace import Inotify, Workspace  # noqa: E402

HELLO, AUTH, READY, OPEN, PING = 1, 2, 3, 5, 6
RUN, STDIN, STDIN_EOF, KILL, PUSH, PULL, STATS, DATA, DATA_END = 10, 11, 12, 13, 14, 15, 16, 17, 18
STARTED, STDOUT, STDERR, EXIT, ERROR, DONE, DELETIONS = 32, 33, 34, 35, 36, 37, 38
DRAIN_SECONDS = 0.2
# However much a background process keeps writing to the inherited pipes, the command is over this long after its shell.
DRAIN_CAP_SECONDS = 2.0
SHELL = "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"
RUN_ID_VARIABLE = "STIGMER_RUN_ID"

state = {"last": time.time(), "running": 0, "controls": 0, "ever_connected": False}
state_lock = threading.Lock()
children = set()  # pids of commands this agent started (reaped by their own wait())
children_lock = threading.Lock()


def frame(kind, payload=b""):
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return struct.pack(">BI", kind, len(payload)) + payload


def send_json(conn, kind, obj):
    conn.sendall(frame(kind, json.dumps(obj)))


def read_exact(conn, size):
    buf = bytearray()
    while len(buf) < size:
        chunk = conn.recv(size - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def read_frame(conn):
    head = read_exact(conn, 5)
    if head is None:
        return None, None
    kind, size = struct.unpack(">BI", head)
    body = read_exact(conn, size) if size else b""
    return (kind, body) if body is not None else (None, None)


def spawn(args, **kwargs):
    """Starts a process whose exit status the orphan reaper must leave to its own wait()."""
    with children_lock:
        proc = subprocess.Popen(args, **kwargs)
        children.add(proc.pid)
    return proc


def start_thread(target, *args):
    """Starts a daemon thread and returns it; None when none can be made even after a short wait
    (the sandbox is at its pids limit: a fork bomb). Callers then do the work inline or later."""
    for _ in range(20):
        try:
            thread = threading.Thread(target=target, args=args, daemon=True)
            thread.start()
            return thread
        except RuntimeError:
            time.sleep(0.01)
    return None


def finish(proc):
    code = proc.wait()
    with children_lock:
        children.discard(proc.pid)
    return code


def touch():
    with state_lock:
        state["last"] = time.time()


# ------------------------------------------------------------------ PID 1 duties


def make_undumpable():
    try:
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except Exception:
        pass


def reap_orphans():
    """Processes re-parented to PID 1 become zombies unless reaped; our own commands are reaped by Popen."""
    while True:
        time.sleep(0.5)
        try:
            entries = os.listdir("/proc")
        except OSError:
            continue
        for entry in entries:
            if not entry.isdigit():
                continue
            pid = int(entry)
            try:
                with open("/proc/%d/stat" % pid, "rb") as f:
                    fields = f.read().decode("utf-8", "replace").rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" or fields[1] != "1":
                continue
            with children_lock:
                if pid in children:
                    continue
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass


def watch_lease(ttl, cleanup):
    while True:
        time.sleep(min(1.0, max(ttl / 4, 0.1)))
        with state_lock:
            idle = time.time() - state["last"]
            busy = state["running"] > 0
            orphaned = cleanup and state["ever_connected"] and state["controls"] == 0
        if not busy and (idle > ttl or (orphaned and idle > 2)):
            os._exit(0)


# ------------------------------------------------------------------ processes


def processes():
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        fields = text[text.rfind(")") + 2:].split()
        out.append((int(entry), int(fields[1]), int(fields[2]), fields[0] in ("Z", "X")))
    return out


def descendants(root, procs):
    kids = {}
    for pid, ppid, _, _ in procs:
        kids.setdefault(ppid, []).append(pid)
    found, queue = [], [root]
    while queue:
        for child in kids.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def marked(run_id):
    """Processes whose environment carries this command's run id: what it started, double-forked or not."""
    needle = ("%s=%s" % (RUN_ID_VARIABLE, run_id)).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == 1:
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return found


def kill_tree(leader, grace, run_id=None):
    """SIGTERM the group and every descendant (and, with run_id, every process carrying it); SIGKILL after grace."""
    tracked = set(descendants(leader, processes()))
    tracked.add(leader)
    if run_id:
        tracked.update(marked(run_id))

    def survivors():
        return [p for p, _, g, z in processes() if not z and p != 1 and (g == leader or p in tracked)]

    def send(sig):
        try:
            os.killpg(leader, sig)
        except OSError:
            pass
        for pid in survivors():
            try:
                os.kill(pid, sig)
            except OSError:
                pass

    send(signal.SIGTERM)
    deadline = time.time() + grace
    while survivors() and time.time() < deadline:
        time.sleep(0.02)
    # A fork bomb outruns one round of kills: freeze everything found, then kill, until none is left.
    for _ in range(50):
        procs = processes()
        for pid in list(tracked):
            tracked.update(descendants(pid, procs))
        if run_id:
            tracked.update(marked(run_id))
        left = survivors()
        if not left:
            break
        send(signal.SIGSTOP)
        send(signal.SIGKILL)
        time.sleep(0.01)


def cgroup_value(*paths):
    for path in paths:
        try:
            with open(path) as f:
                text = f.read().strip()
            return None if text == "max" else int(text)
        except (OSError, ValueError):
            continue
    return None


def stats(workspace):
    s = {
        "pids": cgroup_value("/sys/fs/cgroup/pids.current", "/sys/fs/cgroup/pids/pids.current"),
        "pidsMax": cgroup_value("/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max"),
        "memory": cgroup_value("/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
        "memoryMax": cgroup_value("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"),
    }
    if workspace is not None:
        s["dirty"] = workspace.is_dirty()
    return s


def home_of(user):
    import pwd

    try:
        entry = pwd.getpwuid(user) if isinstance(user, int) else pwd.getpwnam(user)
        return entry.pw_dir if os.path.isdir(entry.pw_dir) else "/tmp"
    except KeyError:
        return "/tmp"


def identity_of(user):
    if not user:
        return {}, None
    name, _, group = user.partition(":")
    identity = {"user": int(name) if name.isdigit() else name, "extra_groups": []}
    if group:
        identity["group"] = int(group) if group.isdigit() else group
    return identity, home_of(identity["user"])


def feed_stdin(pipe, queue, ready):
    while True:
        ready.wait()
        ready.clear()
        while queue:
            chunk = queue.pop(0)
            if chunk is None:
                try:
                    pipe.close()
                except OSError:
                    pass
                return
            try:
                pipe.write(chunk)
                pipe.flush()
            except OSError:
                return


# ------------------------------------------------------------------ requests


def run_command(conn, request, cwd, grace, workspace):
    env = dict(os.environ)
    identity, home = identity_of(request.get("user"))
    if home:
        env["HOME"] = home
    env.update(request.get("env") or {})
    run_id = request.get("runId")
    if run_id:
        env[RUN_ID_VARIABLE] = run_id
    sweep = run_id if not request.get("keepBackground") else None
    # A large command (Linux refuses an argument over 128 KiB) comes with readers: the shell reads
    # it, its exact byte count, from stdin, ahead of the command's own stdin (see commandReader).
    readers = request.get("readers")
    script = None
    if readers:
        script = request["command"].encode("utf-8", "replace")
        reader = readers["bash" if os.path.basename(SHELL) == "bash" else "sh"]
        args = [SHELL, "-c", reader, SHELL, str(len(script))]
    else:
        args = [SHELL, "-c", request["command"]]
    try:
        proc = spawn(args, cwd=cwd, env=env,
                     stdin=subprocess.PIPE if request.get("stdin") or script is not None else subprocess.DEVNULL,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, close_fds=True, **identity)
    except OSError as error:
        send_json(conn, ERROR, {"message": str(error)})
        return
    send_json(conn, STARTED, {"pid": proc.pid})
    stdin_queue, stdin_ready = [], threading.Event()
    if script is not None:
        stdin_queue.append(script)
        if not request.get("stdin"):
            stdin_queue.append(None)
        stdin_ready.set()
    if proc.stdin is not None:
        if start_thread(feed_stdin, proc.stdin, stdin_queue, stdin_ready) is None:
            proc.stdin.close()  # no thread to feed it: end-of-file rather than a command that waits for ever
    killer = None
    client_open = True
    streams = {proc.stdout.fileno(): STDOUT, proc.stderr.fileno(): STDERR}
    drain_left = DRAIN_SECONDS
    exited_at = None

    def start_kill():
        nonlocal killer
        if killer is None:
            # At the pids limit (what a kill is often for) no thread may be had: kill inline then.
            killer = start_thread(kill_tree, proc.pid, grace, sweep)
            if killer is None:
                killer = False
                kill_tree(proc.pid, grace, sweep)

    while streams:
        exited = proc.poll() is not None
        if exited and exited_at is None:
            exited_at = time.time()
        if exited and (drain_left <= 0 or time.time() - exited_at > DRAIN_CAP_SECONDS):
            break
        watch = list(streams) + ([conn] if client_open else [])
        started = time.time()
        readable, _, _ = select.select(watch, [], [], min(0.05, max(drain_left, 0.001)) if exited else 0.05)
        if exited and not [r for r in readable if r is not conn]:
            drain_left -= time.time() - started
        for item in readable:
            if item is conn:
                kind, body = read_frame(conn)
                if kind is None or kind == KILL:
                    client_open = client_open and kind is not None
                    start_kill()
                elif kind == STDIN:
                    stdin_queue.append(body)
                    stdin_ready.set()
                elif kind == STDIN_EOF:
                    stdin_queue.append(None)
                    stdin_ready.set()
                continue
            data = os.read(item, 65536)
            if not data:
                del streams[item]
                continue
            if client_open:
                try:
                    conn.sendall(frame(streams[item], data))
                except OSError:
                    client_open = False
                    start_kill()
    code = finish(proc)
    if killer:
        killer.join()
    for pipe in (proc.stdout, proc.stderr):
        pipe.close()
    if client_open:
        result = {"exitCode": code, "signal": None} if code >= 0 else {"exitCode": None, "signal": signal.Signals(-code).name}
        result["stats"] = stats(workspace)
        send_json(conn, EXIT, result)


class FrameWriter:
    """A file-like object whose writes become DATA frames (tarfile writes through it)."""

    def __init__(self, conn):
        self.conn = conn

    def write(self, data):
        if data:
            self.conn.sendall(frame(DATA, bytes(data)))
        return len(data)


def serve_stream(conn, cwd, grace, workspace):
    kind, body = read_frame(conn)
    if kind is None:
        return
    request = json.loads(body.decode("utf-8")) if body else {}
    if kind == RUN:
        with state_lock:
            state["running"] += 1
        try:
            run_command(conn, request, cwd, grace, workspace)
        finally:
            with state_lock:
                state["running"] -= 1
            touch()
    elif kind == PUSH:
        def next_chunk():
            k, b = read_frame(conn)
            if k == DATA:
                return b
            if k == DATA_END:
                return None
            raise RuntimeError("the host closed the connection during a push")
        identity, _ = identity_of(request.get("user"))
        workspace.push(next_chunk, request.get("deletions") or [], request.get("paths") or [], bool(request.get("reset")), identity)
        send_json(conn, DONE, {})
    elif kind == PULL:
        workspace.pull(FrameWriter(conn), lambda paths: send_json(conn, DELETIONS, {"paths": paths}))
        conn.sendall(frame(DATA_END))
    elif kind == STATS:
        send_json(conn, DONE, {"stats": stats(workspace)})


# ------------------------------------------------------------------ the channel


def authenticate(conn, token, role, stream=None):
    kind, body = read_frame(conn)
    if kind != HELLO:
        raise OSError("no greeting from the host")
    nonce = json.loads(body.decode("utf-8"))["nonce"]
    mac = hmac.new(token, nonce.encode(), hashlib.sha256).hexdigest()
    reply = {"mac": mac, "role": role}
    if stream is not None:
        reply["stream"] = stream
    send_json(conn, AUTH, reply)


def open_stream(path, token, stream, cwd, grace, workspace):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
        authenticate(conn, token, "stream", stream)
        serve_stream(conn, cwd, grace, workspace)
    except Exception as error:  # report, never take the agent down
        try:
            send_json(conn, ERROR, {"message": repr(error)})
        except OSError:
            pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


failures = {}  # socket path -> connection attempts that failed in a row


def control(path, token, cwd, grace, workspace, connected):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
        authenticate(conn, token, "control")
        # How full the sandbox is comes with the greeting: a host adopting it needs no extra round trip.
        send_json(conn, READY, {"version": 2, "pid": os.getpid(), "workspace": cwd, "stats": stats(None)})
    except OSError:
        conn.close()
        # A socket seen the moment it was bound may not listen yet: try again soon, then every second.
        failures[path] = failures.get(path, 0) + 1
        connected[path] = time.time() + (0.01 if failures[path] <= 20 else 1)
        wake_watcher()  # it may be sleeping for a second: the retry is due sooner
        return
    failures.pop(path, None)
    with state_lock:
        state["controls"] += 1
        state["ever_connected"] = True
    touch()
    try:
        while True:
            kind, body = read_frame(conn)
            if kind is None:
                return
            touch()
            if kind == OPEN:
                stream = json.loads(body.decode("utf-8"))["stream"]
                if start_thread(open_stream, path, token, stream, cwd, grace, workspace) is None:
                    open_stream(path, token, stream, cwd, grace, workspace)  # no thread to be had: serve it here
    except OSError:
        return
    finally:
        with state_lock:
            state["controls"] -= 1
        connected[path] = time.time() + 0.2
        conn.close()


def channel_watch(channel):
    """An inotify watch on the channel directory, so a new host socket is seen at once; None without inotify."""
    try:
        watch = Inotify()
        if watch.add("", channel):
            return watch
        os.close(watch.fd)
    except OSError:
        pass
    return None


# Written to by a control thread that set a retry time, so that connect_hosts recomputes its wait.
wake_pipe = os.pipe()
os.set_blocking(wake_pipe[1], False)


def wake_watcher():
    try:
        os.write(wake_pipe[1], b"!")
    except OSError:
        pass  # full: a wake-up is already pending


def connect_hosts(channel, token, cwd, grace, workspace):
    """Connects to every host socket in the channel directory, now and whenever one appears."""
    connected = {}  # socket path -> None while connected, else when to try it again
    watch = channel_watch(channel)
    while True:
        try:
            names = os.listdir(channel)
        except OSError:
            names = []
        now = time.time()
        # Sockets of host processes that have gone: forget them.
        for path in [p for p, t in list(connected.items()) if t is not None and os.path.basename(p) not in names]:
            connected.pop(path, None)
            failures.pop(path, None)
        for name in names:
            path = os.path.join(channel, name)
            retry = connected.get(path, 0)
            if name.endswith(".sock") and retry is not None and retry <= now:
                connected[path] = None
                if start_thread(control, path, token, cwd, grace, workspace, connected) is None:
                    connected[path] = now + 0.1  # try again soon
        if watch is None:
            time.sleep(0.05)
            continue
        # Wake when the directory changes (a host process started listening), or when a retry is due.
        due = [t for t in connected.values() if t is not None]
        timeout = max(0.0, min(due) - time.time()) if due else 1.0
        try:
            readable, _, _ = select.select([watch.fd, wake_pipe[0]], [], [], min(timeout, 1.0))
            if watch.fd in readable:
                watch.read()
            if wake_pipe[0] in readable:
                os.read(wake_pipe[0], 4096)
        except OSError:
            time.sleep(0.05)


def main():
    make_undumpable()
    channel, cwd = sys.argv[1], sys.argv[2]
    ttl, grace, cleanup, strategy = float(sys.argv[3]), float(sys.argv[4]), sys.argv[5] == "1", sys.argv[6]
    with open(os.path.join(channel, "token"), "rb") as f:
        token = f.read().strip()
    os.makedirs(cwd, exist_ok=True)
    workspace = Workspace(cwd, spawn, finish) if strategy != "mount" else None
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: os._exit(0))
    threading.Thread(target=reap_orphans, daemon=True).start()
    threading.Thread(target=watch_lease, args=(ttl, cleanup), daemon=True).start()
    print("stigmer-agent: ready", flush=True)
    connect_hosts(channel, token, cwd, grace, workspace)


if __name__ == "__main__":
    main()
