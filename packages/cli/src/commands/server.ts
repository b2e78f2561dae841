import { readFileSync } from "node:fs";
import { createExecutor, createLogger, InvalidConfigError, InvalidRequestError, type LogLevel, MAX_COMMAND_BYTES } from "@stigmer/core";
import { configFlags, type OptionSpec, parseArgs, whole } from "../args.js";
import { bundledPlugins } from "../plugins.js";
import { cliConfig } from "../preset.js";
import { EXIT_USAGE, reportError } from "../report-error.js";
import { cliVersion } from "../version.js";

export const SERVER_HELP = `Usage: stigmer server <command>

  start [options]   run the executor as an HTTP service for agents, with MCP at /mcp
  status [--json]   is a server running (this user's state directory)? where, since when, how busy
  stop              stop it gracefully (SIGTERM): running commands get the grace period, then are killed

start options:
  --host <addr>             address to bind (default 127.0.0.1; anything else needs --allow-remote)
  --port <n>                port (default 8377; 0 picks a free one)
  --allow-remote            allow a non-loopback --host (requires STIGMER_SERVER_TOKEN)
  --mode <mode>             default mode for requests that name none (local, sandbox, auto)
  --allowed-root <dir>      sandboxed and auto-mode requests may only use this directory or one
                            below it as cwd (repeatable; default: sandbox.allowedRoots, else any
                            project directory that passes the workspace checks)
  --max-concurrency <n>     commands running at once, HTTP and MCP together (default 8; more: 429)
  --max-body-bytes <n>      largest request body (default 2097152; larger: 413)
  --max-command-bytes <n>   largest command line (default and most 1048576, the request limit;
                            larger: 413)
  --max-timeout <seconds>   longest a command may run; caps each request's timeoutMs, MCP calls
                            included (default 600)
  --request-timeout <seconds>  time a client has to send a request's headers and body (default 30;
                            slower: 408 and the connection is closed)
  --keep-alive-timeout <seconds>  how long an idle keep-alive connection stays open (default 5)
  --stop-timeout <seconds>  once a command should have stopped (timeout, cancel, client gone,
                            shutdown), how long its backend has to report its end before the
                            server frees its slot and answers TIMEOUT (default 30)
  --grace <seconds>         on SIGINT/SIGTERM, how long running commands may finish (default 10);
                            the server is gone within --grace + --stop-timeout
  --config <file>, --log-level <level>   as for stigmer run (request logs go to stderr at info)

Every request needs "Authorization: Bearer <token>": STIGMER_SERVER_TOKEN, or a token generated at
start into a file only you can read (its path is printed). Browser requests (Origin) and requests
for another Host are refused. STIGMER_STATE_DIR overrides where the state and token files live.`;

const SPECS: Record<string, OptionSpec> = {
  host: { type: "string" },
  port: { type: "string" },
  "allow-remote": { type: "boolean" },
  mode: { type: "string" },
  "allowed-root": { type: "list" },
  "max-concurrency": { type: "string" },
  "max-body-bytes": { type: "string" },
  "max-command-bytes": { type: "string" },
  "max-timeout": { type: "string" },
  "request-timeout": { type: "string" },
  "keep-alive-timeout": { type: "string" },
  "stop-timeout": { type: "string" },
  grace: { type: "string" },
  config: { type: "string" },
  "log-level": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

async function start(options: Record<string, string | boolean | string[] | undefined>): Promise<number> {
  const server = await import("@stigmer/server");
  const config = cliConfig({ flags: configFlags(options), defaults: { logLevel: "info" } });
  const host = (options.host as string | undefined) ?? "127.0.0.1";
  const port = whole(options, "port", 8377, 0, 65535);
  const graceMs = whole(options, "grace", 10, 0, 3600) * 1000;
  const stopTimeoutMs = whole(options, "stop-timeout", 30, 0.1, 3600) * 1000;
  const envToken = process.env.STIGMER_SERVER_TOKEN?.trim();
  if (!server.isLoopback(host) && !envToken) {
    throw new InvalidConfigError(`Binding ${host} needs --allow-remote and a token you chose: set STIGMER_SERVER_TOKEN.`, {
      details: { name: "STIGMER_SERVER_TOKEN" },
    });
  }
  const dir = server.stateDir();
  const existing = server.readState(dir);
  if (existing && existing.pid !== process.pid && server.pidAlive(existing.pid)) {
    throw new InvalidRequestError(
      `A stigmer server already runs (pid ${existing.pid}) at ${existing.url}: stop it with "stigmer server stop", or set STIGMER_STATE_DIR for another one.`,
    );
  }
  const logger = createLogger({ level: config.logLevel as LogLevel });
  const executor = createExecutor({ config, modules: bundledPlugins, logger });
  const version = cliVersion();
  let token = envToken;
  let tokenPath: string | undefined;
  if (!token) {
    token = server.generateToken();
    tokenPath = server.tokenFile(dir);
    server.writePrivateFile(tokenPath, `${token}\n`);
  }
  let running: Awaited<ReturnType<typeof server.startStigmerServer>>;
  try {
    running = await server.startStigmerServer({
      executor,
      logger,
      token,
      host,
      port,
      allowRemote: options["allow-remote"] === true,
      version,
      mcp: server.mcpHttpHandler({ version, logger, stopTimeoutMs }),
      limits: {
        concurrency: whole(options, "max-concurrency", 8, 1, 1024),
        bodyBytes: whole(options, "max-body-bytes", 2 * 1024 * 1024, 1024, 1024 ** 3),
        commandBytes: whole(options, "max-command-bytes", MAX_COMMAND_BYTES, 16, MAX_COMMAND_BYTES),
        maxTimeoutMs: whole(options, "max-timeout", 600, 1, 7 * 24 * 3600) * 1000,
        requestTimeoutMs: whole(options, "request-timeout", 30, 0.1, 3600) * 1000,
        keepAliveTimeoutMs: whole(options, "keep-alive-timeout", 5, 0.1, 3600) * 1000,
        stopTimeoutMs,
      },
    });
  } catch (error) {
    await executor.dispose();
    throw error;
  }
  server.writeState(dir, {
    pid: process.pid,
    url: running.url,
    host: running.host,
    port: running.port,
    ...(tokenPath ? { tokenFile: tokenPath } : {}),
    startedAt: new Date().toISOString(),
    version,
  });
  process.stdout.write(
    `stigmer server ${version} listening on ${running.url} (mode ${config.mode}, MCP at ${running.url}/mcp)\n` +
      (tokenPath ? `token: ${tokenPath} (readable only by you)\n` : "token: from STIGMER_SERVER_TOKEN\n") +
      `stop with Ctrl-C or "stigmer server stop"\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      // A second signal does not wait for the grace period.
      process.once(signal, () => process.exit(signal === "SIGTERM" ? 143 : 130));
      logger.info({ signal, graceMs }, "shutting down");
      running.close(graceMs).finally(resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  server.removeState(dir);
  return 0;
}

async function status(json: boolean): Promise<number> {
  const server = await import("@stigmer/server");
  const dir = server.stateDir();
  const state = server.readState(dir);
  if (!state || !server.pidAlive(state.pid)) {
    if (json) process.stdout.write(`${JSON.stringify({ running: false })}\n`);
    else process.stdout.write(`no stigmer server running${state ? ` (stale state of pid ${state.pid})` : ""}\n`);
    return 1;
  }
  const token = process.env.STIGMER_SERVER_TOKEN?.trim() || (state.tokenFile ? readFileSync(state.tokenFile, "utf8").trim() : "");
  let health: Record<string, unknown> | undefined;
  try {
    const response = await fetch(`${state.url}/v1/health`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5000),
    });
    health = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(String(health.message ?? response.status));
  } catch (error) {
    if (json) process.stdout.write(`${JSON.stringify({ running: true, ...state, answering: false, error: (error as Error).message })}\n`);
    else process.stdout.write(`stigmer server pid ${state.pid} at ${state.url} is not answering: ${(error as Error).message}\n`);
    return 1;
  }
  if (json)
    process.stdout.write(
      `${JSON.stringify({ running: true, ...state, answering: true, mode: health.mode, commandsRunning: health.running })}\n`,
    );
  else
    process.stdout.write(
      `stigmer server ${state.version} running: pid ${state.pid}, ${state.url}, since ${state.startedAt}, mode ${String(health.mode)}, ${String(health.running)} command(s) running\n`,
    );
  return 0;
}

async function stop(): Promise<number> {
  const server = await import("@stigmer/server");
  const dir = server.stateDir();
  const state = server.readState(dir);
  if (!state || !server.pidAlive(state.pid)) {
    process.stdout.write("no stigmer server running\n");
    return 1;
  }
  process.kill(state.pid, "SIGTERM");
  const deadline = Date.now() + 60_000;
  while (server.pidAlive(state.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (server.pidAlive(state.pid)) {
    process.stderr.write(
      `stigmer: the server (pid ${state.pid}) is still shutting down after 60 s; "kill -9 ${state.pid}" ends it at once.\n`,
    );
    return 1;
  }
  process.stdout.write(`stopped the stigmer server (pid ${state.pid})\n`);
  return 0;
}

export async function serverCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    const { options } = parseArgs(rest, SPECS, `server ${sub ?? ""}`.trim());
    if (options.help || sub === undefined || sub === "help" || sub === "--help" || sub === "-h") {
      process.stdout.write(`${SERVER_HELP}\n`);
      return sub === undefined ? EXIT_USAGE : 0;
    }
    switch (sub) {
      case "start":
        return await start(options);
      case "status":
        return await status(options.json === true);
      case "stop":
        return await stop();
      default:
        process.stderr.write(`stigmer: INVALID_REQUEST: unknown server command "${sub}": start, status or stop.\n`);
        return EXIT_USAGE;
    }
  } catch (error) {
    return reportError(error);
  }
}
