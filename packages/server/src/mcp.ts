import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable, Writable } from "node:stream";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Executor, Logger } from "@stigmer/core";
import { DEFAULT_STOP_TIMEOUT_MS } from "./bounded.js";
import { callTool, TOOLS } from "./mcp-tools.js";
import { boundedRunner, type Runner } from "./runner.js";
import { LineTransport, MAX_MCP_LINE_BYTES } from "./stdio.js";

export interface McpServerOptions {
  version: string;
  logger?: Logger;
  /**
   * Most bytes of stdout, and of stderr, that a `run_command` result carries (the head and the
   * tail around a `[stigmer: N bytes omitted]` line, with `truncated: true`, as the library's
   * `STIGMER_OUTPUT_LIMIT` keeps them): output goes into an agent's context. Default: the
   * executor's own limit (`STIGMER_OUTPUT_LIMIT`) only.
   */
  maxOutputBytes?: number;
  /**
   * Once a command should have stopped (its timeout passed, the call was cancelled), how long its
   * backend has to report its end before the call is answered with a `TIMEOUT` error anyway.
   * Default 30 s. Applies when the server is given an executor; a {@link Runner} brings its own bound.
   */
  stopTimeoutMs?: number;
}

/** What runs the tools' commands: an executor, or a runner (a server's, with its concurrency slots). */
export type McpTarget = Executor | Runner;

const isExecutor = (target: McpTarget): target is Executor =>
  typeof (target as Executor).dispose === "function" && typeof (target as Executor).config === "object";

/** The MCP SDK, loaded with the first MCP server: importing @stigmer/server loads none of it. */
let sdk:
  | Promise<{
      Server: typeof import("@modelcontextprotocol/sdk/server/index.js").Server;
      StreamableHTTPServerTransport: typeof StreamableHTTPServerTransport;
      types: typeof import("@modelcontextprotocol/sdk/types.js");
    }>
  | undefined;
function loadSdk() {
  sdk ??= Promise.all([
    import("@modelcontextprotocol/sdk/server/index.js"),
    import("@modelcontextprotocol/sdk/server/streamableHttp.js"),
    import("@modelcontextprotocol/sdk/types.js"),
  ]).then(([server, http, types]) => ({ Server: server.Server, StreamableHTTPServerTransport: http.StreamableHTTPServerTransport, types }));
  return sdk;
}

/**
 * The MCP server on an executor (or a runner): `run_command` (runs a shell command where the mode
 * says, with progress notifications while it runs and cancellation that kills its process tree)
 * and `classify_command` (where auto mode would run it, and why). Their arguments are checked
 * against core's request schema, the one the library and the HTTP API use.
 */
export async function createMcpServer(target: McpTarget, options: McpServerOptions): Promise<Server> {
  const { Server, types } = await loadSdk();
  const runner = isExecutor(target) ? boundedRunner(target, { stopTimeoutMs: options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS }) : target;
  const server = new Server({ name: "stigmer", version: options.version }, { capabilities: { tools: {} } });
  server.setRequestHandler(types.ListToolsRequestSchema, () => ({ tools: TOOLS }));
  server.setRequestHandler(types.CallToolRequestSchema, async (request, extra) => {
    const result = await callTool(runner, options, request.params.name, request.params.arguments, extra);
    if (result) return result;
    throw new types.McpError(
      types.ErrorCode.InvalidParams,
      `Unknown tool "${request.params.name}": the tools are ${TOOLS.map((t) => t.name).join(", ")}.`,
    );
  });
  return server;
}

/**
 * Serves MCP over stdin/stdout until stdin ends or stdout fails (the client is gone). Nothing else
 * may write to stdout. Lines are read by {@link LineTransport}: parse errors, invalid messages,
 * requests before `initialize` and lines over {@link MAX_MCP_LINE_BYTES} are answered with
 * JSON-RPC errors, and the next lines are served.
 */
export async function serveMcpStdio(
  target: McpTarget,
  options: McpServerOptions & { input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream; maxLineBytes?: number },
): Promise<void> {
  const server = await createMcpServer(target, options);
  const transport = new LineTransport({
    ...(options.input ? { input: options.input as Readable } : {}),
    ...(options.output ? { output: options.output as Writable } : {}),
    maxLineBytes: options.maxLineBytes ?? MAX_MCP_LINE_BYTES,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
  });
  server.onerror = (error) => options.logger?.debug({ err: error.message }, "MCP protocol error");
  await server.connect(transport);
  options.logger?.info({ version: options.version }, "stigmer MCP server on stdio");
  await closed;
  await server.close().catch(() => {});
}

/**
 * Stateless streamable HTTP: a fresh server and transport for this one request, closed when the
 * response closes — so a client that disconnects mid-call (or closes its transport) cancels the
 * command and its process tree is killed. GET and DELETE (standalone streams, session end) are
 * 405: there are no sessions. Without sessions, a `notifications/cancelled` arrives in a request of
 * its own and cannot reach the call it names: clients cancel by disconnecting. {@link McpHttpEndpoint}
 * keeps sessions, where both work. Authentication, Origin/Host checks and body limits happen
 * before, in the HTTP server.
 */
export async function handleMcpHttp(
  target: McpTarget,
  options: McpServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
  parsedBody?: unknown,
): Promise<void> {
  if (req.method !== "POST") {
    res.writeHead(405, { allow: "POST", "content-type": "application/json" }).end(
      JSON.stringify({
        jsonrpc: "2.0",
        error: { code: -32000, message: "Method not allowed: this MCP endpoint is stateless and takes POST only." },
        id: null,
      }),
    );
    return;
  }
  const server = await createMcpServer(target, options);
  const { StreamableHTTPServerTransport } = await loadSdk();
  // No sessionIdGenerator (the SDK's `sessionIdGenerator: undefined`): stateless mode.
  const transport = new StreamableHTTPServerTransport({});
  // Closing the server closes the transport, which aborts every call still running on it.
  const close = () => void server.close().catch((error: unknown) => options.logger?.debug({ err: error }, "closing an MCP request"));
  res.once("close", close);
  await server.connect(transport);
  await transport.handleRequest(req, res, parsedBody);
  if (res.destroyed) close();
}

/** JSON-RPC requests (not notifications) in a POST body: the calls its response stream answers. */
function requestIds(body: unknown): Array<string | number> {
  const messages: unknown[] = Array.isArray(body) ? body : [body];
  const ids: Array<string | number> = [];
  for (const message of messages) {
    if (typeof message !== "object" || message === null) continue;
    const { method, id } = message as { method?: unknown; id?: unknown };
    if (typeof method === "string" && (typeof id === "string" || typeof id === "number")) ids.push(id);
  }
  return ids;
}

/**
 * In a session, a POST's response stream carries the answer to its calls. When the client goes
 * away before that answer was written (closed connection, killed process), nothing would cancel
 * them: deliver a `notifications/cancelled` for each, as if the client had sent it, so the
 * commands' process trees are killed.
 */
function cancelOnDisconnect(transport: StreamableHTTPServerTransport, res: ServerResponse, body: unknown): void {
  const ids = requestIds(body);
  if (ids.length === 0) return;
  res.once("close", () => {
    if (res.writableFinished) return;
    for (const requestId of ids) {
      transport.onmessage?.({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId, reason: "The client disconnected." },
      });
    }
  });
}

/** Open MCP sessions of the HTTP endpoint at most, and how long an unused one is kept. */
const MAX_SESSIONS = 64;
const SESSION_IDLE_MS = 30 * 60 * 1000;

interface Session {
  transport: StreamableHTTPServerTransport;
  server: Server;
  lastUsed: number;
}

/**
 * The `/mcp` endpoint (streamable HTTP) with sessions, so that a client's
 * `notifications/cancelled` reaches the call it cancels (and kills the command). A request without
 * a session id must be `initialize`; unused sessions are closed after 30 minutes, the oldest when
 * more than 64 are open. Authentication and the Origin/Host checks happen before, in the HTTP server.
 */
export class McpHttpEndpoint {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly target: McpTarget,
    private readonly options: McpServerOptions,
  ) {
    this.sweeper = setInterval(() => this.sweep(Date.now() - SESSION_IDLE_MS), 60_000);
    this.sweeper.unref();
  }

  async handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const id = req.headers["mcp-session-id"];
    const sessionId = Array.isArray(id) ? id[0] : id;
    if (sessionId) {
      const session = this.sessions.get(sessionId);
      if (!session) {
        res.writeHead(404, { "content-type": "application/json" }).end(
          JSON.stringify({
            jsonrpc: "2.0",
            error: { code: -32001, message: "Unknown or expired MCP session: initialize again." },
            id: null,
          }),
        );
        return;
      }
      session.lastUsed = Date.now();
      if (req.method === "POST") cancelOnDisconnect(session.transport, res, body);
      await session.transport.handleRequest(req, res, body);
      return;
    }
    const server = await createMcpServer(this.target, this.options);
    const { StreamableHTTPServerTransport } = await loadSdk();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (newId) => {
        this.sessions.set(newId, { transport, server, lastUsed: Date.now() });
        if (this.sessions.size > MAX_SESSIONS) this.sweep(Number.POSITIVE_INFINITY, this.sessions.size - MAX_SESSIONS);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  /** Closes sessions unused since `before` (or the `count` least recently used). */
  private sweep(before: number, count = Number.POSITIVE_INFINITY): void {
    const old = [...this.sessions.entries()].filter(([, s]) => s.lastUsed < before).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [id, session] of old.slice(0, count)) {
      this.sessions.delete(id);
      void session.server.close().catch(() => {});
    }
  }

  /** Closes every session (their running calls are cancelled). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(all.map((s) => s.server.close()));
  }
}

/** The `/mcp` handler of the HTTP server: one endpoint (and its sessions) per server. */
export function mcpHttpHandler(options: McpServerOptions) {
  let endpoint: McpHttpEndpoint | undefined;
  const handler = (req: IncomingMessage, res: ServerResponse, body: unknown, runner: Runner) => {
    endpoint ??= new McpHttpEndpoint(runner, options);
    return endpoint.handle(req, res, body);
  };
  handler.close = () => endpoint?.close() ?? Promise.resolve();
  return handler;
}
