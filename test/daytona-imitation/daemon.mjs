// The imitation of Daytona's in-sandbox daemon (the "toolbox"): process execution,
// sessions, session command logs (plain and WebSocket follow), stdin input, files.
//
// Mirrors the daemon source (daytonaio/daytona, apps/daemon, read at commit b5a5d9e78):
// - pkg/session/create.go: a session is ONE persistent shell (bash reading commands from its
//   stdin) started in its own process group. Commands of a session therefore run one after the
//   other in that shell, and shell state (cd, exported variables, functions) carries over.
// - pkg/session/execute.go: each command gets a directory with cmd.sh, output.log, exit_code and
//   an input FIFO; a wrapper block written to the shell's stdin runs `. cmd.sh` with stdout and
//   stderr going through FIFOs whose readers prefix every line with 01 01 01 (stdout) or
//   02 02 02 (stderr) and append it to output.log; the exit code is written after both readers
//   have drained. Sync exec polls exit_code every 50 ms. The wrapper text below is the daemon's.
// - pkg/session/delete.go: delete signals the process group and the process tree with SIGTERM,
//   waits up to the grace period (daemon default 5 s, option `killGraceMs` here), then SIGKILL.
// - pkg/session/log.go + internal/util/log_reader.go: the follow WebSocket sends the log file
//   as binary frames of at most 1024 bytes (the daemon's read size), polls every 20 ms at EOF,
//   checks the exit_code file after 50 consecutive EOFs (~1 s) and then closes normally; it also
//   closes when the session is deleted.
// - pkg/session/input.go: input goes to the command's input FIFO (newline appended) and is echoed
//   into the log as stdout unless suppressInputEcho.
// - pkg/toolbox/process/execute.go: /process/execute pipes the command into a fresh shell's
//   stdin, combines stdout and stderr, kills the process group on timeout and answers 408, and
//   kills it too when the client drops the connection (then it answers nothing).
// - pkg/toolbox/fs/upload_files.go, download_files.go: bulk upload/download multipart formats.

import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, constants as fsConstants, readFileSync, statSync } from "node:fs";
import { appendFile, mkdir, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import busboy from "busboy";
import { compareVersions, daemonError, sleep } from "./http.mjs";
import { killTree } from "./processes.mjs";

export const STDOUT_PREFIX = Buffer.from([1, 1, 1]);
export const STDERR_PREFIX = Buffer.from([2, 2, 2]);
const ENTRYPOINT_SESSION_ID = "entrypoint";

// The daemon's cmdWrapperFormat (pkg/session/execute.go), with Go's %q/%s filled in by wrapCommand.
function wrapCommand({ log, dir, input, inputPipeCommand, cmdFile, exitCodeFile }) {
  const q = (s) => JSON.stringify(s);
  return `
{
	log=${q(log)}
	dir=${q(dir)}

	# per-command FIFOs
	sp="$dir/stdout.pipe"
	ep="$dir/stderr.pipe"
	ip=${q(input)}
	
	rm -f "$sp" "$ep" "$ip" && mkfifo "$sp" "$ep" "$ip" || exit 1

	cleanup() { rm -f "$sp" "$ep" "$ip"; }
	trap 'cleanup' EXIT HUP INT TERM

  # prefix each stream and append to shared log
	( while IFS= read -r line || [ -n "$line" ]; do printf '\\001\\001\\001%s\\n' "$line"; done < "$sp" ) >> "$log" & r1=$!
	( while IFS= read -r line || [ -n "$line" ]; do printf '\\002\\002\\002%s\\n' "$line"; done < "$ep" ) >> "$log" & r2=$!

	# Sync commands should see EOF immediately; async commands keep stdin open for SendInput.
	${inputPipeCommand}
	ip_pid=$!

	# Run your command from file (avoids heredoc parsing issues with pipe-fed shells)
	{ . ${q(cmdFile)}; } < "$ip" > "$sp" 2> "$ep"
	_ec=$?

	# Stop the stdin holder so it doesn't outlive the command
	kill "$ip_pid" 2>/dev/null; wait "$ip_pid" 2>/dev/null

	# drain labelers (cleanup via trap)
	wait "$r1" "$r2"

	# Write exit code only after labelers have flushed all output to the log file.
	echo "$_ec" >> ${q(exitCodeFile)}

	# Ensure unlink even if the waits failed
	cleanup
}

`;
}

/** Splits a prefixed log into stdout and stderr bytes (the daemon's DemuxLogBytes). */
export function demuxLog(data) {
  const out = [];
  const err = [];
  let pos = 0;
  let current = null;
  let start = 0;
  const flush = (end) => {
    if (current && end > start) current.push(data.subarray(start, end));
  };
  while (pos < data.length) {
    const isOut = pos + 3 <= data.length && data[pos] === 1 && data[pos + 1] === 1 && data[pos + 2] === 1;
    const isErr = pos + 3 <= data.length && data[pos] === 2 && data[pos + 1] === 2 && data[pos + 2] === 2;
    if (isOut || isErr) {
      flush(pos);
      current = isOut ? out : err;
      pos += 3;
      start = pos;
    } else {
      pos++;
    }
  }
  flush(pos);
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
}

/** Removes the stream markers, keeping the bytes in order (combined output for old clients). */
const stripPrefixes = (data) => {
  const parts = [];
  let start = 0;
  for (let i = 0; i + 3 <= data.length; ) {
    if ((data[i] === 1 && data[i + 1] === 1 && data[i + 2] === 1) || (data[i] === 2 && data[i + 1] === 2 && data[i + 2] === 2)) {
      parts.push(data.subarray(start, i));
      i += 3;
      start = i;
    } else i++;
  }
  parts.push(data.subarray(start));
  return Buffer.concat(parts);
};

/**
 * How the daemon decides the output format from the caller's SDK version
 * (pkg/session/common.go): old or unversioned clients get combined output without markers.
 */
function outputMode(headers) {
  const sdkVersion = headers["x-daytona-sdk-version"] ?? "";
  const isDev = sdkVersion.includes("dev");
  const combined =
    (sdkVersion !== "" && compareVersions(sdkVersion, "0.27.0") < 0 && !isDev) ||
    (sdkVersion === "" && headers["x-daytona-split-output"] !== "true");
  const skipServerDemux = sdkVersion === "" ? true : isDev ? false : compareVersions(sdkVersion, "0.167.0") < 0;
  return { combined, skipServerDemux };
}

export class SandboxDaemon {
  /**
   * @param {object} o
   * @param {string} o.rootDir  the sandbox's root directory (a temp dir)
   * @param {string} o.homeDir  the sandbox user's HOME (inside rootDir); the daemon's working dir
   * @param {string} o.configDir where session logs live (outside rootDir)
   * @param {() => Record<string,string>} o.env the environment of sandbox processes
   * @param {number} o.killGraceMs SIGTERM → SIGKILL grace when deleting a session
   * @param {number} o.logFrameBytes max bytes per log WebSocket frame
   * @param {number} o.followExitCheckMs consecutive-EOF time before the exit code is checked
   */
  constructor(o) {
    this.o = o;
    this.sessions = new Map();
    this.execs = new Set();
    this.sockets = new Set();
    this.closed = false;
  }

  /** Maps a sandbox path to the host: relative → under HOME, absolute → under the sandbox root. */
  resolvePath(p) {
    const { rootDir, homeDir } = this.o;
    if (!p) return homeDir;
    if (!isAbsolute(p)) return join(homeDir, p);
    if (p === rootDir || p.startsWith(`${rootDir}/`)) return p;
    return join(rootDir, p);
  }

  // ---------------------------------------------------------------- /process/execute

  /** POST /process/execute; `disconnected` aborts when the client drops the connection (no answer then). */
  async executeCommand(body, disconnected) {
    const command = typeof body?.command === "string" ? body.command : "";
    if (command.trim() === "") throw daemonError(400, "command cannot be empty or whitespace-only");
    const cwd = body.cwd ? this.resolvePath(body.cwd) : this.o.homeDir;
    if (!existsSync(cwd) || !statSync(cwd).isDirectory()) {
      return { exitCode: -1, result: `chdir ${body.cwd}: no such file or directory` };
    }
    // The daemon gives the shell ONE pipe for stdout and stderr (Go's exec shares the pipe when
    // Stdout == Stderr), so their interleaving is preserved: `exec 2>&1` before reading the script.
    const child = spawn("bash", ["-c", "exec 2>&1; exec bash"], {
      cwd,
      env: { ...this.o.env(), ...(body.envs ?? {}) },
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const entry = { pid: child.pid, done: null };
    this.execs.add(entry);
    const chunks = [];
    child.stdout.on("data", (c) => chunks.push(c));
    child.stderr.on("data", (c) => chunks.push(c));
    child.stdin.on("error", () => {});
    child.stdin.end(command);
    let timedOut = false;
    const timer =
      body.timeout > 0
        ? setTimeout(() => {
            timedOut = true;
            try {
              process.kill(-child.pid, "SIGKILL");
            } catch {}
          }, body.timeout * 1000)
        : null;
    let dropped = false;
    const onDisconnect = () => {
      dropped = true;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    };
    if (disconnected?.aborted) onDisconnect();
    else disconnected?.addEventListener("abort", onDisconnect, { once: true });
    entry.done = new Promise((resolve) => {
      child.on("error", () => resolve(-1));
      child.on("close", (code) => resolve(code ?? -1));
    });
    const exitCode = await entry.done;
    if (timer) clearTimeout(timer);
    disconnected?.removeEventListener("abort", onDisconnect);
    this.execs.delete(entry);
    if (dropped) return undefined;
    if (timedOut) throw daemonError(408, "command execution timeout");
    return { exitCode, result: Buffer.concat(chunks).toString("utf8") };
  }

  // ---------------------------------------------------------------- sessions

  getSessionOr404(sessionId) {
    const session = this.sessions.get(sessionId);
    if (!session) throw daemonError(404, "not found: session not found");
    return session;
  }

  async createSession(body) {
    const sessionId = body?.sessionId;
    if (typeof sessionId !== "string" || sessionId === "") {
      throw daemonError(
        400,
        "Key: 'CreateSessionRequest.SessionId' Error:Field validation for 'SessionId' failed on the 'required' tag",
        "INVALID_REQUEST_BODY",
      );
    }
    if (sessionId === ENTRYPOINT_SESSION_ID) throw daemonError(400, "provided session ID is reserved and cannot be created/overridden");
    if (this.sessions.has(sessionId)) throw daemonError(409, "session already exists");
    const dir = join(this.o.configDir, "sessions", sessionId);
    await mkdir(dir, { recursive: true });
    const shell = spawn("bash", [], { cwd: this.o.homeDir, env: this.o.env(), detached: true, stdio: ["pipe", "ignore", "ignore"] });
    shell.stdin.on("error", () => {});
    const session = { id: sessionId, shell, pid: shell.pid, dir, commands: new Map(), cancelled: false, exited: false };
    shell.on("exit", () => {
      session.exited = true;
    });
    shell.on("error", () => {
      session.exited = true;
    });
    this.sessions.set(sessionId, session);
  }

  commandDto(session, command) {
    if (command.exitCode === undefined) {
      try {
        const text = readFileSync(join(session.dir, command.id, "exit_code"), "utf8");
        const code = Number.parseInt(text.trim(), 10);
        if (!Number.isNaN(code)) command.exitCode = code;
      } catch {
        // not finished yet
      }
    }
    return { id: command.id, command: command.command, ...(command.exitCode === undefined ? {} : { exitCode: command.exitCode }) };
  }

  sessionDto(session) {
    return { sessionId: session.id, commands: [...session.commands.values()].map((c) => this.commandDto(session, c)) };
  }

  listSessions() {
    return [...this.sessions.values()].map((s) => this.sessionDto(s));
  }

  getSession(sessionId) {
    return this.sessionDto(this.getSessionOr404(sessionId));
  }

  getSessionCommand(sessionId, commandId) {
    const session = this.getSessionOr404(sessionId);
    const command = session.commands.get(commandId);
    if (!command) throw daemonError(404, "not found: command not found");
    return this.commandDto(session, command);
  }

  async deleteSession(sessionId) {
    if (sessionId === ENTRYPOINT_SESSION_ID) throw daemonError(400, "can't delete entrypoint session");
    const session = this.getSessionOr404(sessionId);
    await this.terminateSession(session, this.o.killGraceMs);
    await rm(session.dir, { recursive: true, force: true });
    this.sessions.delete(sessionId);
  }

  async terminateSession(session, graceMs) {
    if (session.pid) await killTree(session.pid, { graceMs });
    session.cancelled = true;
  }

  async execute(sessionId, body, headers) {
    if (sessionId === ENTRYPOINT_SESSION_ID) throw daemonError(400, "can't execute command in entrypoint session");
    const session = this.getSessionOr404(sessionId);
    const text = typeof body?.command === "string" ? body.command : "";
    if (text.trim() === "") throw daemonError(400, "command cannot be empty", "");
    const runAsync = Boolean(body.runAsync || body.async);
    const id = randomUUID();
    const command = { id, command: text, exitCode: undefined, suppressInputEcho: Boolean(body.suppressInputEcho) };
    session.commands.set(id, command);
    const dir = join(session.dir, id);
    const log = join(dir, "output.log");
    const exitCodeFile = join(dir, "exit_code");
    const cmdFile = join(dir, "cmd.sh");
    await mkdir(dir, { recursive: true });
    await writeFile(log, "");
    await writeFile(cmdFile, text, { mode: 0o600 });
    if (session.exited || session.cancelled) throw daemonError(400, "failed to write command: write |1: broken pipe");
    session.shell.stdin.write(
      wrapCommand({
        log,
        dir,
        input: join(dir, "input.pipe"),
        inputPipeCommand: runAsync ? 'while :; do sleep 3600; done > "$ip" &' : 'cat /dev/null > "$ip" &',
        cmdFile,
        exitCodeFile,
      }),
    );
    if (runAsync) return { status: 202, body: { cmdId: id } };

    for (;;) {
      if (session.cancelled || this.closed) {
        command.exitCode = 1;
        throw daemonError(400, "session cancelled");
      }
      let exitText;
      try {
        exitText = await readFile(exitCodeFile, "utf8");
      } catch (error) {
        if (error.code === "ENOENT") {
          await sleep(50);
          continue;
        }
        throw daemonError(400, `failed to read exit code file: ${error.message}`);
      }
      const exitCode = Number.parseInt(exitText.replace(/\n+$/, ""), 10);
      command.exitCode = exitCode;
      const logBytes = await readFile(log);
      const mode = outputMode(headers);
      if (mode.combined) return { status: 200, body: { cmdId: id, output: stripPrefixes(logBytes).toString("utf8"), exitCode } };
      const result = { cmdId: id, output: logBytes.toString("utf8"), exitCode };
      if (!mode.skipServerDemux) {
        const { stdout, stderr } = demuxLog(logBytes);
        result.stdout = stdout.toString("utf8");
        result.stderr = stderr.toString("utf8");
      }
      return { status: 200, body: result };
    }
  }

  logPaths(sessionId, commandId) {
    const session = this.getSessionOr404(sessionId);
    const command = session.commands.get(commandId);
    if (!command) throw daemonError(404, "not found: command not found");
    const dir = join(session.dir, commandId);
    return { session, command, log: join(dir, "output.log"), exitCodeFile: join(dir, "exit_code") };
  }

  /** GET …/logs without a WebSocket upgrade. */
  async getLogs(sessionId, commandId, headers) {
    const { log } = this.logPaths(sessionId, commandId);
    let logBytes;
    try {
      logBytes = await readFile(log);
    } catch (error) {
      throw daemonError(404, `not found: open ${log}: ${error.code === "ENOENT" ? "no such file or directory" : error.message}`);
    }
    const mode = outputMode(headers);
    if (mode.combined) return { text: stripPrefixes(logBytes).toString("utf8") };
    if (mode.skipServerDemux) return { text: logBytes.toString("utf8") };
    const { stdout, stderr } = demuxLog(logBytes);
    return { json: { output: logBytes.toString("utf8"), stdout: stdout.toString("utf8"), stderr: stderr.toString("utf8") } };
  }

  /**
   * Streams a command's log over an accepted WebSocket (…/logs?follow=true).
   * `dropAfterBytes` (fault injection) terminates the connection after that many log bytes.
   */
  async streamLogs(ws, sessionId, commandId, { follow, headers, dropAfterBytes }) {
    const { session, log, exitCodeFile } = this.logPaths(sessionId, commandId);
    const combined = outputMode(headers).combined;
    this.sockets.add(ws);
    let clientGone = false;
    ws.on("close", () => {
      clientGone = true;
    });
    ws.on("error", () => {
      clientGone = true;
    });
    const send = (data) =>
      new Promise((resolve) => {
        ws.send(data, { binary: true }, () => resolve());
      });
    const frameBytes = this.o.logFrameBytes;
    const eofChecks = Math.max(1, Math.round(this.o.followExitCheckMs / 20));
    let handle;
    try {
      handle = await open(log, "r");
    } catch {
      ws.close(1011);
      this.sockets.delete(ws);
      return;
    }
    const buffer = Buffer.alloc(frameBytes);
    let position = 0;
    let sent = 0;
    let eofCount = 0;
    let carry = Buffer.alloc(0);
    try {
      while (!clientGone && !this.closed) {
        if (session.cancelled) {
          if (combined && carry.length > 0) await send(carry);
          ws.close(1000);
          return;
        }
        const { bytesRead } = await handle.read(buffer, 0, frameBytes, position);
        if (bytesRead > 0) {
          eofCount = 0;
          position += bytesRead;
          let chunk = Buffer.from(buffer.subarray(0, bytesRead));
          if (combined) {
            // keep up to two trailing marker bytes for the next chunk (daemon: processLogChunkWithPrefixFiltering)
            const all = Buffer.concat([carry, chunk]);
            let keep = 0;
            while (keep < 2 && keep < all.length && (all[all.length - 1 - keep] === 1 || all[all.length - 1 - keep] === 2)) keep++;
            carry = all.subarray(all.length - keep);
            chunk = stripPrefixes(all.subarray(0, all.length - keep));
          }
          if (dropAfterBytes !== undefined && sent + chunk.length >= dropAfterBytes) {
            if (dropAfterBytes > sent) await send(chunk.subarray(0, dropAfterBytes - sent));
            ws.terminate();
            return;
          }
          if (chunk.length > 0) {
            sent += chunk.length;
            await send(chunk);
          }
          continue;
        }
        if (!follow) break;
        eofCount++;
        if (eofCount >= eofChecks) {
          let exitText = "";
          try {
            exitText = await readFile(exitCodeFile, "utf8");
          } catch {}
          if (exitText.trim() !== "") break;
          eofCount = 0;
        }
        await sleep(20);
      }
      if (!clientGone && !this.closed) {
        if (combined && carry.length > 0) await send(carry);
        ws.close(1000);
      }
    } finally {
      await handle.close().catch(() => {});
      this.sockets.delete(ws);
    }
  }

  async sendInput(sessionId, commandId, body) {
    const session = this.getSessionOr404(sessionId);
    if (session.exited) throw daemonError(410, "session process has exited");
    const command = session.commands.get(commandId);
    if (!command) throw daemonError(404, "not found: command not found");
    if (command.exitCode !== undefined) throw daemonError(410, `command has already completed with exit code ${command.exitCode}`);
    let data = typeof body?.data === "string" ? body.data : "";
    if (!data.endsWith("\n")) data += "\n";
    const dir = join(session.dir, commandId);
    let handle;
    try {
      // Non-blocking open: fails (ENXIO/ENOENT) when the command is not reading its stdin FIFO.
      handle = await open(join(dir, "input.pipe"), fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
    } catch (error) {
      throw daemonError(500, `failed to open input pipe: ${error.message}`);
    }
    try {
      await handle.write(data);
    } catch (error) {
      throw daemonError(500, `failed to write to input pipe: ${error.message}`);
    } finally {
      await handle.close().catch(() => {});
    }
    if (!command.suppressInputEcho) await appendFile(join(dir, "output.log"), Buffer.concat([STDOUT_PREFIX, Buffer.from(data)]));
  }

  // ---------------------------------------------------------------- files

  /** POST /files/bulk-upload (multipart `files[i].path` fields + `files[i].file` parts). */
  uploadFiles(req) {
    return new Promise((resolve, reject) => {
      let bb;
      try {
        bb = busboy({ headers: req.headers, preservePath: true });
      } catch {
        req.resume();
        resolve({ status: 400, body: { errors: ["invalid multipart form"] } });
        return;
      }
      const dests = new Map();
      const errors = [];
      const files = [];
      const writes = [];
      const index = (name) => name.match(/\[(\d+)\]/)?.[1] ?? "";
      bb.on("field", (name, value) => {
        if (!name.endsWith(".path")) return;
        const dest = String(value).trim();
        if (dest === "") errors.push(`path[${index(name)}]: empty path`);
        else dests.set(index(name), dest);
      });
      bb.on("file", (name, stream) => {
        if (!name.endsWith(".file")) {
          stream.resume();
          return;
        }
        const idx = index(name);
        const dest = dests.get(idx);
        if (!dest) {
          errors.push(`file[${idx}]: missing .path metadata`);
          stream.resume();
          return;
        }
        const target = this.resolvePath(dest);
        stream.pause();
        writes.push(
          (async () => {
            try {
              await mkdir(dirname(target), { recursive: true });
            } catch (error) {
              errors.push(`${dest}: mkdir ${dirname(dest)}: ${error.message}`);
              stream.resume();
              return;
            }
            await new Promise((done) => {
              const out = createWriteStream(target);
              let bytes = 0;
              stream.on("data", (c) => {
                bytes += c.length;
              });
              out.on("finish", () => {
                files.push({ path: dest, bytes });
                done();
              });
              out.on("error", (error) => {
                errors.push(`${dest}: write: ${error.message}`);
                stream.resume();
                done();
              });
              stream.pipe(out);
            });
          })(),
        );
      });
      bb.on("error", (error) => reject(daemonError(400, `reading part: ${error.message}`)));
      bb.on("close", async () => {
        await Promise.all(writes);
        resolve(errors.length > 0 ? { status: 400, body: { errors, files } } : { status: 200, body: { files } });
      });
      req.pipe(bb);
    });
  }

  /** POST /files/bulk-download: a multipart/form-data response, `file` parts or JSON `error` parts. */
  async downloadFiles(body, res, method) {
    const paths = Array.isArray(body?.paths) ? body.paths : [];
    if (paths.length === 0) {
      return { status: 400, body: { error: 'request body must be {"paths": [ ... ]} and non-empty' } };
    }
    const boundary = "DAYTONA-FILE-BOUNDARY";
    res.writeHead(200, { "content-type": `multipart/form-data; boundary=${boundary}` });
    const write = (data) => (res.write(data) ? Promise.resolve() : new Promise((resolve) => res.once("drain", resolve)));
    const disposition = (name, p) =>
      `form-data; name="${name}"; filename="${p.replace(/["\\]/g, (c) => `\\${c}`).replace(/[\r\n\0]/g, "")}"; filename*=utf-8''${encodeURIComponent(p)}`;
    let first = true;
    const partHeader = (headers) => {
      const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
      const text = `${first ? "" : "\r\n"}--${boundary}\r\n${lines.join("\r\n")}\r\n\r\n`;
      first = false;
      return text;
    };
    for (const p of paths) {
      let failure;
      let info;
      const target = this.resolvePath(p);
      if (!p) failure = [400, "INVALID_FILE_PATH", "invalid file path: path is empty"];
      else {
        try {
          info = await stat(target);
          if (info.isDirectory()) failure = [400, "INVALID_FILE_PATH", `invalid file path: path points to a directory: ${p}`];
        } catch (error) {
          failure =
            error.code === "ENOENT"
              ? [404, "FILE_NOT_FOUND", `file not found: ${p}`]
              : error.code === "EACCES"
                ? [403, "FILE_ACCESS_DENIED", `permission denied: ${p}`]
                : [500, "FILE_READ_FAILED", `failed to open file: ${error.message}`];
        }
      }
      if (failure) {
        const payload = JSON.stringify({
          statusCode: failure[0],
          message: failure[2],
          code: failure[1],
          timestamp: new Date().toISOString(),
          path: p,
          method,
        });
        await write(partHeader({ "Content-Disposition": disposition("error", p), "Content-Type": "application/json; charset=utf-8" }));
        await write(payload);
        continue;
      }
      await write(
        partHeader({
          "Content-Disposition": disposition("file", p),
          "Content-Length": String(info.size),
          "Content-Type": "application/octet-stream",
        }),
      );
      for await (const chunk of createReadStream(target)) await write(chunk);
    }
    await write(`\r\n--${boundary}--\r\n`);
    res.end();
    return null;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Kills every session and running command (the container stopped): sessions are gone afterwards. */
  async shutdown(graceMs) {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    await Promise.all([
      ...sessions.map((s) => this.terminateSession(s, graceMs)),
      ...[...this.execs].map((e) => killTree(e.pid, { graceMs })),
    ]);
    await Promise.all([...this.execs].map((e) => e.done));
    await rm(join(this.o.configDir, "sessions"), { recursive: true, force: true });
  }
}
