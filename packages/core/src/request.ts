import { randomUUID } from "node:crypto";
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { checkEnvName, checkRequest, invalidField } from "./request-schema.js";
import type { ExecRequest, ExecutionMode } from "./types.js";

export { checkCommand, MAX_COMMAND_BYTES } from "./request-schema.js";

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

/**
 * Validates a request against the request schema (request-schema.ts) and normalises it: the cwd
 * made absolute and checked to be a directory, the configured timeout applied. Throws `INVALID_REQUEST`.
 */
export async function validateRequest(input: ExecRequest, defaults: { timeoutMs?: number }): Promise<ValidRequest> {
  const request = checkRequest(input);
  const cwd = resolve(request.cwd ?? process.cwd());
  let isDir = false;
  try {
    // Synchronous on purpose: fs/promises goes through the threadpool, which right after a spawn
    // costs ~0.5 ms per request (bench/lib/attribute-inprocess.mjs); a stat takes ~25 µs.
    isDir = statSync(cwd).isDirectory();
  } catch {
    invalidField("cwd", `The working directory ${cwd} does not exist: pass an existing project directory.`);
  }
  if (!isDir) invalidField("cwd", `The working directory ${cwd} is not a directory: pass the project directory.`);

  return {
    id: request.id ?? randomUUID(),
    command: request.command,
    mode: request.mode,
    cwd,
    env: { ...request.env },
    stdin: request.stdin,
    timeoutMs: request.timeoutMs ?? defaults.timeoutMs,
    signal: request.signal,
    image: request.image,
  };
}

/** Parses `NAME=value` (the CLI's `--env`). */
export function parseEnvAssignment(text: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0) invalidField("env", `"${text}" is not NAME=value: the name is empty or "=" is missing.`);
  const name = text.slice(0, eq);
  checkEnvName(name, "env");
  return [name, text.slice(eq + 1)];
}
