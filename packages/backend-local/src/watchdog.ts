import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { type Logger, RUN_ID_VARIABLE, TREE_KILL_SCRIPT } from "@stigmer/core";

/**
 * Marks every local command with `STIGMER_RUN_ID=<token>:<n>:<execution id>` in its environment,
 * where the token is this process's own (random) and `n` counts its commands. The marker survives
 * setsid and double forks: a timeout or a cancel finds what the command left behind by its run
 * prefix (`<token>:<n>:`), and the watchdog finds everything this process's commands started by
 * the process prefix (`<token>:`).
 *
 * The watchdog is one small `sh` per Stigmer process, started with its first local command, in a
 * session of its own (a Ctrl-C on the terminal does not reach it), reading a pipe only this process
 * holds. When this process exits normally it says so on the pipe (`exit`, after a `kill <prefix>`
 * line per command still running), and the watchdog ends the running commands' trees and leaves
 * what finished commands left in the background alone, as a terminal does. When the pipe closes
 * without that (kill -9, a crash, a signal without a handler), it kills every process carrying the
 * process prefix, with {@link TREE_KILL_SCRIPT}. It costs nothing per command.
 */
const TOKEN = randomBytes(8).toString("hex");
let sequence = 0;
/** Run prefixes of the commands running now, for the exit message. */
const running = new Set<string>();

/** This process's marker prefix: every local command's `STIGMER_RUN_ID` starts with it. */
const PROCESS_MARKER = `${TOKEN}:`;

export interface RunMark {
  /** The `STIGMER_RUN_ID` value for the command's environment. */
  value: string;
  /** `STIGMER_RUN_ID=<token>:<n>:`: the start of the environment entry of everything this command started. */
  entry: string;
  /** The command has ended: a clean exit of this process no longer needs to kill it. */
  done(): void;
}

/** A fresh marker for one command. */
export function markRun(id: string): RunMark {
  const prefix = `${TOKEN}:${++sequence}:`;
  running.add(prefix);
  return { value: `${prefix}${id}`, entry: `${RUN_ID_VARIABLE}=${prefix}`, done: () => running.delete(prefix) };
}

// $1 process prefix, $2 TREE_KILL_SCRIPT, $3 grace in tenths of a second. stdin: the host's pipe.
const WATCHDOG_SCRIPT = `clean=; runs=
while IFS= read -r line; do
  case $line in
    exit) clean=1 ;;
    kill\\ *) runs="$runs \${line#kill }" ;;
  esac
done
[ -n "$clean" ] || runs=$1
for run in $runs; do sh -c "$2" stigmer-kill "$run" "$3" 1 & done
wait`;

let watchdog: ChildProcess | undefined;
let exitHookInstalled = false;
const procAvailable = existsSync("/proc/self/environ");

function onExit(): void {
  const pipe = watchdog?.stdin;
  if (!pipe || pipe.destroyed) return;
  // A small write to an empty pipe completes at once, before the process is gone.
  pipe.write(`${[...running].map((prefix) => `kill ${prefix}\n`).join("")}exit\n`);
}

/** Starts this process's watchdog unless it runs (idempotent; where /proc or sh is missing, does nothing). */
export function ensureWatchdog(graceMs: number, logger: Logger): void {
  if (watchdog || !procAvailable) return;
  const env = { ...process.env };
  // Not the marker of a Stigmer that runs this one: the watchdog must outlive this process if that one kills it.
  delete env[RUN_ID_VARIABLE];
  let child: ChildProcess;
  try {
    child = spawn(
      "/bin/sh",
      ["-c", WATCHDOG_SCRIPT, "stigmer-watchdog", PROCESS_MARKER, TREE_KILL_SCRIPT, String(Math.ceil(graceMs / 100))],
      {
        detached: true,
        stdio: ["pipe", "ignore", "ignore"],
        env,
        cwd: "/",
      },
    );
  } catch (error) {
    logger.debug({ err: error }, "could not start the local watchdog: commands will not be killed if this process is");
    return;
  }
  watchdog = child;
  child.on("error", (error) => {
    logger.debug({ err: error }, "could not start the local watchdog: commands will not be killed if this process is");
  });
  // Gone (killed from outside): the next command starts another.
  child.on("exit", () => {
    if (watchdog === child) watchdog = undefined;
  });
  child.stdin?.on("error", () => {});
  // Neither the process nor its pipe keeps this process alive.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", onExit);
  }
}
