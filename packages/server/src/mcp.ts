import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable, Writable } from "node:stream";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { decisionJson, type ExecEvent, type Executor, type Logger, StigmerError } from "@stigmer/core";
import { z } from "zod";
import { DEFAULT_STOP_TIMEOUT_MS, runBounded } from "./bounded.js";
import { LineTransport, MAX_MCP_LINE_BYTES } from "./stdio.js";

export interface McpServerOptions {
  version: string;
  logger?: Logger;
  /**
   * Most bytes of stdout, and of stderr, that a `run_command` result carries (the head and the
   * tail around a `[stigmer: N bytes omitted]` line, with `truncated: true`): output goes into an
   * agent's context. Default: the executor's own limit (`STIGMER_OUTPUT_LIMIT`) only.
   */
  maxOutputBytes?: number;
  /**
   * Once a command should have stopped (its timeout passed, the call was cancelled), how long its
   * backend has to report its end before the call is answered with a `TIMEOUT` error anyway.
   * Default 30 s.
   */
  stopTimeoutMs?: number;
}

/** How often a long command reports progress at the least, and at the most. */
const PROGRESS_EVERY_MS = 1000;
const PROGRESS_MIN_GAP_MS = 250;

const RUN_OUTPUT = {
  exit_code: z.number().int().nullable().describe("The command's exit code; null when it was ended by a signal"),
  signal: z.string().nullable(),
  timed_out: z.boolean(),
  cancelled: z.boolean(),
  mode: z.enum(["local", "sandbox", "auto"]).describe("The mode that was asked for"),
  target: z.enum(["local", "sandbox"]).describe("Where it actually ran"),
  backend: z.string().describe("The backend that ran it: local, docker, daytona, …"),
  rules: z.array(z.string()).optional().describe("Auto mode: the detector rules that decided"),
  reason: z.string().optional().describe("Auto mode: why it ran where it did"),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.boolean().describe("True when output beyond the retained head and tail was left out"),
  duration_ms: z.number(),
};

const CLASSIFY_OUTPUT = {
  mode: z.enum(["local", "sandbox"]),
  rules: z.array(z.string()),
  reason: z.string(),
};

/** Keeps at most `max` bytes of `text`, half from its head and half from its tail, cut on UTF-8 character boundaries. */
function capOutput(text: string, totalBytes: number, max: number | undefined): { text: string; cut: boolean } {
  const bytes = Buffer.from(text, "utf8");
  if (max === undefined || bytes.length <= max) return { text, cut: false };
  const isContinuation = (i: number) => ((bytes[i] as number) & 0xc0) === 0x80;
  let headEnd = Math.floor(max / 2);
  while (headEnd > 0 && isContinuation(headEnd)) headEnd--;
  let tailStart = bytes.length - Math.floor(max / 2);
  while (tailStart < bytes.length && isContinuation(tailStart)) tailStart++;
  // Counted against what the command wrote, not against the (possibly already cut) retained text.
  const omitted = Math.max(0, totalBytes - headEnd - (bytes.length - tailStart));
  const head = bytes.subarray(0, headEnd).toString("utf8");
  const tail = bytes.subarray(tailStart).toString("utf8");
  return { text: `${head}\n[stigmer: ${omitted} bytes omitted]\n${tail}`, cut: true };
}

function failure(error: unknown): CallToolResult {
  const known = StigmerError.isInstance(error);
  const text = known ? `${error.code}: ${error.message}` : `INTERNAL: ${(error as Error)?.message ?? String(error)}`;
  return { isError: true, content: [{ type: "text", text }] };
}

/**
 * The MCP server on an executor: `run_command` (runs a shell command where the mode says, with
 * progress notifications while it runs and cancellation that kills its process tree) and
 * `classify_command` (where auto mode would run it, and why).
 */
export function createMcpServer(executor: Executor, options: McpServerOptions): McpServer {
  const server = new McpServer({ name: "stigmer", version: options.version });

  server.registerTool(
    "run_command",
    {
      title: "Run a shell command",
      description:
        "Runs one shell command line (bash -c) and returns its stdout, stderr and exit code. " +
        "mode decides where: local (on the host, fast, no isolation), sandbox (an isolated container or cloud sandbox), " +
        "auto (a detector sends package installs, system changes and risky commands to the sandbox, simple read-only ones to the host; " +
        "the result says which and why). Without mode, the server's configured mode applies. A non-zero exit code is a normal result. " +
        "Long commands report progress; cancelling the call kills the command's whole process tree.",
      inputSchema: {
        // No .min(1): the executor's own validation answers an empty command with INVALID_REQUEST.
        command: z.string().describe("One shell command line, as for bash -c"),
        cwd: z.string().optional().describe("Project directory to run in (must exist); default: the server's working directory"),
        mode: z.enum(["local", "sandbox", "auto"]).optional(),
        timeout_ms: z.number().int().positive().optional().describe("Kill the command (and its children) after this many milliseconds"),
      },
      outputSchema: RUN_OUTPUT,
      annotations: { destructiveHint: true, openWorldHint: true },
    },
    async ({ command, cwd, mode, timeout_ms }, extra): Promise<CallToolResult> => {
      const token = extra._meta?.progressToken;
      let progress = 0;
      let lastSent = 0;
      let lastLine = "";
      const report = (force: boolean) => {
        if (token === undefined) return;
        const now = performance.now();
        if (!force && now - lastSent < PROGRESS_MIN_GAP_MS) return;
        lastSent = now;
        progress++;
        extra
          .sendNotification({
            method: "notifications/progress",
            params: { progressToken: token, progress, message: lastLine || "running" },
          })
          .catch(() => {});
      };
      const heartbeat = token === undefined ? undefined : setInterval(() => report(true), PROGRESS_EVERY_MS);
      const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
      // Cancelling the call stops the command; the call is answered whatever its backend does.
      const controller = new AbortController();
      const cancel = () => controller.abort(extra.signal.reason);
      if (extra.signal.aborted) cancel();
      else extra.signal.addEventListener("abort", cancel, { once: true });
      // As core would default it: named here so that the bound knows when the command should stop.
      const timeoutMs = timeout_ms ?? executor.config.timeoutMs;
      try {
        const result = await runBounded(
          executor.run.bind(executor),
          {
            command,
            ...(cwd !== undefined ? { cwd } : {}),
            ...(mode !== undefined ? { mode } : {}),
            ...(timeoutMs !== undefined ? { timeoutMs } : {}),
          },
          {
            onEvent: (event: ExecEvent) => {
              if (event.type === "stdout" || event.type === "stderr") {
                const lines = decoders[event.type].decode(event.data, { stream: true }).split("\n").filter(Boolean);
                if (lines.length > 0) lastLine = (lines.at(-1) as string).slice(0, 200);
                report(false);
              } else if (event.type === "progress") {
                lastLine = event.message;
                report(false);
              }
            },
          },
          { controller, stopTimeoutMs: options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS },
        );
        const stdout = capOutput(result.stdout, result.stdoutBytes, options.maxOutputBytes);
        const stderr = capOutput(result.stderr, result.stderrBytes, options.maxOutputBytes);
        const truncated = result.truncated || stdout.cut || stderr.cut;
        const structured = {
          exit_code: result.exitCode,
          signal: result.signal,
          timed_out: result.timedOut,
          cancelled: result.cancelled,
          mode: result.mode,
          target: result.target,
          backend: result.backend,
          ...(result.decision ? { rules: [...result.decision.rules], reason: result.decision.reason } : {}),
          stdout: stdout.text,
          stderr: stderr.text,
          truncated,
          duration_ms: Math.round(result.durationMs),
        };
        const how = result.timedOut
          ? "timed out"
          : result.exitCode === null
            ? `killed by ${result.signal}`
            : `exit code ${result.exitCode}`;
        const where = `ran ${result.target === "local" ? "on the host" : "in the sandbox"} (mode ${result.mode}, backend ${result.backend})${
          result.decision ? ` [${result.decision.rules.join(", ")}]: ${result.decision.reason}` : ""
        }`;
        const text = [
          stdout.text && `stdout:\n${stdout.text}`,
          stderr.text && `stderr:\n${stderr.text}`,
          `${how}; ${where}${truncated ? "; output truncated" : ""}`,
        ]
          .filter(Boolean)
          .join("\n");
        return { content: [{ type: "text", text }], structuredContent: structured };
      } catch (error) {
        return failure(error);
      } finally {
        extra.signal.removeEventListener("abort", cancel);
        clearInterval(heartbeat);
      }
    },
  );

  server.registerTool(
    "classify_command",
    {
      title: "Where would a command run?",
      description:
        "Asks the detector where auto mode would run a shell command — local (read-only, simple) or sandbox (package managers, " +
        "system changes, risky or unanalysable commands) — and why. Runs nothing.",
      inputSchema: { command: z.string().describe("One shell command line") },
      outputSchema: CLASSIFY_OUTPUT,
      annotations: { readOnlyHint: true },
    },
    async ({ command }): Promise<CallToolResult> => {
      try {
        const decision = decisionJson(await executor.detect(command));
        return {
          content: [{ type: "text", text: `${decision.mode} [${decision.rules.join(", ")}]: ${decision.reason}` }],
          structuredContent: decision,
        };
      } catch (error) {
        return failure(error);
      }
    },
  );
  return server;
}

/**
 * Serves MCP over stdin/stdout until stdin ends or stdout fails (the client is gone). Nothing else
 * may write to stdout. Lines are read by {@link LineTransport}: parse errors, invalid messages,
 * requests before `initialize` and lines over {@link MAX_MCP_LINE_BYTES} are answered with
 * JSON-RPC errors, and the next lines are served.
 */
export async function serveMcpStdio(
  executor: Executor,
  options: McpServerOptions & { input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream; maxLineBytes?: number },
): Promise<void> {
  const server = createMcpServer(executor, options);
  const transport = new LineTransport({
    ...(options.input ? { input: options.input as Readable } : {}),
    ...(options.output ? { output: options.output as Writable } : {}),
    maxLineBytes: options.maxLineBytes ?? MAX_MCP_LINE_BYTES,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
  });
  server.server.onerror = (error) => options.logger?.debug({ err: error.message }, "MCP protocol error");
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
  executor: Executor,
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
  const server = createMcpServer(executor, options);
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
  server: McpServer;
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
    private readonly executor: Executor,
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
    const server = createMcpServer(this.executor, this.options);
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
  const handler = (req: IncomingMessage, res: ServerResponse, body: unknown, executor: Executor) => {
    endpoint ??= new McpHttpEndpoint(executor, options);
    return endpoint.handle(req, res, body);
  };
  handler.close = () => endpoint?.close() ?? Promise.resolve();
  return handler;
}
