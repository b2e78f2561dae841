import { randomUUID } from "node:crypto";
import { constants } from "node:os";
import {
  type BackendExit,
  type BackendRequest,
  CancelledError,
  commandReader,
  ExecutionFailedError,
  type Logger,
  type OutputSink,
  type OutputStream,
  RUN_ID_VARIABLE,
  type StdinSource,
  StigmerError,
  shellQuote,
  sleep,
  TREE_KILL_SCRIPT,
} from "@stigmer/core";
import { statusOf } from "./errors.js";
import { followLog, LogDemuxer, type LogEnd, type LogFollow, OrderedWriter } from "./log-stream.js";
import type { ResolvedDaytonaOptions } from "./options.js";
import type { DaytonaSandboxPool, LiveSandbox } from "./sandbox-pool.js";

/** The sandbox disappeared or stopped before the command started: safe to retry once elsewhere. */
export class SandboxGoneError extends Error {}

/** How many times a dropped log stream is followed again without the command having ended. */
const MAX_LOG_RECONNECTS = 5;
/** How long after a kill the log stream may take to end before the command is given up on. */
const KILL_SETTLE_MS = 10_000;
/** Quiet time after which the shell's own exit is checked (a background process may hold the output). */
const QUIET_MS = 300;
/** Quiet time after the shell exited before the output is taken as held open by a background process. */
const HELD_OPEN_MS = 1500;
/** Output queued for a slow reader beyond which the log stream is paused (backpressure). */
const PAUSE_BYTES = 1024 * 1024;
/** Commands per session before it is deleted and replaced. */
const SESSION_USES = 16;
/** Longest pause between exit-code checks while the log stream is open. */
const EXIT_POLL_MAX_MS = 500;
/** Output size below which the rest of the log is fetched at exit rather than awaited on the stream. */
const CATCH_UP_LIMIT = 1024 * 1024;

/**
 * Without the WebSocket, how often the stored log is read while the command runs: every second,
 * and less often as it grows (each read returns the whole log so far).
 */
function storedPollMs(deliveredBytes: number): number {
  return Math.max(1000, Math.min(30_000, (deliveredBytes / (1024 * 1024)) * 1000));
}

async function collectStdin(stdin: StdinSource): Promise<Uint8Array> {
  if (typeof stdin === "string") return new TextEncoder().encode(stdin);
  if (stdin instanceof Uint8Array) return stdin;
  const parts: Uint8Array[] = [];
  for await (const chunk of stdin) parts.push(chunk);
  return Buffer.concat(parts);
}

/** A directory in the sandbox as a shell word: `~/x` follows the sandbox user's $HOME. */
export function remoteDir(path: string): string {
  return path.startsWith("~/") ? `"$HOME"/${shellQuote(path.slice(2))}` : shellQuote(path);
}

/** Where a session's subshell records `<run id> <status>` when the command's shell exits (relative to $HOME). */
export const exitFileOf = (sessionId: string) => `.stigmer-run/${sessionId}.exit`;

/**
 * The line sent to the session's shell. It runs in a subshell, so nothing (cd, variables, `exit`)
 * leaks into the session that the next command reuses; the subshell uses only builtins around
 * `bash -c` (each process start costs milliseconds); `STIGMER_RUN_ID` in the environment makes
 * the tree findable by the kill script; stdin comes from an uploaded file (relative to the sandbox
 * user's home, removed afterwards) or /dev/null. When the shell exits, the subshell writes
 * `<run id> <status>` to the session's exit file: Daytona reports the exit code only once every
 * process holding the output open has ended, and a background process (`server &`) may never.
 */
export function commandLine(
  runId: string,
  sessionId: string,
  request: BackendRequest,
  workspacePath: string,
  stdinPath: string | undefined,
): string {
  const dir = remoteDir(workspacePath);
  const exports = [...Object.entries(request.env), [RUN_ID_VARIABLE, runId]].map(
    ([name, value]) => `export ${shellQuote(`${name}=${value}`)};`,
  );
  // The command text reaches the shell on fd 3 from a here-document, never as an argument (Linux
  // refuses one over 128 KiB): the reader reads exactly its bytes and runs it as `-c` would.
  const text = request.command;
  const bytes = Buffer.byteLength(text, "utf8");
  let end = `STIGMER_COMMAND_${runId.replaceAll("-", "")}`;
  while (text.split("\n").includes(end)) end += "_";
  const pick =
    `if command -v bash >/dev/null 2>&1; then __sh=bash __r=${shellQuote(commandReader("bash", 3))}; ` +
    `else __sh=sh __r=${shellQuote(commandReader("sh", 3))}; fi`;
  const run = `"$__sh" -c "$__r" "$__sh" ${bytes} 3<<'${end}'\n${text}\n${end}`;
  const exitFile = `"$HOME"/${shellQuote(exitFileOf(sessionId))}`;
  const body = [
    `[ -d "$HOME"/.stigmer-run ] || mkdir -p "$HOME"/.stigmer-run`,
    `{ [ -d ${dir} ] || mkdir -p ${dir}; } && cd ${dir} || exit 1`,
    pick,
    `${exports.join(" ")} ${run}`,
    `__s=$?; echo "${runId} $__s" > ${exitFile}; exit $__s`,
  ].join("\n");
  if (!stdinPath) return `(${body}) < /dev/null`;
  const input = `"$HOME"/${shellQuote(stdinPath)}`;
  return `(${body}) < ${input}; __s=$?; rm -f ${input}; (exit $__s)`;
}

/** Resolves `ms` after `signal` aborts (never, if it does not); `cancel` drops the timer. */
function afterAbort(signal: AbortSignal, ms: number): { promise: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort = () => {};
  const promise = new Promise<void>((resolve) => {
    onAbort = () => {
      timer = setTimeout(resolve, ms);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  return {
    promise,
    cancel: () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    },
  };
}

function signalName(exitCode: number): string {
  const number = exitCode - 128;
  return Object.entries(constants.signals).find(([, n]) => n === number)?.[0] ?? "SIGKILL";
}

/**
 * Runs one command in a session of the sandbox: `executeSessionCommand` with `runAsync`, its
 * stdout and stderr followed live and separately over the logs WebSocket, the exit code from
 * `getSessionCommand`. Abort runs the tree-kill script through `executeCommand` (a separate
 * process), and the log stream then ends as the command does.
 */
export async function runInSession(
  live: LiveSandbox,
  pool: DaytonaSandboxPool,
  request: BackendRequest,
  output: OutputSink,
  options: ResolvedDaytonaOptions,
  logger: Logger,
): Promise<BackendExit> {
  const { sandbox } = live;
  const runId = randomUUID();
  const { signal } = request;
  let started = false;
  const gone = async (error: unknown): Promise<never> => {
    // Was it the sandbox (deleted, stopped by auto-stop) or the request? Ask for the sandbox.
    const status = statusOf(error);
    if (status === 401 || status === 403 || status === 429 || (status ?? 0) >= 500) throw error;
    const state = await sandbox.refreshData().then(
      () => String(sandbox.state),
      (e: unknown) => (statusOf(e) === 404 ? "gone" : "unknown"),
    );
    if (state === "started") throw error;
    if (!started) throw new SandboxGoneError(`the Daytona sandbox ${sandbox.id} is ${state}`);
    pool.invalidate(live);
    throw new ExecutionFailedError(
      `The Daytona sandbox ${sandbox.id} became ${state} while the command was running (deleted, stopped, or auto-stopped from outside): run the command again to get a sandbox back.`,
      { cause: error, details: { sandbox: sandbox.id, state } },
    );
  };

  // A session per concurrent command; idle ones are reused (each command runs in a subshell).
  // The daemon leaves a small holder process per async command in the session until the session
  // is deleted, so a session is retired after SESSION_USES commands.
  let session = live.idleSessions.pop();
  if (!session) {
    const id = `stigmer-${randomUUID()}`;
    await pool.call("creating a session", () => sandbox.process.createSession(id), false, signal).catch(gone);
    session = { id, uses: 0 };
  }
  const sessionId = session.id;
  session.uses++;
  let reusable = session.uses < SESSION_USES;
  let abandoned = false;
  try {
    let stdinPath: string | undefined;
    if (request.stdin !== undefined) {
      const data = Buffer.from(await collectStdin(request.stdin));
      // Relative upload paths are relative to the sandbox user's home.
      stdinPath = `.stigmer-run/${runId}.stdin`;
      const path = stdinPath;
      await pool.call("uploading stdin", () => sandbox.fs.uploadFile(data, path), true, signal).catch(gone);
    }
    if (signal.aborted) throw new CancelledError("Cancelled before the command was started in the Daytona sandbox.");
    const line = commandLine(runId, sessionId, request, options.workspacePath, stdinPath);
    const { cmdId } = await pool
      .call("starting the command", () => sandbox.process.executeSessionCommand(sessionId, { command: line, runAsync: true }), false)
      .catch(gone);
    if (!cmdId) throw new ExecutionFailedError("Daytona did not return a command id for the session command.");
    started = true;

    let killing: Promise<unknown> | undefined;
    const kill = () => {
      reusable = false;
      const grace = String(Math.ceil(options.killGraceMs / 100));
      killing ??= sandbox.process
        .executeCommand(
          `sh -c ${shellQuote(TREE_KILL_SCRIPT)} stigmer-kill ${runId} ${grace}`,
          undefined,
          undefined,
          30 + options.killGraceMs / 1000,
        )
        .catch(() => {});
    };
    signal.addEventListener("abort", kill, { once: true });
    if (signal.aborted) kill();
    const exitOf = async () => {
      const command = await pool.call("reading the exit code", () => sandbox.process.getSessionCommand(sessionId, cmdId), true).catch(gone);
      return typeof command.exitCode === "number" ? command.exitCode : undefined;
    };
    /** The shell's status from the exit file, once it has exited (a background process may still hold the output). */
    const shellExit = async (): Promise<number | undefined> => {
      const data = await sandbox.fs.downloadFile(exitFileOf(sessionId)).catch(() => undefined);
      const [id, status] = String(data ?? "")
        .trim()
        .split(" ");
      return id === runId && status !== undefined && /^\d+$/.test(status) ? Number(status) : undefined;
    };

    // The log stream is followed with the SDK's own toolbox URL and headers (the same ones its
    // getSessionCommandLogs uses), demultiplexed byte-exact here; writes keep order.
    const toolbox = (
      sandbox.process as unknown as { clientConfig: { basePath: string; baseOptions?: { headers?: Record<string, string> } } }
    ).clientConfig;
    const logUrl = `${toolbox.basePath}/process/session/${encodeURIComponent(sessionId)}/command/${encodeURIComponent(cmdId)}/logs?follow=true`;
    let connection: LogFollow | undefined;
    const writer = new OrderedWriter(output, () => connection?.resume());
    const delivered = { stdout: 0, stderr: 0 };
    let lastOutputAt = performance.now();
    const deliver = (stream: OutputStream, bytes: Uint8Array) => {
      if (bytes.length === 0) return;
      lastOutputAt = performance.now();
      delivered[stream] += bytes.length;
      writer.push(stream, bytes);
      if (writer.queuedBytes > PAUSE_BYTES) connection?.pause();
    };
    /**
     * Delivers what the stored log (`GET …/logs`, the same endpoint the SDK's getSessionCommandLogs
     * reads) holds beyond what was delivered: all of it once the command has exited (`final`), else
     * only whole lines (a line is never cut inside a UTF-8 character, so byte counts stay aligned).
     */
    const fetchStored = async (final: boolean) => {
      const log = await pool
        .call("reading the command's output", () => sandbox.process.getSessionCommandLogs(sessionId, cmdId), true)
        .catch(gone);
      for (const stream of ["stdout", "stderr"] as const) {
        const bytes = Buffer.from(log[stream] ?? "");
        const end = final ? bytes.length : bytes.lastIndexOf(10) + 1;
        if (end > delivered[stream]) deliver(stream, bytes.subarray(delivered[stream], end));
      }
    };
    /** The exit code is written, so the stored log is complete: take the rest from it. */
    const catchUp = () => fetchStored(true);
    /** Why the live stream could not be used, for the error when the stored log cannot be read either. */
    let streamTrouble: string | undefined;
    /**
     * The command has exited but the stream did not deliver the whole log: the stored log is the
     * only place left to read it from. If that fails too, say so — never a silent empty result.
     */
    const rescue = async (exit: number) => {
      try {
        await catchUp();
      } catch (error) {
        reusable = false;
        const cause = StigmerError.isInstance(error) ? error.message : String((error as Error)?.message ?? error);
        throw new ExecutionFailedError(
          `The command ended with exit code ${exit} in the Daytona sandbox ${sandbox.id}, but its output could not be read: Daytona's log WebSocket (${streamTrouble ?? "dropped"}) and the stored log (${cause}) both failed. Check that your network or proxy lets WebSocket connections through to Daytona's toolbox, then run the command again.`,
          {
            cause: error,
            details: { reason: "output-unavailable", exitCode: exit, sandbox: sandbox.id, stream: streamTrouble ?? "dropped" },
          },
        );
      }
    };
    let exitCode: number | undefined;
    let heldOpen = false;
    let shellDoneAt: number | undefined;
    /** Following the stored log over HTTP instead of the WebSocket, which cannot be opened or keeps failing. */
    let stored = false;
    try {
      for (let reconnects = 0; ; ) {
        // A reconnect replays the log from the start: skip what was delivered already.
        const received = { stdout: 0, stderr: 0 };
        let listening = true;
        const demuxer = new LogDemuxer();
        const on = (stream: OutputStream, bytes: Uint8Array) => {
          if (!listening) return;
          const skip = Math.max(0, delivered[stream] - received[stream]);
          received[stream] += bytes.length;
          deliver(stream, skip > 0 ? bytes.subarray(skip) : bytes);
        };
        const before = delivered.stdout + delivered.stderr;
        let closed = false;
        let end: LogEnd | undefined;
        const current = stored ? undefined : followLog(logUrl, toolbox.baseOptions?.headers ?? {}, (frame) => demuxer.push(frame, on));
        connection = current;
        const follow = current
          ? current.ended.then((ending) => {
              demuxer.flush(on);
              end = ending;
              closed = true;
              if (!ending.normal) streamTrouble = ending.why;
            })
          : new Promise<void>(() => {});
        // The daemon closes the stream only after a second without output once the command has
        // exited; polling the exit code meanwhile ends short commands at once. After an abort,
        // the kill gets a bounded time.
        const deadline = afterAbort(signal, options.killGraceMs + KILL_SETTLE_MS);
        let expired = false;
        void deadline.promise.then(() => {
          expired = true;
        });
        let exit: number | undefined;
        let fetchedAt = 0;
        // Every 10 ms for the first quarter second (most agent commands are short), then backing off.
        for (let polls = 0; !closed && !expired; polls++) {
          await Promise.race([follow, deadline.promise, sleep(polls < 25 ? 10 : Math.min(EXIT_POLL_MAX_MS, 10 * 2 ** (polls - 24)))]);
          if (closed || expired) break;
          exit = await exitOf();
          if (exit !== undefined) break;
          if (stored && performance.now() - fetchedAt >= storedPollMs(delivered.stdout + delivered.stderr)) {
            // Without the stream, output reaches the caller in batches of whole lines. A failed
            // read is tried again at the next batch; the read at exit says if it keeps failing.
            await fetchStored(false).catch(() => {});
            fetchedAt = performance.now();
          }
          if (!killing && performance.now() - lastOutputAt > QUIET_MS) {
            const status = await shellExit();
            if (status !== undefined) {
              // The shell is done but Daytona has no exit code yet: its log writers may still be
              // flushing (a loaded sandbox), or something started in the background holds the
              // output open (and its session busy). Only after a quiet while is it the latter:
              // take the rest from the stored log and finish, leaving the background process be.
              shellDoneAt ??= performance.now();
              const now = performance.now();
              if (now - shellDoneAt >= HELD_OPEN_MS && now - lastOutputAt >= HELD_OPEN_MS) {
                listening = false;
                await catchUp();
                current?.close();
                heldOpen = true;
                exitCode = status;
                break;
              }
            }
          }
        }
        if (heldOpen) break;
        deadline.cancel();
        exit ??= await exitOf();
        if (exit !== undefined) {
          if (!current) {
            await rescue(exit);
          } else {
            // The log is complete once the exit code is written: take the rest from it instead
            // of waiting for the stream to close (what the stream still sends is skipped as a
            // duplicate). Large outputs, or a stored log that cannot be read, keep the stream.
            const caughtUp =
              !closed &&
              delivered.stdout + delivered.stderr < CATCH_UP_LIMIT &&
              (await catchUp().then(
                () => true,
                () => false,
              ));
            if (!caughtUp) {
              if (!closed) await Promise.race([follow, sleep(KILL_SETTLE_MS)]);
              if (!end?.normal) {
                // Refused, dropped, or closed without the daemon's normal close: the stream may
                // have missed the end of the output (or all of it). The stored log has it all.
                streamTrouble ??= end?.why ?? `no end within ${KILL_SETTLE_MS / 1000} s`;
                listening = false;
                await rescue(exit);
              }
            }
          }
          listening = false;
          current?.close();
          exitCode = exit;
          break;
        }
        listening = false;
        current?.close();
        if (killing) {
          await killing;
          if (++reconnects > MAX_LOG_RECONNECTS) break;
          continue;
        }
        if (!stored && delivered.stdout + delivered.stderr === before && ++reconnects > MAX_LOG_RECONNECTS) {
          // The WebSocket cannot be opened, or keeps closing without output, while the command
          // runs: follow the stored log over HTTP instead (the command is left running).
          stored = true;
          logger.warn(
            { sandbox: sandbox.id, stream: streamTrouble },
            "Daytona's log WebSocket cannot be used; following the command's stored log instead",
          );
          continue;
        }
        await sleep(Math.min(1000, 50 * 2 ** reconnects));
      }
    } finally {
      signal.removeEventListener("abort", kill);
      connection?.close();
      await writer.drain();
    }
    if (killing) {
      await killing;
      return { exitCode: null, signal: exitCode !== undefined && exitCode > 128 ? signalName(exitCode) : "SIGKILL" };
    }
    if (exitCode === undefined) throw new ExecutionFailedError("Daytona never reported the command's exit code.");
    abandoned = heldOpen;
    return { exitCode, signal: null };
  } catch (error) {
    reusable = false;
    throw error;
  } finally {
    if (abandoned) {
      // Deleting the session would kill what the command left running in the background.
    } else if (reusable && live.idleSessions.length < options.idleSessions && !pool.isRetired(live)) live.idleSessions.push(session);
    else void sandbox.process.deleteSession(sessionId).catch(() => {});
  }
}
