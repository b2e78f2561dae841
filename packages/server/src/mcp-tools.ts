import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { CallToolResult, ServerNotification, ServerRequest, Tool } from "@modelcontextprotocol/sdk/types.js";
import {
  checkRequest,
  decisionJson,
  EXECUTION_MODES,
  type ExecEvent,
  OutputCapture,
  requestJsonSchema,
  StigmerError,
  WIRE_REQUEST_FIELDS,
} from "@stigmer/core";
import type { Runner } from "./runner.js";

// The MCP tools: their definitions (input schemas derived from core's request schema) and what a
// call does. No SDK code runs here: mcp.ts wires these into the SDK's server.

/** How often a long command reports progress at the least, and at the most. */
const PROGRESS_EVERY_MS = 1000;
const PROGRESS_MIN_GAP_MS = 250;

const RUN_OUTPUT_SCHEMA = {
  type: "object",
  properties: {
    exitCode: { type: ["integer", "null"], description: "The command's exit code; null when it was ended by a signal" },
    signal: { type: ["string", "null"] },
    timedOut: { type: "boolean" },
    cancelled: { type: "boolean" },
    mode: { type: "string", enum: [...EXECUTION_MODES], description: "The mode that was asked for" },
    target: { type: "string", enum: ["local", "sandbox"], description: "Where it actually ran" },
    backend: { type: "string", description: "The backend that ran it: local, docker, daytona, …" },
    rules: { type: "array", items: { type: "string" }, description: "Auto mode: the detector rules that decided" },
    reason: { type: "string", description: "Auto mode: why it ran where it did" },
    stdout: { type: "string" },
    stderr: { type: "string" },
    truncated: { type: "boolean", description: "True when output beyond the retained head and tail was left out" },
    durationMs: { type: "number" },
  },
  required: ["exitCode", "signal", "timedOut", "cancelled", "mode", "target", "backend", "stdout", "stderr", "truncated", "durationMs"],
} as const;

const CLASSIFY_OUTPUT_SCHEMA = {
  type: "object",
  properties: {
    mode: { type: "string", enum: ["local", "sandbox"] },
    rules: { type: "array", items: { type: "string" } },
    reason: { type: "string" },
  },
  required: ["mode", "rules", "reason"],
} as const;

export const TOOLS: Tool[] = [
  {
    name: "run_command",
    title: "Run a shell command",
    description:
      "Runs one shell command line (bash -c) and returns its stdout, stderr and exit code. " +
      "mode decides where: local (on the host, fast, no isolation), sandbox (an isolated container or cloud sandbox), " +
      "auto (a detector sends package installs, system changes and risky commands to the sandbox, simple read-only ones to the host; " +
      "the result says which and why). Without mode, the server's configured mode applies. A non-zero exit code is a normal result. " +
      "Long commands report progress; cancelling the call kills the command's whole process tree.",
    inputSchema: requestJsonSchema(WIRE_REQUEST_FIELDS) as Tool["inputSchema"],
    outputSchema: RUN_OUTPUT_SCHEMA as unknown as Tool["outputSchema"],
    annotations: { destructiveHint: true, openWorldHint: true },
  },
  {
    name: "classify_command",
    title: "Where would a command run?",
    description:
      "Asks the detector where auto mode would run a shell command — local (read-only, simple) or sandbox (package managers, " +
      "system changes, risky or unanalysable commands) — and why. Runs nothing.",
    inputSchema: requestJsonSchema(["command"]) as Tool["inputSchema"],
    outputSchema: CLASSIFY_OUTPUT_SCHEMA as unknown as Tool["outputSchema"],
    annotations: { readOnlyHint: true },
  },
];

export interface ToolOptions {
  /** Most bytes of stdout, and of stderr, in a `run_command` result (core's head and tail capture). */
  maxOutputBytes?: number;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** A failed call: `CODE: message`, and the code and details (the field, for INVALID_REQUEST) in `_meta["stigmer/error"]`. */
function failure(error: unknown): CallToolResult {
  const known = StigmerError.isInstance(error);
  const code = known ? error.code : "INTERNAL";
  const message = known ? error.message : ((error as Error)?.message ?? String(error));
  return {
    isError: true,
    content: [{ type: "text", text: `${code}: ${message}` }],
    _meta: { "stigmer/error": { code, message, ...(known && error.details ? { details: error.details } : {}) } },
  };
}

/** Answers a `tools/call`; undefined for a tool that does not exist. */
export async function callTool(
  runner: Runner,
  options: ToolOptions,
  name: string,
  args: unknown,
  extra: Extra,
): Promise<CallToolResult | undefined> {
  try {
    if (name === "classify_command") {
      const { command } = checkRequest(args ?? {}, { fields: ["command"], where: "the arguments of classify_command" });
      const decision = decisionJson(await runner.detect(command));
      return {
        content: [{ type: "text", text: `${decision.mode} [${decision.rules.join(", ")}]: ${decision.reason}` }],
        structuredContent: decision,
      };
    }
    if (name === "run_command") return await runCommand(runner, options, args, extra);
    return undefined;
  } catch (error) {
    return failure(error);
  }
}

async function runCommand(runner: Runner, options: ToolOptions, args: unknown, extra: Extra): Promise<CallToolResult> {
  const request = checkRequest(args ?? {}, { fields: WIRE_REQUEST_FIELDS, where: "the arguments of run_command" });
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
      .sendNotification({ method: "notifications/progress", params: { progressToken: token, progress, message: lastLine || "running" } })
      .catch(() => {});
  };
  const heartbeat = token === undefined ? undefined : setInterval(() => report(true), PROGRESS_EVERY_MS);
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  // With maxOutputBytes, the result keeps what core's capture keeps of each stream at that limit.
  const limit = options.maxOutputBytes;
  const captures = limit === undefined ? undefined : { stdout: new OutputCapture(limit), stderr: new OutputCapture(limit) };
  try {
    // Cancelling the call stops the command; the runner answers whatever its backend does.
    const result = await runner.run(
      { ...request, signal: extra.signal },
      {
        onEvent: (event: ExecEvent) => {
          if (event.type === "stdout" || event.type === "stderr") {
            captures?.[event.type].push(event.data);
            const lines = decoders[event.type].decode(event.data, { stream: true }).split("\n").filter(Boolean);
            if (lines.length > 0) lastLine = (lines.at(-1) as string).slice(0, 200);
            report(false);
          } else if (event.type === "progress") {
            lastLine = event.message;
            report(false);
          }
        },
      },
    );
    const stdout = captures ? captures.stdout.text() : result.stdout;
    const stderr = captures ? captures.stderr.text() : result.stderr;
    const truncated = captures ? captures.stdout.truncated || captures.stderr.truncated : result.truncated;
    const structured = {
      exitCode: result.exitCode,
      signal: result.signal,
      timedOut: result.timedOut,
      cancelled: result.cancelled,
      mode: result.mode,
      target: result.target,
      backend: result.backend,
      ...(result.decision ? { rules: [...result.decision.rules], reason: result.decision.reason } : {}),
      stdout,
      stderr,
      truncated,
      durationMs: Math.round(result.durationMs),
    };
    const how = result.timedOut ? "timed out" : result.exitCode === null ? `killed by ${result.signal}` : `exit code ${result.exitCode}`;
    const where = `ran ${result.target === "local" ? "on the host" : "in the sandbox"} (mode ${result.mode}, backend ${result.backend})${
      result.decision ? ` [${result.decision.rules.join(", ")}]: ${result.decision.reason}` : ""
    }`;
    const text = [
      stdout && `stdout:\n${stdout}`,
      stderr && `stderr:\n${stderr}`,
      `${how}; ${where}${truncated ? "; output truncated" : ""}`,
    ]
      .filter(Boolean)
      .join("\n");
    return { content: [{ type: "text", text }], structuredContent: structured };
  } finally {
    clearInterval(heartbeat);
  }
}
