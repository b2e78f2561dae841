import type { Duplex } from "node:stream";
import {
  type BackendExit,
  type BackendRequest,
  CancelledError,
  COMMAND_ARRIVED,
  ExecutionFailedError,
  type OutputSink,
  PID_RECORDING_WRAPPER,
  RUN_ID_VARIABLE,
  TREE_KILL_SCRIPT,
} from "@stigmer/core";
import type Docker from "dockerode";
import { engineUnavailable, isConnectionError, statusOf } from "./docker-errors.js";
import { readFrames } from "./frames.js";
import { SandboxGoneError, SandboxLostError } from "./sandbox-errors.js";
import type { Sandbox } from "./sandbox-pool.js";
import { stdinChunks } from "./stdin-chunks.js";

/** Output before the command has arrived that is more than an error message: the command's, then. */
const EARLY_OUTPUT_LIMIT = 1024 * 1024;

/**
 * Runs one command with `docker exec`, for images without python3. Docker has no API to kill an
 * exec, so the wrapper records the command's pid and a second exec kills its process tree. The
 * command text goes first on the exec's stdin, never as an argument (Linux refuses one over 128 KiB),
 * and the shell prints {@link COMMAND_ARRIVED} once it has it: output before that byte is Docker's
 * or the wrapper's error (an exec that could not start, an environment too large), reported as
 * EXECUTION_FAILED, never as the command's output.
 */
export async function runViaExec(
  docker: Docker,
  sandbox: Sandbox,
  request: BackendRequest,
  output: OutputSink,
  options: { workspacePath: string; killGraceMs: number; keepBackground: boolean },
): Promise<BackendExit> {
  const container = docker.getContainer(sandbox.id);
  const script = Buffer.from(request.command, "utf8");
  let exec: Docker.Exec;
  let stream: Duplex;
  try {
    exec = await container.exec({
      Cmd: ["sh", "-c", PID_RECORDING_WRAPPER, "stigmer-exec", request.id, String(script.length)],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      WorkingDir: options.workspacePath,
      // The run id marks everything the command starts, so a kill also finds what left its tree.
      Env: [...Object.entries(request.env).map(([name, value]) => `${name}=${value}`), `${RUN_ID_VARIABLE}=${request.id}`],
      ...(sandbox.user ? { User: sandbox.user } : {}),
    });
    stream = (await exec.start({ hijack: true, stdin: true })) as Duplex;
  } catch (error) {
    if (isConnectionError(error)) throw engineUnavailable(docker, error);
    const status = statusOf(error);
    if (status === 404 || status === 409) throw new SandboxGoneError(`the sandbox container is gone (${status})`);
    throw error;
  }

  let killing: Promise<unknown> | undefined;
  const kill = () => {
    killing ??= container
      .exec({
        Cmd: [
          "sh",
          "-c",
          TREE_KILL_SCRIPT,
          "stigmer-kill",
          request.id,
          String(Math.ceil(options.killGraceMs / 100)),
          options.keepBackground ? "0" : "1",
        ],
        User: "0:0",
      })
      .then((k) => k.start({ hijack: true, stdin: false }))
      .then((s) => new Promise((resolve) => (s as Duplex).on("end", resolve).on("close", resolve).resume()))
      .catch(() => {});
  };
  if (request.signal.aborted) kill();
  request.signal.addEventListener("abort", kill, { once: true });
  stream.on("error", () => {});
  // The command, then its stdin (if any), then end of file.
  void (async () => {
    stream.write(script);
    if (request.stdin !== undefined) {
      for await (const chunk of stdinChunks(request.stdin)) {
        if (!stream.write(chunk)) await new Promise((resolve) => stream.once("drain", resolve));
      }
    }
    stream.end();
  })().catch(() => stream.end());

  let arrived = false;
  const early: Array<{ type: number; payload: Buffer }> = [];
  let earlyBytes = 0;
  const deliver = async (type: number, payload: Buffer) => {
    if (type === 1) await output.write("stdout", payload);
    else if (type === 2) await output.write("stderr", payload);
  };
  /** From now on everything is the command's; the stderr held so far was too (stdout before the byte never is). */
  const start = async () => {
    arrived = true;
    for (const { type, payload } of early.splice(0)) if (type === 2) await deliver(2, payload);
  };
  try {
    for await (const { type, payload } of readFrames(stream, 8)) {
      if (arrived) await deliver(type, payload);
      else if (type === 1 && payload[0] === COMMAND_ARRIVED.charCodeAt(0)) {
        // The command's stderr may overtake the byte: Docker copies the two streams separately.
        await start();
        if (payload.length > 1) await deliver(1, payload.subarray(1));
      } else {
        early.push({ type, payload });
        earlyBytes += payload.length;
        // More than an error message: the command's stderr, its byte still on the way.
        if (earlyBytes > EARLY_OUTPUT_LIMIT) await start();
      }
    }
  } finally {
    request.signal.removeEventListener("abort", kill);
  }
  if (killing) await killing;
  const result = await exec.inspect().catch(() => undefined);
  const running = await container
    .inspect()
    .then((c) => c.State.Running)
    .catch(() => false);
  if (!running || !result || result.ExitCode === null)
    throw new SandboxLostError("the sandbox container stopped while the command was running");
  if (!arrived) {
    if (request.signal.aborted) throw new CancelledError("The command was cancelled before it started.");
    const said = Buffer.concat(early.map((frame) => frame.payload))
      .toString("utf8")
      .replace(/\s+/g, " ")
      .trim()
      .slice(0, 2000);
    const hint = /argument list too long/i.test(said)
      ? " (the command's environment is too large: Linux refuses a variable over 128 KiB, and more than ARG_MAX in all; pass large values in a file or on stdin)"
      : "";
    throw new ExecutionFailedError(
      `The sandbox could not start the command (docker exec exited ${result.ExitCode}): ${said || "no message"}${hint}.`,
      { details: { exitCode: result.ExitCode } },
    );
  }
  return { exitCode: result.ExitCode, signal: null };
}
