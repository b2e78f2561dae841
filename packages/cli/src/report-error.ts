import { isUsageError, StigmerError } from "@stigmer/core";

/** Exit status when stigmer itself could not run the command (as `docker run` uses 125). */
export const EXIT_STIGMER_FAILED = 125;
/** Exit status for invalid input: flags, configuration, request. */
export const EXIT_USAGE = 2;
/** Exit status when the reader of stdout or stderr went away (EPIPE): that of a process killed by SIGPIPE, 128 + 13. */
export const EXIT_BROKEN_PIPE = 141;

/**
 * Prints an error as one line (no stack trace: `STIGMER_DEBUG=1` adds it) and returns the exit status.
 * With `json`, an `{"type":"error",…}` line also goes to stdout, in band with the event stream.
 */
export function reportError(error: unknown, json = false): number {
  const known = StigmerError.isInstance(error);
  const code = known ? error.code : "INTERNAL";
  const message = known ? error.message : `Unexpected failure: ${(error as Error)?.message ?? String(error)}. Please report it.`;
  if (json && outputGone === undefined) process.stdout.write(`${JSON.stringify({ type: "error", code, message })}\n`);
  process.stderr.write(`stigmer: ${code}: ${message}\n`);
  if (process.env.STIGMER_DEBUG === "1" && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return isUsageError(error) ? EXIT_USAGE : EXIT_STIGMER_FAILED;
}

/** The first of stdout and stderr that failed a write, and how: its reader went away (EPIPE) or another error. */
let outputGone: { stream: "stdout" | "stderr"; code: string } | undefined;
let takeOver: (() => void) | undefined;

/** The exit status once output is gone: 141 for EPIPE, as a process killed by SIGPIPE; 125 for another write error. */
export function outputGoneStatus(): number | undefined {
  if (outputGone === undefined) return undefined;
  return outputGone.code === "EPIPE" ? EXIT_BROKEN_PIPE : EXIT_STIGMER_FAILED;
}

/**
 * Watches stdout and stderr for a failed write (`stigmer … | head -1`: the reader went away). By
 * default the process then exits at once and quietly, with {@link outputGoneStatus}, as a process
 * killed by SIGPIPE does; a command with something to stop first (`run`: the command's process
 * tree) takes over with {@link onOutputGone} and exits with that status itself.
 */
export function watchOutputs(): void {
  for (const [name, stream] of [
    ["stdout", process.stdout],
    ["stderr", process.stderr],
  ] as const) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      outputGone ??= { stream: name, code: error.code ?? "EIO" };
      if (takeOver) takeOver();
      else process.exit(outputGoneStatus());
    });
  }
}

/** Calls `handler` (once) instead of exiting when stdout or stderr goes away; returns the function that gives it back. */
export function onOutputGone(handler: () => void): () => void {
  let called = false;
  const once = () => {
    if (called) return;
    called = true;
    handler();
  };
  takeOver = once;
  if (outputGone !== undefined) once();
  return () => {
    if (takeOver === once) takeOver = undefined;
  };
}
