import { createExecutor, createLogger, type LogLevel, resolveConfig } from "@stigmer/core";
import { configFlags, type OptionSpec, parseArgs } from "../args.js";
import { bundledPlugins } from "../plugins.js";
import { reportError } from "../report-error.js";
import { cliVersion } from "../version.js";

export const MCP_HELP = `Usage: stigmer mcp [--mode MODE] [--allowed-root DIR]... [--config FILE] [--log-level LEVEL]

Serves the Model Context Protocol over stdin/stdout, for MCP clients that start their tools as
processes. Tools: run_command (command, cwd?, mode?, timeout_ms? → output, exit code, where it ran
and why; progress while it runs; cancelling kills the process tree) and classify_command (command →
local or sandbox, and why). Configuration as for stigmer run (STIGMER_EXECUTION_MODE, …); logs go
to stderr (default level error). The HTTP server serves the same tools at /mcp. --allowed-root
(repeatable) restricts the project directories sandboxed commands may be given.

Client configuration (e.g. Claude Desktop, Cursor):
  { "mcpServers": { "stigmer": { "command": "stigmer", "args": ["mcp"], "env": { "STIGMER_EXECUTION_MODE": "auto" } } } }`;

const SPECS: Record<string, OptionSpec> = {
  mode: { type: "string" },
  "allowed-root": { type: "list" },
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
    const config = resolveConfig({ flags: configFlags(options), defaults: { logLevel: "error" } });
    // stdout is the protocol: logs go to stderr (the logger's default destination).
    const logger = createLogger({ level: config.logLevel as LogLevel });
    const executor = createExecutor({ config, modules: bundledPlugins, logger });
    const { serveMcpStdio } = await import("@stigmer/server");
    const stop = () => void executor.dispose().finally(() => process.exit(0));
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      await serveMcpStdio(executor, { version: cliVersion(), logger });
    } finally {
      await executor.dispose();
    }
    return 0;
  } catch (error) {
    return reportError(error);
  }
}
