import { ARG_SAFE_BYTES, type BackendExit, type BackendRequest, commandReader, ExecutionFailedError, type OutputSink } from "@stigmer/core";
import type { AgentChannel } from "./agent-channel.js";
import { Frame } from "./frames.js";
import { SandboxGoneError, SandboxLostError } from "./sandbox-errors.js";
import { stdinChunks } from "./stdin-chunks.js";

/** What the sandbox looked like when the command ended (cgroup figures; null when unknown). */
export interface SandboxStats {
  pids?: number | null;
  pidsMax?: number | null;
  memory?: number | null;
  memoryMax?: number | null;
  /** The workspace changed since the last pull (sync strategy only). */
  dirty?: boolean;
}

/**
 * Runs one command through the in-sandbox agent on a stream connection of its own: output frames
 * are written to the sink as they arrive (the connection is read only as fast as the sink accepts).
 * Abort sends KILL: the agent kills the command's tree (and, unless `keepBackground`, every process
 * carrying its run id) and still reports the exit.
 */
export async function runViaAgent(
  channel: AgentChannel,
  request: BackendRequest,
  output: OutputSink,
  options: { user: string | undefined; keepBackground: boolean },
): Promise<{ exit: BackendExit; stats: SandboxStats }> {
  if (request.signal.aborted) throw new SandboxGoneError("aborted before start");
  const conn = await channel.openStream();
  const onAbort = () => void conn.send(Frame.KILL);
  request.signal.addEventListener("abort", onAbort, { once: true });
  await conn.sendJson(Frame.RUN, {
    command: request.command,
    // Over ARG_SAFE_BYTES, the agent's shell reads the command from stdin instead of an argument.
    ...(Buffer.byteLength(request.command, "utf8") > ARG_SAFE_BYTES
      ? { readers: { bash: commandReader("bash", 0), sh: commandReader("sh", 0) } }
      : {}),
    env: request.env,
    stdin: request.stdin !== undefined,
    user: options.user,
    runId: request.id,
    keepBackground: options.keepBackground,
  });
  if (request.signal.aborted) onAbort();
  if (request.stdin !== undefined) {
    void (async () => {
      for await (const chunk of stdinChunks(request.stdin as NonNullable<BackendRequest["stdin"]>)) {
        if (conn.socket.destroyed) return;
        await conn.send(Frame.STDIN, chunk);
      }
      await conn.send(Frame.STDIN_EOF);
    })().catch(() => conn.send(Frame.STDIN_EOF));
  }

  let started = false;
  try {
    for await (const { type, payload } of conn) {
      switch (type) {
        case Frame.STARTED:
          started = true;
          break;
        case Frame.STDOUT:
          await output.write("stdout", payload);
          break;
        case Frame.STDERR:
          await output.write("stderr", payload);
          break;
        case Frame.EXIT: {
          const exit = JSON.parse(payload.toString("utf8")) as BackendExit & { stats?: SandboxStats };
          return { exit: { exitCode: exit.exitCode, signal: exit.signal }, stats: exit.stats ?? {} };
        }
        case Frame.ERROR:
          throw new ExecutionFailedError(`The sandbox could not run the command: ${JSON.parse(payload.toString("utf8")).message}.`);
      }
    }
  } finally {
    request.signal.removeEventListener("abort", onAbort);
    conn.close();
  }
  if (!started) throw new SandboxGoneError("the sandbox agent closed the connection before starting the command");
  throw new SandboxLostError("the sandbox container stopped while the command was running");
}
