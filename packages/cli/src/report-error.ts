import { isUsageError, StigmerError } from "@stigmer/core";

/** Exit status when stigmer itself could not run the command (as `docker run` uses 125). */
export const EXIT_STIGMER_FAILED = 125;
/** Exit status for invalid input: flags, configuration, request. */
export const EXIT_USAGE = 2;

/**
 * Prints an error as one line (no stack trace: `STIGMER_DEBUG=1` adds it) and returns the exit status.
 * With `json`, an `{"type":"error",…}` line also goes to stdout, in band with the event stream.
 */
export function reportError(error: unknown, json = false): number {
  const known = StigmerError.isInstance(error);
  const code = known ? error.code : "INTERNAL";
  const message = known ? error.message : `Unexpected failure: ${(error as Error)?.message ?? String(error)}. Please report it.`;
  if (json) process.stdout.write(`${JSON.stringify({ type: "error", code, message })}\n`);
  process.stderr.write(`stigmer: ${code}: ${message}\n`);
  if (process.env.STIGMER_DEBUG === "1" && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return isUsageError(error) ? EXIT_USAGE : EXIT_STIGMER_FAILED;
}
