#!/usr/bin/env python3
"""Stigmer's in-sandbox agent: runs commands sent over a Unix socket and streams their output back.

It lives as the container's main process (under docker-init), so a command costs one fork and one
local socket round trip instead of three Docker API calls.

Usage: stigmer-agent.py SOCKET HEARTBEAT TTL_SECONDS KILL_GRACE_SECONDS

One connection per command. Frames in both directions: 1 byte type, 4 bytes big-endian length, payload.
  client -> agent: REQUEST JSON {command, cwd, env, stdin: bool, user?}, STDIN bytes, STDIN_EOF, KILL
  agent -> client: STARTED JSON {pid}, STDOUT bytes, STDERR bytes, EXIT JSON {exitCode, signal}, ERROR JSON {message}
A connection closed before EXIT kills the command's process tree: nobody is left to read it.
The agent exits (and the container with it) once no command runs and the heartbeat file, which the
host touches while it uses the sandbox, is older than TTL_SECONDS.
"""
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

REQUEST, STDIN, STDIN_EOF, KILL = 1, 2, 3, 4
STARTED, STDOUT, STDERR, EXIT, ERROR = 16, 17, 18, 19, 20
DRAIN_SECONDS = 0.2
SHELL = "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"

running = 0
running_lock = threading.Lock()


def frame(kind, payload=b""):
    return struct.pack(">BI", kind, len(payload)) + payload


def read_exact(conn, size):
    buf = b""
    while len(buf) < size:
        chunk = conn.recv(size - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_frame(conn):
    head = read_exact(conn, 5)
    if head is None:
        return None, None
    kind, size = struct.unpack(">BI", head)
    body = read_exact(conn, size) if size else b""
    if body is None:
        return None, None
    return kind, body


def home_of(user):
    """The user's home directory, or /tmp for a uid the image does not know (HOME must be writable)."""
    import pwd

    try:
        entry = pwd.getpwuid(user) if isinstance(user, int) else pwd.getpwnam(user)
        return entry.pw_dir if os.path.isdir(entry.pw_dir) else "/tmp"
    except KeyError:
        return "/tmp"


def processes():
    """(pid, ppid, pgrp, zombie) of every process, read from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as f:
                stat = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        out.append((int(entry), int(fields[1]), int(fields[2]), fields[0] in ("Z", "X")))
    return out


def descendants(root, procs):
    children = {}
    for pid, ppid, _, _ in procs:
        children.setdefault(ppid, []).append(pid)
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def kill_tree(leader, grace):
    """SIGTERM the process group and every descendant (also those that left the group), SIGKILL after grace."""
    tracked = set(descendants(leader, processes()))
    tracked.add(leader)

    def survivors():
        return [p for p, _, g, z in processes() if not z and (g == leader or p in tracked)]

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
    procs = processes()
    for pid in list(tracked):
        tracked.update(descendants(pid, procs))
    if survivors():
        send(signal.SIGKILL)
        deadline = time.time() + 1
        while survivors() and time.time() < deadline:
            time.sleep(0.01)


def feed_stdin(pipe, queue, ready):
    """Writes queued chunks to the child's stdin on its own thread, so a full pipe never stalls output."""
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


def serve(conn, grace):
    global running
    kind, body = read_frame(conn)
    if kind != REQUEST:
        conn.close()
        return
    with running_lock:
        running += 1
    try:
        request = json.loads(body.decode("utf-8"))
        env = dict(os.environ)
        identity = {}
        user = request.get("user")
        if user:
            name, _, group = user.partition(":")
            identity["user"] = int(name) if name.isdigit() else name
            if group:
                identity["group"] = int(group) if group.isdigit() else group
            identity["extra_groups"] = []
            env["HOME"] = home_of(identity["user"])
        env.update(request.get("env") or {})
        try:
            proc = subprocess.Popen(
                [SHELL, "-c", request["command"]],
                cwd=request.get("cwd") or None,
                env=env,
                stdin=subprocess.PIPE if request.get("stdin") else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                close_fds=True,
                **identity
            )
        except OSError as error:
            conn.sendall(frame(ERROR, json.dumps({"message": str(error)}).encode()))
            return
        conn.sendall(frame(STARTED, json.dumps({"pid": proc.pid}).encode()))

        stdin_queue, stdin_ready = [], threading.Event()
        if proc.stdin is not None:
            threading.Thread(target=feed_stdin, args=(proc.stdin, stdin_queue, stdin_ready), daemon=True).start()
        killer = None
        client_open = True
        streams = {proc.stdout.fileno(): STDOUT, proc.stderr.fileno(): STDERR}
        drain_left = DRAIN_SECONDS
        while streams:
            exited = proc.poll() is not None
            if exited and drain_left <= 0:
                break
            watch = list(streams) + ([conn] if client_open else [])
            started = time.time()
            readable, _, _ = select.select(watch, [], [], min(0.05, max(drain_left, 0.001)) if exited else 0.05)
            if exited and not [r for r in readable if r is not conn]:
                # Only time spent waiting for output counts against the drain budget.
                drain_left -= time.time() - started
            for item in readable:
                if item is conn:
                    kind, body = read_frame(conn)
                    if kind is None or kind == KILL:
                        if kind is None:
                            client_open = False
                        if killer is None:
                            killer = threading.Thread(target=kill_tree, args=(proc.pid, grace), daemon=True)
                            killer.start()
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
                        if killer is None:
                            killer = threading.Thread(target=kill_tree, args=(proc.pid, grace), daemon=True)
                            killer.start()
        code = proc.wait()
        if killer is not None:
            killer.join()
        for pipe in (proc.stdout, proc.stderr):
            pipe.close()
        if client_open:
            result = {"exitCode": code, "signal": None} if code >= 0 else {"exitCode": None, "signal": signal.Signals(-code).name}
            conn.sendall(frame(EXIT, json.dumps(result).encode()))
    except Exception as error:  # report, never take the agent down
        try:
            conn.sendall(frame(ERROR, json.dumps({"message": repr(error)}).encode()))
        except OSError:
            pass
    finally:
        with running_lock:
            running -= 1
        try:
            conn.close()
        except OSError:
            pass


def watch_heartbeat(heartbeat, ttl):
    while True:
        time.sleep(min(1.0, max(ttl / 4, 0.1)))
        with running_lock:
            busy = running > 0
        try:
            idle = time.time() - os.stat(heartbeat).st_mtime
        except OSError:
            os._exit(0)  # the host removed the sandbox's directory: it is gone
        if not busy and idle > ttl:
            os._exit(0)


def main():
    path, heartbeat, ttl, grace = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    try:
        os.unlink(path)
    except OSError:
        pass
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path + ".tmp")
    os.chmod(path + ".tmp", 0o666)
    os.rename(path + ".tmp", path)  # appears only once it accepts
    server.listen(128)
    threading.Thread(target=watch_heartbeat, args=(heartbeat, ttl), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn, grace), daemon=True).start()


if __name__ == "__main__":
    main()
