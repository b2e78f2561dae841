import type { Duplex } from "node:stream";
import {
  type BackendExit,
  type BackendRequest,
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

/**
 * Runs one command with `docker exec`, for images without python3. Docker has no API to kill an
 * exec, so the wrapper records the command's pid and a second exec kills its process tree.
 */
export async function runViaExec(
  docker: Docker,
  sandbox: Sandbox,
  request: BackendRequest,
  output: OutputSink,
  options: { workspacePath: string; killGraceMs: number; keepBackground: boolean },
): Promise<BackendExit> {
  const container = docker.getContainer(sandbox.id);
  const hasStdin = request.stdin !== undefined;
  let exec: Docker.Exec;
  let stream: Duplex;
  try {
    exec = await container.exec({
      Cmd: ["sh", "-c", PID_RECORDING_WRAPPER, "stigmer-exec", request.id, request.command],
      AttachStdin: hasStdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      WorkingDir: options.workspacePath,
      // The run id marks everything the command starts, so a kill also finds what left its tree.
      Env: [...Object.entries(request.env).map(([name, value]) => `${name}=${value}`), `${RUN_ID_VARIABLE}=${request.id}`],
      ...(sandbox.user ? { User: sandbox.user } : {}),
    });
    stream = (await exec.start({ hijack: true, stdin: hasStdin })) as Duplex;
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
  if (hasStdin) {
    void (async () => {
      for await (const chunk of stdinChunks(request.stdin as NonNullable<BackendRequest["stdin"]>)) {
        if (!stream.write(chunk)) await new Promise((resolve) => stream.once("drain", resolve));
      }
      stream.end();
    })().catch(() => stream.end());
  }

  try {
    for await (const { type, payload } of readFrames(stream, 8)) {
      if (type === 1) await output.write("stdout", payload);
      else if (type === 2) await output.write("stderr", payload);
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
  return { exitCode: result.ExitCode, signal: null };
}
