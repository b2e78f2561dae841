import { invalidField as bad } from "@stigmer/core";

// Request bodies as JSON. Their fields, types and limits are core's request schema's to check
// (checkRequest), once, for the library, the HTTP API and MCP alike.

/** Keys refused anywhere in a JSON body: they name prototypes, never fields. */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor"]);

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
