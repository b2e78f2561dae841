import { randomUUID } from "node:crypto";
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { IMAGE_REF_HINT, isImageRef } from "./config.js";
import { InvalidRequestError } from "./errors.js";
import { EXECUTION_MODES, type ExecRequest, type ExecutionMode } from "./types.js";

/** Longest command accepted, in UTF-8 bytes. */
export const MAX_COMMAND_BYTES = 1024 * 1024;
const MAX_TIMEOUT_MS = 2_147_483_647;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function bad(field: string, message: string): never {
  throw new InvalidRequestError(message, { details: { field } });
}

export interface ValidRequest {
  id: string;
  command: string;
  mode: ExecutionMode | undefined;
  cwd: string;
  env: Record<string, string>;
  stdin: ExecRequest["stdin"];
  timeoutMs: number | undefined;
  signal: AbortSignal | undefined;
  image: string | undefined;
}

/** Checks the parts of a request that need no I/O. Throws `INVALID_REQUEST`. */
export function checkCommand(command: unknown): string {
  if (typeof command !== "string") bad("command", "The command must be a string.");
  if (command.trim() === "") bad("command", "The command is empty: pass the shell command to run.");
  if (command.includes("\0")) bad("command", "The command contains a NUL byte, which no shell can receive: remove it.");
  const bytes = Buffer.byteLength(command, "utf8");
  if (bytes > MAX_COMMAND_BYTES) {
    bad("command", `The command is ${bytes} bytes, over the ${MAX_COMMAND_BYTES}-byte limit: put long scripts in a file and run the file.`);
  }
  return command;
}

/** Validates and normalises a request (cwd made absolute and checked to be a directory). */
export async function validateRequest(request: ExecRequest, defaults: { timeoutMs?: number }): Promise<ValidRequest> {
  if (typeof request !== "object" || request === null) bad("request", "The request must be an object with a command.");
  const command = checkCommand(request.command);

  if (request.mode !== undefined && !EXECUTION_MODES.includes(request.mode)) {
    bad("mode", `Mode "${String(request.mode)}" is not valid: use one of ${EXECUTION_MODES.join(", ")}.`);
  }

  const cwd = resolve(request.cwd ?? process.cwd());
  if (typeof request.cwd === "string" && request.cwd.includes("\0")) bad("cwd", "The cwd contains a NUL byte.");
  let isDir = false;
  try {
    // Synchronous on purpose: fs/promises goes through the threadpool, which right after a spawn
    // costs ~0.5 ms per request (bench/lib/attribute-inprocess.mjs); a stat takes ~25 µs.
    isDir = statSync(cwd).isDirectory();
  } catch {
    bad("cwd", `The working directory ${cwd} does not exist: pass an existing project directory.`);
  }
  if (!isDir) bad("cwd", `The working directory ${cwd} is not a directory: pass the project directory.`);

  const env: Record<string, string> = {};
  if (request.env !== undefined) {
    if (typeof request.env !== "object" || request.env === null || Array.isArray(request.env)) {
      bad("env", "env must be an object mapping variable names to string values.");
    }
    for (const [name, value] of Object.entries(request.env)) {
      if (name === "") bad("env", "An environment variable name is empty: use NAME=value.");
      if (!ENV_NAME_RE.test(name)) {
        bad("env", `Environment variable name "${name}" is not valid: use letters, digits and _, not starting with a digit (no "=").`);
      }
      if (typeof value !== "string") bad("env", `The value of environment variable ${name} must be a string.`);
      if (value.includes("\0")) bad("env", `The value of environment variable ${name} contains a NUL byte.`);
      env[name] = value;
    }
  }

  const timeoutMs = request.timeoutMs ?? defaults.timeoutMs;
  if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS)) {
    bad("timeoutMs", `Timeout ${String(timeoutMs)} ms is not valid: use a positive number of milliseconds up to ${MAX_TIMEOUT_MS}.`);
  }

  const stdin = request.stdin;
  if (
    stdin !== undefined &&
    typeof stdin !== "string" &&
    !(stdin instanceof Uint8Array) &&
    !(typeof stdin === "object" && stdin !== null && Symbol.asyncIterator in stdin)
  ) {
    bad("stdin", "stdin must be a string, a Uint8Array or an async iterable of Uint8Array.");
  }

  if (request.image !== undefined && !isImageRef(request.image)) {
    bad("image", `Image "${String(request.image)}" is not valid: ${IMAGE_REF_HINT}.`);
  }

  if (request.id !== undefined && (typeof request.id !== "string" || !/^[\w.-]{1,128}$/.test(request.id))) {
    bad("id", "The execution id must be 1-128 letters, digits, '.', '_' or '-'.");
  }

  return {
    id: request.id ?? randomUUID(),
    command,
    mode: request.mode,
    cwd,
    env,
    stdin,
    timeoutMs,
    signal: request.signal,
    image: request.image,
  };
}

/** Parses `NAME=value` (the CLI's `--env`). */
export function parseEnvAssignment(text: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0) bad("env", `"${text}" is not NAME=value: the name is empty or "=" is missing.`);
  const name = text.slice(0, eq);
  if (!ENV_NAME_RE.test(name)) {
    bad("env", `Environment variable name "${name}" is not valid: use letters, digits and _, not starting with a digit.`);
  }
  return [name, text.slice(eq + 1)];
}
