import { IMAGE_REF_HINT, isImageRef } from "./config.js";
import { InvalidRequestError } from "./errors.js";
import { EXECUTION_MODES, type ExecRequest } from "./types.js";

// The one definition of an execution request: its fields, their types, limits and meaning. The
// library (validateRequest), the HTTP API (the body of POST /v1/exec) and the MCP tool
// (run_command's arguments and its advertised input schema) all check requests here, so a bad
// request gets the same INVALID_REQUEST, naming the same field, however it arrived.

/** Longest command accepted, in UTF-8 bytes. */
export const MAX_COMMAND_BYTES = 1024 * 1024;
/**
 * Longest `NAME=value` of one environment variable, in bytes: Linux refuses longer ones
 * (MAX_ARG_STRLEN, 128 KiB with the terminating NUL), whatever the backend. How much all the
 * variables may total depends on the machine that starts the command: a backend reports
 * `EXECUTION_FAILED` when the environment is too large.
 */
export const MAX_ENV_ENTRY_BYTES = 128 * 1024 - 1;
/** Largest stdin given whole (a string or bytes); an async iterable is streamed and has no limit. */
export const MAX_STDIN_BYTES = 8 * 1024 * 1024;
/** Longest timeout: the largest delay a timer honours. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ID_RE = /^[\w.-]{1,128}$/;

/** A field's wire form, as JSON Schema (what MCP clients are shown). */
export type JsonSchema = Record<string, unknown>;

interface FieldSpec {
  /** What it means, for documentation and MCP clients. */
  description: string;
  /** JSON Schema of its wire form; absent for fields only the library can pass (not JSON). */
  json?: JsonSchema;
  /** Throws INVALID_REQUEST naming the field when `value` (not undefined) is not valid. */
  check(value: unknown): void;
}

export type RequestField = keyof ExecRequest;

/** Throws INVALID_REQUEST about `field`. */
export function invalidField(field: string, message: string, details: Record<string, unknown> = {}): never {
  throw new InvalidRequestError(message, { details: { field, ...details } });
}

/** What a value is, for messages: `the string "5"`, `the number 1`, `null`, `an array`. */
export function describeJson(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case "number":
      return `the number ${value}`;
    case "boolean":
      return `the boolean ${value}`;
    case "object":
      return "an object";
    default:
      return typeof value;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

function checkString(field: string, value: unknown): asserts value is string {
  if (typeof value !== "string") invalidField(field, `The field "${field}" must be a string; got ${describeJson(value)}.`);
  if (value.includes("\0")) invalidField(field, `The field "${field}" contains a NUL byte, which no process can receive: remove it.`);
}

function checkCommandValue(value: unknown): void {
  if (typeof value !== "string") invalidField("command", `The field "command" must be a string; got ${describeJson(value)}.`);
  if (value.trim() === "") invalidField("command", "The command is empty: pass the shell command to run.");
  if (value.includes("\0")) invalidField("command", "The command contains a NUL byte, which no shell can receive: remove it.");
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > MAX_COMMAND_BYTES) {
    invalidField(
      "command",
      `The command is ${bytes} bytes, over the ${MAX_COMMAND_BYTES}-byte limit: put long scripts in a file and run the file.`,
      { limit: MAX_COMMAND_BYTES },
    );
  }
}

/** Checks one environment variable name; `field` is what errors name. */
export function checkEnvName(name: string, field: string): void {
  if (name === "") invalidField(field, "An environment variable name is empty: use NAME=value.");
  if (!ENV_NAME_RE.test(name)) {
    invalidField(field, `Environment variable name "${name}" is not valid: use letters, digits and _, not starting with a digit (no "=").`);
  }
}

function checkEnv(value: unknown): void {
  const shape = `The field "env" must be an object whose values are strings`;
  if (!isRecord(value)) invalidField("env", `${shape}; got ${describeJson(value)}.`);
  for (const [name, item] of Object.entries(value)) {
    const field = `env.${name}`;
    checkEnvName(name, field);
    if (typeof item !== "string") invalidField(field, `${shape}; "${name}" is ${describeJson(item)}.`);
    if (item.includes("\0")) invalidField(field, `The value of environment variable ${name} contains a NUL byte: remove it.`);
    const bytes = Buffer.byteLength(name) + 1 + Buffer.byteLength(item);
    if (bytes > MAX_ENV_ENTRY_BYTES) {
      invalidField(
        field,
        `The environment variable ${name} is ${bytes} bytes (NAME=value), over the ${MAX_ENV_ENTRY_BYTES}-byte limit Linux sets on one variable: pass large data on stdin or in a file.`,
        { limit: MAX_ENV_ENTRY_BYTES },
      );
    }
  }
}

function checkStdin(value: unknown): void {
  const whole = typeof value === "string" ? Buffer.byteLength(value) : value instanceof Uint8Array ? value.byteLength : undefined;
  if (whole === undefined) {
    if (typeof value === "object" && value !== null && Symbol.asyncIterator in value) return;
    invalidField(
      "stdin",
      `The field "stdin" must be a string (or, from the library, a Uint8Array or an async iterable of Uint8Array); got ${describeJson(value)}.`,
    );
  }
  if (whole > MAX_STDIN_BYTES) {
    invalidField(
      "stdin",
      `The stdin is ${whole} bytes, over the ${MAX_STDIN_BYTES}-byte limit of stdin given whole: let the command read a file, or (library) pass an async iterable.`,
      { limit: MAX_STDIN_BYTES },
    );
  }
}

/** Every field of a request, in the order messages list them. */
export const REQUEST_FIELDS: Readonly<Record<RequestField, FieldSpec>> = {
  command: {
    description: `One shell command line, as for bash -c: not empty, no NUL byte, at most ${MAX_COMMAND_BYTES} bytes (1 MiB).`,
    json: { type: "string", minLength: 1, maxLength: MAX_COMMAND_BYTES },
    check: checkCommandValue,
  },
  mode: {
    description:
      "Where to run it: local (the host), sandbox (an isolated container or cloud sandbox) or auto (the detector decides). Default: the configured mode.",
    json: { type: "string", enum: [...EXECUTION_MODES] },
    check(value) {
      if (typeof value !== "string" || !(EXECUTION_MODES as readonly string[]).includes(value)) {
        invalidField("mode", `The field "mode" must be one of ${EXECUTION_MODES.join(", ")}; got ${describeJson(value)}.`);
      }
    },
  },
  cwd: {
    description: "Project directory to run in (must exist); default: the working directory of the process that runs Stigmer.",
    json: { type: "string" },
    check: (value) => checkString("cwd", value),
  },
  env: {
    description: `Variables added to the command's environment: names of letters, digits and _ (not starting with a digit), string values; each NAME=value at most ${MAX_ENV_ENTRY_BYTES} bytes (Linux's limit). Values never reach logs.`,
    json: { type: "object", propertyNames: { pattern: ENV_NAME_RE.source }, additionalProperties: { type: "string" } },
    check: checkEnv,
  },
  stdin: {
    description: `Standard input, given whole (at most ${MAX_STDIN_BYTES} bytes); without it the command reads end-of-file at once.`,
    json: { type: "string" },
    check: checkStdin,
  },
  timeoutMs: {
    description: "Kill the command and its whole process tree after this many milliseconds (a positive integer).",
    json: { type: "integer", minimum: 1, maximum: MAX_TIMEOUT_MS },
    check(value) {
      if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_TIMEOUT_MS) {
        invalidField(
          "timeoutMs",
          `The field "timeoutMs" must be a positive integer (milliseconds, at most ${MAX_TIMEOUT_MS}); got ${describeJson(value)}.`,
          { limit: MAX_TIMEOUT_MS },
        );
      }
    },
  },
  signal: {
    description: "An AbortSignal: aborting it kills the command's whole process tree.",
    check(value) {
      const signal = value as Partial<AbortSignal> | null;
      if (
        typeof signal !== "object" ||
        signal === null ||
        typeof signal.aborted !== "boolean" ||
        typeof signal.addEventListener !== "function"
      ) {
        invalidField("signal", `The field "signal" must be an AbortSignal; got ${describeJson(value)}.`);
      }
    },
  },
  image: {
    description: "Sandbox image for this command (sandbox backends that use images).",
    check(value) {
      if (!isImageRef(value)) invalidField("image", `Image "${String(value)}" is not valid: ${IMAGE_REF_HINT}.`);
    },
  },
  id: {
    description: "Caller-chosen execution id, for correlation: 1-128 letters, digits, '.', '_' or '-'. Generated when absent.",
    check(value) {
      if (typeof value !== "string" || !ID_RE.test(value))
        invalidField("id", "The execution id must be 1-128 letters, digits, '.', '_' or '-'.");
    },
  },
};

/** The fields a request sent as JSON (HTTP, MCP) may carry. */
export const WIRE_REQUEST_FIELDS = ["command", "mode", "cwd", "env", "stdin", "timeoutMs"] as const satisfies readonly RequestField[];

/** Former names of fields: a request that uses one is refused with the new name (never silently ignored). */
const RENAMED: Readonly<Record<string, RequestField>> = { timeout_ms: "timeoutMs" };

export interface CheckRequestOptions {
  /** The fields accepted; any other is refused by name. Default: every field of {@link REQUEST_FIELDS}. */
  fields?: readonly RequestField[];
  /** What the request is, for messages: `the request` (default), `the body of POST /v1/exec`, … */
  where?: string;
}

/**
 * Checks a request against the schema without I/O: an object, no unknown field, `command`
 * present, each field of its type and within its limits. Throws `INVALID_REQUEST` with
 * `details.field` naming the field (`env.NAME` for one variable; `request` for the whole).
 */
export function checkRequest(input: unknown, options: CheckRequestOptions = {}): ExecRequest {
  const fields = options.fields ?? (Object.keys(REQUEST_FIELDS) as RequestField[]);
  const where = options.where ?? "the request";
  if (!isRecord(input)) {
    invalidField(
      "request",
      `${where[0]?.toUpperCase()}${where.slice(1)} must be an object with the fields ${fields.join(", ")}; got ${describeJson(input)}.`,
    );
  }
  const unknown = Object.keys(input).filter((key) => !(fields as readonly string[]).includes(key));
  const renamed = unknown.find((key) => RENAMED[key] !== undefined && fields.includes(RENAMED[key]));
  if (renamed !== undefined) {
    invalidField(renamed, `The field "${renamed}" was renamed "${RENAMED[renamed]}": send ${RENAMED[renamed]} instead.`, {
      renamedTo: RENAMED[renamed],
    });
  }
  if (unknown.length > 0) {
    invalidField(
      unknown[0] as string,
      `Unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")} in ${where}: it takes ${fields.join(", ")}.`,
      { unknown },
    );
  }
  if (input.command === undefined) invalidField("command", `The field "command" is required in ${where}: the shell command line to run.`);
  for (const field of fields) {
    if (input[field] !== undefined) REQUEST_FIELDS[field].check(input[field]);
  }
  return input as unknown as ExecRequest;
}

/** Checks one command (what `detect` takes). Throws `INVALID_REQUEST` naming `command`. */
export function checkCommand(command: unknown): string {
  checkCommandValue(command);
  return command as string;
}

/** JSON Schema of a request sent as JSON: `{command, mode?, cwd?, env?, stdin?, timeoutMs?}` by default. */
export function requestJsonSchema(fields: readonly RequestField[] = WIRE_REQUEST_FIELDS): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const field of fields) {
    const spec = REQUEST_FIELDS[field];
    if (!spec.json) throw new TypeError(`The request field "${field}" has no JSON form.`);
    properties[field] = { ...spec.json, description: spec.description };
  }
  return { type: "object", properties, required: ["command"], additionalProperties: false };
}
