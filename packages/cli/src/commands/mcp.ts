import { createExecutor, createLogger, type LogLevel, within } from "@stigmer/core";
import { configFlags, type OptionSpec, parseArgs, whole } from "../args.js";
import { bundledPlugins } from "../plugins.js";
import { cliConfig } from "../preset.js";
import { reportError } from "../report-error.js";
import { cliVersion } from "../version.js";

export const MCP_HELP = `Usage: stigmer mcp [--mode MODE] [--allowed-root DIR]... [--stop-timeout SECONDS] [--config FILE] [--log-level LEVEL]

Serves the Model Context Protocol over stdin/stdout, for MCP clients that start their tools as
processes. Tools: run_command (command, mode?, cwd?, env?, stdin?, timeoutMs? → output, exit
code, where it ran and why; progress while it runs; cancelling kills the process tree) and
classify_command (command → local or sandbox, and why). Arguments are checked as the library
checks requests: INVALID_REQUEST naming the field (timeout_ms was renamed timeoutMs).
Configuration as for stigmer run (STIGMER_EXECUTION_MODE, …); logs go to stderr (default level
error). The HTTP server serves the same tools at /mcp. --allowed-root (repeatable) restricts the
project directories sandboxed commands may be given. --stop-timeout (default 30): once a command
should have stopped (its timeoutMs, a cancelled call), how long its backend has to report its end
before the call is answered with a TIMEOUT error anyway.

JSON-RPC errors: a line that is not JSON gets -32700 (id null); JSON that is not a JSON-RPC 2.0
message, a line over 8 MiB, or a request other than initialize/ping before initialize gets -32600.
The next lines are served. stigmer mcp ends when stdin ends (exit 0) or on SIGINT/SIGTERM.

Client configuration (e.g. Claude Desktop, Cursor):
  { "mcpServers": { "stigmer": { "command": "stigmer", "args": ["mcp"], "env": { "STIGMER_EXECUTION_MODE": "auto" } } } }`;

const SPECS: Record<string, OptionSpec> = {
  mode: { type: "string" },
  "allowed-root": { type: "list" },
  "stop-timeout": { type: "string" },
  config: { type: "string" },
  "log-level": { type: "string" },
  help: { type: "boolean", short: "h" },
};

export async function mcpCommand(argv: readonly string[]): Promise<number> {
  try {
    const { options, rest } = parseArgs(argv, SPECS, "mcp");
    if (options.help) {
      process.stdout.write(`${MCP_HELP}\n`);
      return 0;
    }
    if (rest.length > 0) {
      process.stderr.write(`stigmer: INVALID_REQUEST: stigmer mcp takes no arguments (got "${rest.join(" ")}"): see stigmer mcp --help.\n`);
      return 2;
    }
    const stopTimeoutMs = whole(options, "stop-timeout", 30, 0.1, 3600) * 1000;
    const config = cliConfig({ flags: configFlags(options), defaults: { logLevel: "error" } });
    // stdout is the protocol: logs go to stderr (the logger's default destination).
    const logger = createLogger({ level: config.logLevel as LogLevel });
    const executor = createExecutor({ config, modules: bundledPlugins, logger });
    const { serveMcpStdio } = await import("@stigmer/server");
    // Disposing kills running commands; a backend that never reports a command's end must not keep
    // stigmer mcp alive: it gets stopTimeoutMs.
    const dispose = async () => {
      if (
        !(await within(
          executor.dispose().then(() => true),
          stopTimeoutMs,
        ))
      )
        logger.warn({ stopTimeoutMs }, "the executor did not finish disposing: exiting without it");
    };
    const stop = () => void dispose().finally(() => process.exit(0));
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      await serveMcpStdio(executor, { version: cliVersion(), logger, stopTimeoutMs });
    } finally {
      await dispose();
    }
    return 0;
  } catch (error) {
    return reportError(error);
  }
}
