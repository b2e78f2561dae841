import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { type FileHandle, mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { privateDir, type RemoteRun, remoteSandboxFiles, type SandboxFiles, shellQuote, stateDir } from "@stigmer/core";
import type { DaytonaSandboxPool, LiveSandbox } from "./sandbox-pool.js";
import { remoteDir } from "./session-runner.js";

/**
 * Where the sync scripts' standard input, output and error wait in the sandbox, relative to the
 * sandbox user's home (as the daemon resolves relative file paths). One set of files per run.
 */
export const SYNC_FILES_DIR = ".stigmer-sync";
/** The line the command line prints before anything else it reports (then stdout if inline, then stderr's tail). */
const STATUS = "stigmer-sync-status";
/** Largest stdout carried in `executeCommand`'s answer instead of a download: only plain ASCII text (never a tar, which always holds NUL bytes). */
const INLINE_MAX = 64 * 1024;
/** Bytes of the script's stderr brought back (for the error message of a failed sync). */
const STDERR_TAIL = 4000;
/** Archive sizes up to this are uploaded from memory; larger ones are spooled to a private host temp file first. */
const MEMORY_MAX = 32 * 1024 * 1024;
/** Limit of one sync script in the sandbox (a large first copy may take minutes), as the SDK's file transfers. */
const SYNC_TIMEOUT_SECONDS = 30 * 60;
/** Leftovers of interrupted runs (a process killed between upload and cleanup) older than this are swept. */
const STALE_MINUTES = 60;
/** How far a download is read ahead of its consumer. */
const READ_AHEAD = 1024 * 1024;
/** A download whose consumer has not read for this long (and that has not ended) is dropped. */
const ABANDONED_MS = 60_000;
/** Uploads at least this large are announced as progress. */
const ANNOUNCE_BYTES = 4 * 1024 * 1024;

/**
 * The line `executeCommand` runs for one sync script: `sh -c script` with `args` as `$1…` (an
 * argument starting with `~/` is expanded against the sandbox user's $HOME), stdin from the
 * uploaded file (removed afterwards) or /dev/null, stdout and stderr to files. It then prints
 * `stigmer-sync-status <exit> <stdout bytes> <none|inline|file>`, the stdout itself when it is
 * short plain ASCII text (`inline`: no tar ever qualifies), and the tail of stderr. `executeCommand`
 * answers with text that merges both streams, so binary stdout (`file`) is downloaded instead.
 * The daemon feeds this line to the shell's stdin: nothing here reads the shell's own stdin.
 */
export function syncCommandLine(runId: string, script: string, args: readonly string[], hasStdin: boolean): string {
  const words = args.map((arg) => (arg.startsWith("~/") ? remoteDir(arg) : shellQuote(arg)));
  const file = (suffix: string) => `"$d"/${shellQuote(`${runId}.${suffix}`)}`;
  return [
    `d="$HOME"/${SYNC_FILES_DIR}; o=${file("out")}; e=${file("err")}`,
    `[ -d "$d" ] || mkdir -p "$d" || exit 1`,
    hasStdin ? `find "$d" -maxdepth 1 -type f -mmin +${STALE_MINUTES} -exec rm -f {} + 2>/dev/null` : ":",
    `sh -c ${shellQuote(script)} stigmer-sync ${words.join(" ")} < ${hasStdin ? file("in") : "/dev/null"} > "$o" 2> "$e"; s=$?`,
    hasStdin ? `rm -f ${file("in")}` : ":",
    `n=$(($(wc -c 2>/dev/null < "$o" || echo 0)))`,
    `m=file`,
    `if [ "$n" -eq 0 ]; then m=none`,
    `elif [ "$n" -le ${INLINE_MAX} ] && command -v tr >/dev/null 2>&1 && [ "$(($(LC_ALL=C tr -d '\\n -~' < "$o" | wc -c)))" -eq 0 ]; then m=inline; fi`,
    `printf '${STATUS} %s %s %s\\n' "$s" "$n" "$m"`,
    `[ "$m" = inline ] && cat "$o"`,
    `[ "$m" = file ] || rm -f "$o"`,
    `tail -c ${STDERR_TAIL} "$e" 2>/dev/null; rm -f "$e"`,
  ].join("\n");
}

interface SyncAnswer {
  exitCode: number;
  size: number;
  mode: "none" | "inline" | "file";
  inline?: Buffer;
  stderr: string;
}

/** Reads what {@link syncCommandLine} printed; undefined when it did not get as far as its status line. */
export function parseSyncAnswer(result: string): SyncAnswer | undefined {
  const at = result.indexOf(`${STATUS} `);
  if (at === -1) return undefined;
  const end = result.indexOf("\n", at);
  if (end === -1) return undefined;
  const match = /^\S+ (-?\d+) (\d+) (none|inline|file)$/.exec(result.slice(at, end));
  if (!match) return undefined;
  const [, exitCode, size, mode] = match as unknown as [string, string, string, SyncAnswer["mode"]];
  const rest = Buffer.from(result.slice(end + 1), "utf8");
  const bytes = Number(size);
  if (mode !== "inline") return { exitCode: Number(exitCode), size: bytes, mode, stderr: rest.toString("utf8") };
  if (rest.length < bytes) return undefined;
  return {
    exitCode: Number(exitCode),
    size: bytes,
    mode,
    inline: rest.subarray(0, bytes),
    stderr: rest.subarray(bytes).toString("utf8"),
  };
}

/** An archive ready for `uploadFile`, which may send it more than once (retries): bytes in memory, or a private temp file. */
interface Spooled {
  source: Buffer | string;
  bytes: number;
  cleanup(): Promise<void>;
}

async function spool(stdin: AsyncIterable<Uint8Array>): Promise<Spooled> {
  const parts: Uint8Array[] = [];
  let bytes = 0;
  let dir: string | undefined;
  let handle: FileHandle | undefined;
  const cleanup = async () => {
    await handle?.close().catch(() => {});
    handle = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  };
  try {
    for await (const chunk of stdin) {
      bytes += chunk.length;
      if (handle) {
        await handle.write(chunk);
        continue;
      }
      parts.push(chunk);
      if (bytes > MEMORY_MAX) {
        // mkdtemp makes the directory 0700: the project's files stay private on the host.
        dir = await mkdtemp(join(tmpdir(), "stigmer-daytona-"));
        handle = await open(join(dir, "archive.tar"), "wx", 0o600);
        for (const part of parts.splice(0)) await handle.write(part);
      }
    }
    if (!handle) return { source: Buffer.concat(parts), bytes, cleanup };
    await handle.close();
    handle = undefined;
    return { source: join(dir as string, "archive.tar"), bytes, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

async function* nothing(): AsyncGenerator<Uint8Array> {}

/**
 * Reads a download ahead of its consumer, up to {@link READ_AHEAD} bytes, so that a consumer that
 * stops early without closing what it reads (core stops at the tar's end-of-archive blocks, and
 * GNU tar pads its archives after them) still lets the HTTP response finish and its connection go
 * back to the pool. A download the consumer left with more than that unread is dropped after
 * {@link ABANDONED_MS} without a read. `finished` runs once the response has ended or is dropped.
 */
async function* buffered(response: Readable, finished: () => void): AsyncGenerator<Uint8Array> {
  const body = new PassThrough({ highWaterMark: READ_AHEAD });
  let ended = false;
  response.once("end", () => {
    ended = true;
  });
  response.once("close", finished);
  response.once("error", (error) => body.destroy(error));
  response.pipe(body);
  let idle: NodeJS.Timeout | undefined;
  try {
    for await (const chunk of body) {
      clearTimeout(idle);
      if (!ended) {
        idle = setTimeout(() => {
          response.destroy();
          body.destroy();
        }, ABANDONED_MS);
        idle.unref();
      }
      yield chunk as Uint8Array;
    }
  } finally {
    clearTimeout(idle);
    if (!ended) response.destroy();
  }
}

/**
 * The host directory where core keeps the manifest of one Daytona sandbox's copy of the project
 * (`<state dir>/daytona/<sandbox id>`, private), or undefined when it cannot be made. Never
 * visible in the sandbox.
 */
export function syncStateDir(sandboxId: string): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(sandboxId)) return undefined;
  try {
    return privateDir(join(privateDir(join(stateDir(), "daytona")), sandboxId));
  } catch {
    return undefined;
  }
}

/** Removes what {@link syncStateDir} kept for a sandbox (it was deleted, or its copy must be rebuilt). */
export function dropSyncState(sandboxId: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(sandboxId)) return;
  try {
    rmSync(join(stateDir(), "daytona", sandboxId), { recursive: true, force: true });
  } catch {
    // nothing to remove
  }
}

/**
 * Core's `SandboxFiles` for one Daytona sandbox, through the SDK calls the backend already makes:
 * a script's stdin is uploaded with `fs.uploadFile`, the script runs through `process.executeCommand`
 * with its stdout and stderr redirected to files in the sandbox, and stdout comes back byte for byte
 * with `fs.downloadFileStream` (or, when it is short plain text, in executeCommand's answer). Every
 * call goes through the pool (retries, error mapping). The workspace is `workspacePath`, as for commands.
 */
export function daytonaSandboxFiles(
  live: LiveSandbox,
  pool: DaytonaSandboxPool,
  options: { workspacePath: string; stateDir?: string; onUpload?: (bytes: number) => void },
): SandboxFiles {
  const { sandbox } = live;
  return remoteSandboxFiles(
    {
      async run(script, args, stdin): Promise<RemoteRun> {
        const runId = randomUUID();
        if (stdin) {
          const upload = await spool(stdin);
          try {
            if (upload.bytes >= ANNOUNCE_BYTES) options.onUpload?.(upload.bytes);
            const path = `${SYNC_FILES_DIR}/${runId}.in`;
            const { source } = upload;
            await pool.call(
              "copying the project into the sandbox",
              () => (typeof source === "string" ? sandbox.fs.uploadFile(source, path) : sandbox.fs.uploadFile(source, path)),
              true,
            );
          } finally {
            await upload.cleanup();
          }
        }
        const line = syncCommandLine(runId, script, args, stdin !== undefined);
        const response = await pool.call(
          "running a workspace sync script",
          () => sandbox.process.executeCommand(line, undefined, undefined, SYNC_TIMEOUT_SECONDS),
          false,
        );
        const answer = parseSyncAnswer(response.result ?? "");
        if (!answer) {
          const said = String(response.result ?? "")
            .trim()
            .split("\n")
            .slice(-3)
            .join(" / ");
          throw new Error(`the sync script did not run in the sandbox (exit ${response.exitCode}${said ? `: ${said}` : ""})`);
        }
        const done = Promise.resolve({ exitCode: answer.exitCode, stderr: answer.stderr });
        if (answer.mode === "none") return { stdout: nothing(), done };
        if (answer.mode === "inline") {
          const bytes = answer.inline as Buffer;
          return {
            stdout: (async function* () {
              yield bytes;
            })(),
            done,
          };
        }
        const path = `${SYNC_FILES_DIR}/${runId}.out`;
        const stdout = (async function* () {
          const response = await pool.call("collecting the sandbox's changes", () => sandbox.fs.downloadFileStream(path), true);
          yield* buffered(response, () => void sandbox.fs.deleteFile(path).catch(() => {}));
        })();
        return { stdout, done };
      },
    },
    {
      key: sandbox.id,
      fresh: live.fresh,
      workspacePath: options.workspacePath,
      // In the sandbox user's home, beside the scripts' files (`~/` is expanded in the sandbox).
      syncDir: `~/${SYNC_FILES_DIR}/state-${sandbox.id.replace(/[^A-Za-z0-9._-]/g, "_")}`,
      ...(options.stateDir ? { stateDir: options.stateDir } : {}),
    },
  );
}
