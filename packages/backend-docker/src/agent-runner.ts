import { connect, type Socket } from "node:net";
import { type BackendExit, type BackendRequest, ExecutionFailedError, type OutputSink } from "@stigmer/core";
import { encodeFrame, Frame, readFrames } from "./frames.js";
import { SandboxGoneError, SandboxLostError } from "./sandbox-errors.js";
import type { Sandbox } from "./sandbox-pool.js";
import { stdinChunks } from "./stdin-chunks.js";

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.removeListener("error", reject);
      resolve(socket);
    });
    socket.once("error", (error) =>
      reject(new SandboxGoneError(`the sandbox agent does not answer (${(error as { code?: string }).code ?? error.message})`)),
    );
  });
}

/**
 * Runs one command through the in-sandbox agent: one Unix-socket connection per command, output
 * frames written to the sink as they arrive (the socket is read only as fast as the sink accepts).
 * Abort sends KILL: the agent kills the process tree and still reports the exit.
 */
export async function runViaAgent(
  sandbox: Sandbox,
  request: BackendRequest,
  output: OutputSink,
  workspacePath: string,
): Promise<BackendExit> {
  if (request.signal.aborted) throw new SandboxGoneError("aborted before start");
  const socket = await open(sandbox.socketPath);
  socket.on("error", () => {}); // surfaced as a missing EXIT frame below
  const send = (type: number, payload?: Uint8Array | string) => {
    if (!socket.destroyed && socket.writable) socket.write(encodeFrame(type, payload));
  };
  const onAbort = () => send(Frame.KILL);
  request.signal.addEventListener("abort", onAbort, { once: true });
  send(
    Frame.REQUEST,
    JSON.stringify({
      command: request.command,
      cwd: workspacePath,
      env: request.env,
      stdin: request.stdin !== undefined,
      user: sandbox.user,
    }),
  );
  if (request.signal.aborted) onAbort();
  if (request.stdin !== undefined) {
    void (async () => {
      for await (const chunk of stdinChunks(request.stdin as NonNullable<BackendRequest["stdin"]>)) {
        if (socket.destroyed) return;
        if (!socket.write(encodeFrame(Frame.STDIN, chunk))) await new Promise((resolve) => socket.once("drain", resolve));
      }
      send(Frame.STDIN_EOF);
    })().catch(() => send(Frame.STDIN_EOF));
  }

  let started = false;
  try {
    for await (const { type, payload } of readFrames(socket, 5)) {
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
          const exit = JSON.parse(payload.toString("utf8")) as BackendExit;
          return { exitCode: exit.exitCode, signal: exit.signal };
        }
        case Frame.ERROR:
          throw new ExecutionFailedError(`The sandbox could not run the command: ${JSON.parse(payload.toString("utf8")).message}.`);
      }
    }
  } finally {
    request.signal.removeEventListener("abort", onAbort);
    socket.destroy();
  }
  if (!started) throw new SandboxGoneError("the sandbox agent closed the connection before starting the command");
  throw new SandboxLostError("the sandbox container stopped while the command was running");
}
