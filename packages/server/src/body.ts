import { type ExecutionMode, InvalidRequestError } from "@stigmer/core";

// The wire shape of request bodies: JSON types and field names. What the values mean (an empty
// command, a bad mode, a missing cwd, an env name, …) is core's to check (validateRequest), once,
// for every caller.

/** Keys refused anywhere in a JSON body: they name prototypes, never fields. */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor"]);

/** A body in a `{code, message}` 400, with the field it concerns. */
function bad(field: string, message: string, details: Record<string, unknown> = {}): never {
  throw new InvalidRequestError(message, { details: { field, ...details } });
}

/** What a JSON value is, for messages: `the string "5"`, `the number 1`, `null`, `an array`. */
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

/**
 * Parses a JSON request body. Not JSON: INVALID_REQUEST "not valid JSON". A `__proto__` or
 * `constructor` key at any depth: INVALID_REQUEST naming it and where (JSON.parse makes such keys
 * own properties, so nothing is polluted; they are refused so that no later copy can be).
 */
export function parseJsonBody(text: string): unknown {
  if (text === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    bad("body", `The request body is not valid JSON (${(error as Error).message}): send one JSON object.`);
  }
  if (typeof value !== "object" || value === null) return value;
  // Iterative: a deeply nested body must not overflow the stack.
  const pending: Array<[unknown, string]> = [[value, ""]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, path] = next;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) if (typeof node[i] === "object" && node[i] !== null) pending.push([node[i], `${path}[${i}]`]);
      continue;
    }
    for (const key of Object.keys(node as object)) {
      const at = path === "" ? key : `${path}.${key}`;
      if (FORBIDDEN_KEYS.has(key)) bad(at, `The request body has a "${key}" key (at ${at}): that name is not a valid field or key.`);
      const child = (node as Record<string, unknown>)[key];
      if (typeof child === "object" && child !== null) pending.push([child, at]);
    }
  }
  return value;
}

type FieldType = "string" | "positive integer" | "object of strings";

interface BodyShape {
  /** Route, for messages: `POST /v1/exec`. */
  route: string;
  fields: Record<string, FieldType>;
  required: readonly string[];
}

/** Checks a parsed body against a route's fields: a JSON object, no unknown field, each field of its JSON type. */
function checkShape(body: unknown, shape: BodyShape): Record<string, unknown> {
  const names = Object.keys(shape.fields);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    bad("body", `The body of ${shape.route} must be a JSON object with the fields ${names.join(", ")}; got ${describeJson(body)}.`);
  }
  const record = body as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !Object.hasOwn(shape.fields, key));
  if (unknown.length > 0) {
    bad(
      unknown[0] as string,
      `Unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")} in the body of ${shape.route}: it takes ${names.join(", ")}.`,
      { unknown },
    );
  }
  for (const name of shape.required) {
    if (record[name] === undefined) bad(name, `The field "${name}" is required in the body of ${shape.route}: a ${shape.fields[name]}.`);
  }
  for (const name of names) {
    const value = record[name];
    if (value === undefined) continue;
    const type = shape.fields[name];
    if (type === "string") {
      if (typeof value !== "string") bad(name, `The field "${name}" must be a string; got ${describeJson(value)}.`);
    } else if (type === "positive integer") {
      if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
        bad(name, `The field "${name}" must be a positive integer (milliseconds); got ${describeJson(value)}.`);
      }
    } else {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        bad(name, `The field "${name}" must be an object whose values are strings; got ${describeJson(value)}.`);
      }
      for (const [key, item] of Object.entries(value)) {
        if (typeof item !== "string") {
          bad(`${name}.${key}`, `The field "${name}" must be an object whose values are strings; "${key}" is ${describeJson(item)}.`);
        }
      }
    }
  }
  return record;
}

/** The body of `POST /v1/exec`. */
export interface ExecBody {
  command: string;
  mode?: ExecutionMode;
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  stdin?: string;
}

const EXEC_SHAPE: BodyShape = {
  route: "POST /v1/exec",
  fields: {
    command: "string",
    mode: "string",
    cwd: "string",
    env: "object of strings",
    timeoutMs: "positive integer",
    stdin: "string",
  },
  required: ["command"],
};

const DETECT_SHAPE: BodyShape = { route: "POST /v1/detect", fields: { command: "string" }, required: ["command"] };

export const execBody = (body: unknown): ExecBody => checkShape(body, EXEC_SHAPE) as unknown as ExecBody;
export const detectBody = (body: unknown): { command: string } => checkShape(body, DETECT_SHAPE) as { command: string };
