import type { Readable, Writable } from "node:stream";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage, JSONRPCMessageSchema, RequestId } from "@modelcontextprotocol/sdk/types.js";
import { describeJson, type Logger, writeOrWait } from "@stigmer/core";

/** Longest line (one JSON-RPC message) `stigmer mcp` reads: 8 MiB, room for a 1 MiB command however it is escaped. */
export const MAX_MCP_LINE_BYTES = 8 * 1024 * 1024;

/** JSON-RPC 2.0 error codes this transport answers with itself. */
export const JsonRpcError = {
  /** The line is not JSON. */
  PARSE_ERROR: -32700,
  /** JSON, but not a JSON-RPC 2.0 message; or over the line limit; or a request before `initialize`. */
  INVALID_REQUEST: -32600,
} as const;

/** Bytes kept from each end of an over-long line, to find its id. */
const EDGE_BYTES = 512;
const ID = String.raw`(-?\d+|"(?:[^"\\]|\\.)*")`;
const HEAD_ID = new RegExp(String.raw`^\s*\{\s*(?:"(?:jsonrpc|method)"\s*:\s*"(?:[^"\\]|\\.)*"\s*,\s*)*"id"\s*:\s*${ID}`);
const TAIL_ID = new RegExp(String.raw`"id"\s*:\s*${ID}\s*\}\s*$`);

const isId = (id: unknown): id is RequestId => typeof id === "string" || (typeof id === "number" && Number.isInteger(id));

/** The id to answer an invalid message with: its own when it is a request with a usable one, else null (JSON-RPC 2.0 §5). */
function requestIdOf(value: unknown): RequestId | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const { id, method } = value as { id?: unknown; method?: unknown };
  // A malformed *response* carries an id of the server's own requests: never answer with it.
  return typeof method === "string" && isId(id) ? id : null;
}

/** Why a JSON value is not a JSON-RPC 2.0 message. */
function invalidReason(value: unknown): string {
  if (Array.isArray(value)) {
    return value.length === 0 ? "an empty array is not a message" : "batches (arrays) are not supported: send one message per line";
  }
  if (typeof value !== "object" || value === null) return `a message must be a JSON object; got ${describeJson(value)}`;
  const { jsonrpc, method, id } = value as Record<string, unknown>;
  if (jsonrpc !== "2.0") return `"jsonrpc" must be "2.0"; got ${jsonrpc === undefined ? "nothing" : describeJson(jsonrpc)}`;
  if (method === undefined) {
    if ("result" in value || "error" in value) return "a malformed response";
    return 'it has no "method": a request needs "method" and "id", a notification "method"';
  }
  if (typeof method !== "string") return `"method" must be a string; got ${describeJson(method)}`;
  if ("id" in value && !isId(id)) return `"id" must be a string or an integer; got ${describeJson(id)}`;
  return `the "${method}" message has unknown members or "params" that is not an object`;
}

/** The id of an over-long line, when it can be read from either end of it (where JSON-RPC clients put it). */
function idAtEdges(head: Buffer, tail: Buffer): RequestId | null {
  const headText = head.toString("utf8");
  const tailText = tail.toString("utf8");
  if (!/"method"\s*:/.test(headText) && !/"method"\s*:/.test(tailText)) return null;
  const found = HEAD_ID.exec(headText)?.[1] ?? TAIL_ID.exec(tailText)?.[1];
  if (found === undefined) return null;
  try {
    const id: unknown = JSON.parse(found);
    return isId(id) ? id : null;
  } catch {
    return null;
  }
}

export interface LineTransportOptions {
  input?: Readable;
  output?: Writable;
  /** Longest line read; a longer one is answered with an Invalid Request error and skipped. Default {@link MAX_MCP_LINE_BYTES}. */
  maxLineBytes?: number;
  logger?: Logger;
}

/**
 * The MCP stdio transport (newline-delimited JSON-RPC 2.0 on stdin/stdout), strict where the SDK's
 * own is silent: a line that is not JSON is answered with -32700 Parse error (id null), JSON that
 * is not a JSON-RPC 2.0 message with -32600 Invalid Request, a request other than `initialize` or
 * `ping` before `initialize` was answered with -32600 "Server not initialized" (it is not run),
 * and a line over `maxLineBytes` with -32600 (with its id when one can be read, else null) — it is
 * skipped without being held in memory, and the next lines are served. Blank lines are ignored.
 * Stdin ending closes the transport (MCP's shutdown); so does stdout failing (the client is gone).
 */
export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private readonly input: Readable;
  private readonly output: Writable;
  private readonly maxLineBytes: number;
  private readonly logger: Logger | undefined;
  private parts: Buffer[] = [];
  private size = 0;
  /** An over-long line being skipped: its first and last bytes and its length so far. */
  private skipping: { head: Buffer; tail: Buffer; bytes: number } | undefined;
  private initialized = false;
  private readonly initializing = new Set<RequestId>();
  private closed = false;
  /** The SDK's message schema, loaded by start(): importing this module loads no SDK code. */
  private messages: typeof JSONRPCMessageSchema | undefined;

  constructor(options: LineTransportOptions = {}) {
    this.input = options.input ?? process.stdin;
    this.output = options.output ?? process.stdout;
    this.maxLineBytes = options.maxLineBytes ?? MAX_MCP_LINE_BYTES;
    this.logger = options.logger;
  }

  async start(): Promise<void> {
    this.messages = (await import("@modelcontextprotocol/sdk/types.js")).JSONRPCMessageSchema;
    this.input.on("data", this.onData);
    this.input.on("end", this.onEnd);
    this.input.on("error", this.onInputError);
    this.output.on("error", this.onOutputError);
  }

  private readonly onData = (chunk: Buffer | string): void => {
    const data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    let from = 0;
    while (from < data.length && !this.closed) {
      const newline = data.indexOf(10, from);
      this.take(data.subarray(from, newline === -1 ? data.length : newline));
      if (newline === -1) break;
      this.endLine();
      from = newline + 1;
    }
  };

  private take(part: Buffer): void {
    if (part.length === 0) return;
    if (this.skipping) {
      this.skipping.bytes += part.length;
      this.skipping.tail = Buffer.concat([this.skipping.tail, part.subarray(-EDGE_BYTES)]).subarray(-EDGE_BYTES);
      return;
    }
    if (this.size + part.length > this.maxLineBytes) {
      const line = Buffer.concat([...this.parts, part]);
      this.skipping = {
        head: Buffer.from(line.subarray(0, EDGE_BYTES)),
        tail: Buffer.from(line.subarray(-EDGE_BYTES)),
        bytes: line.length,
      };
      this.parts = [];
      this.size = 0;
      return;
    }
    this.parts.push(part);
    this.size += part.length;
  }

  private endLine(): void {
    const skipped = this.skipping;
    if (skipped) {
      this.skipping = undefined;
      const id = idAtEdges(skipped.head, skipped.tail);
      this.refuse(
        id,
        JsonRpcError.INVALID_REQUEST,
        `Invalid Request: the message is ${skipped.bytes} bytes, over the ${this.maxLineBytes}-byte limit of one line (commands are limited to 1 MiB): it was skipped.`,
      );
      return;
    }
    const line = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    const text = line.toString("utf8");
    if (text.trim() !== "") this.handleLine(text);
  }

  private handleLine(text: string): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      this.refuse(null, JsonRpcError.PARSE_ERROR, `Parse error: the line is not valid JSON (${(error as Error).message}).`);
      return;
    }
    const parsed = (this.messages as typeof JSONRPCMessageSchema).safeParse(value);
    if (!parsed.success) {
      this.refuse(requestIdOf(value), JsonRpcError.INVALID_REQUEST, `Invalid Request: ${invalidReason(value)}.`);
      return;
    }
    const message = parsed.data;
    if ("method" in message && "id" in message) {
      if (message.method === "initialize") this.initializing.add(message.id);
      else if (!this.initialized && message.method !== "ping") {
        this.refuse(
          message.id,
          JsonRpcError.INVALID_REQUEST,
          `Server not initialized: "${message.method}" was not run; send "initialize" first and wait for its answer.`,
        );
        return;
      }
    }
    this.onmessage?.(message);
  }

  /** Answers a message this transport refused, and says so on stderr. */
  private refuse(id: RequestId | null, code: number, message: string): void {
    this.logger?.warn({ id, code }, message);
    this.write(`${JSON.stringify({ jsonrpc: "2.0", id, error: { code, message } })}\n`);
  }

  private write(text: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    return writeOrWait(this.output, text) ?? Promise.resolve();
  }

  send(message: JSONRPCMessage): Promise<void> {
    if ("id" in message && this.initializing.has(message.id as RequestId) && ("result" in message || "error" in message)) {
      this.initializing.delete(message.id as RequestId);
      if ("result" in message) this.initialized = true;
    }
    return this.write(`${JSON.stringify(message)}\n`);
  }

  private readonly onEnd = (): void => {
    // A last line without its newline is still a message.
    if (this.size > 0 || this.skipping) this.endLine();
    void this.close();
  };

  private readonly onInputError = (error: Error): void => {
    this.onerror?.(error);
    void this.close();
  };

  private readonly onOutputError = (error: Error): void => {
    // EPIPE and the like: the client has gone; nothing more can be answered.
    this.logger?.debug({ err: error.message }, "stdout closed: stopping the MCP server");
    void this.close();
  };

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off("data", this.onData);
    this.input.off("end", this.onEnd);
    this.input.off("error", this.onInputError);
    this.input.pause();
    this.parts = [];
    this.skipping = undefined;
    this.onclose?.();
  }
}
