import { createHash, timingSafeEqual } from "node:crypto";
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import { isIP } from "node:net";
import {
  checkRequest,
  decisionJson,
  diagnose,
  ErrorCode,
  type ExecEvent,
  type Executor,
  InvalidConfigError,
  isUsageError,
  type Logger,
  MAX_COMMAND_BYTES,
  ndjsonEncoder,
  StigmerError,
  WIRE_REQUEST_FIELDS,
  within,
} from "@stigmer/core";
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from "fastify";
import { parseJsonBody } from "./body.js";
import { DEFAULT_STOP_TIMEOUT_MS } from "./bounded.js";
import { boundedRunner, type Runner, Slots } from "./runner.js";

/** Limits of one server; every one is a flag of `stigmer server start`. */
export interface ServerLimits {
  /** Largest request body (JSON, stdin included). Default 2 MiB. Larger: 413. */
  bodyBytes: number;
  /** Largest command line: at most, and by default, the request limit of 1 MiB. Larger: 413. */
  commandBytes: number;
  /** Commands running at once (HTTP and MCP together). Default 8. More: 429 with Retry-After. */
  concurrency: number;
  /** Longest a command may run; a request's `timeoutMs` is capped to it and is its default. Default 10 minutes. */
  maxTimeoutMs: number;
  /** Time a client has to send a request's headers and body. Default 30 s. Slower: 408 and the connection is closed. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. Default 5 s. */
  keepAliveTimeoutMs: number;
  /**
   * Once a command should have stopped (its timeout passed, it was cancelled, its client went away,
   * the server is shutting down), how long its backend has to report its end before the server
   * stops waiting: the slot is freed and the request ends with `TIMEOUT`. Default 30 s.
   */
  stopTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  bodyBytes: 2 * 1024 * 1024,
  commandBytes: MAX_COMMAND_BYTES,
  concurrency: 8,
  maxTimeoutMs: 10 * 60 * 1000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5000,
  stopTimeoutMs: DEFAULT_STOP_TIMEOUT_MS,
};

/**
 * Mounts an MCP endpoint: called for `/mcp` after authentication, with the parsed body and the
 * server's runner (its concurrency slots, timeout cap and stop timeout); `close` ends its sessions at shutdown.
 */
export type McpHttpHandler = ((req: IncomingMessage, res: ServerResponse, body: unknown, runner: Runner) => Promise<void>) & {
  close?: () => Promise<void>;
};

export interface StigmerServerOptions {
  executor: Executor;
  logger: Logger;
  /** Every request must carry `Authorization: Bearer <token>`. */
  token: string;
  /** Default 127.0.0.1. Anything but loopback needs `allowRemote`. */
  host?: string;
  /** Default 8377; 0 picks a free port. */
  port?: number;
  /** Permits a non-loopback `host` (the token then guards a network service). */
  allowRemote?: boolean;
  limits?: Partial<ServerLimits>;
  version: string;
  mcp?: McpHttpHandler;
}

export interface StigmerServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Commands running now. */
  readonly running: number;
  /**
   * Graceful shutdown: stop accepting, let running commands finish for up to `graceMs`, then kill
   * their process trees; then dispose the executor (sandbox cleanup per configuration).
   */
  close(graceMs?: number): Promise<void>;
}

/** An error answered as JSON `{code, message}` with an HTTP status. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** HTTP status of a StigmerError. */
export function statusOf(error: StigmerError): number {
  if (isUsageError(error)) return 400;
  switch (error.code) {
    case ErrorCode.NOT_FOUND:
      return 404;
    case ErrorCode.BUSY:
      return 429;
    case ErrorCode.CAPABILITY_UNSUPPORTED:
      return 422;
    case ErrorCode.TIMEOUT:
      return 504;
    case ErrorCode.BACKEND_UNAVAILABLE:
    case ErrorCode.SANDBOX_UNAVAILABLE:
    case ErrorCode.IMAGE_NOT_FOUND:
    case ErrorCode.PLUGIN_LOAD_FAILED:
      return 503;
    default:
      return 500;
  }
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const sha256 = (text: string) => createHash("sha256").update(text).digest();

/** The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive (RFC 9110). */
function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const space = header.indexOf(" ");
  if (space < 0 || header.slice(0, space).toLowerCase() !== "bearer") return undefined;
  return header.slice(space + 1).trim();
}

/**
 * Starts the HTTP API on an executor: `POST /v1/exec` (NDJSON event stream), `POST /v1/detect`,
 * `GET /v1/health`, `GET /v1/sandboxes`, `DELETE /v1/sandboxes/:id`, and `/mcp` when an MCP
 * handler is given. Secure by default: loopback only unless `allowRemote`, a bearer token on
 * every request, no browser `Origin`, `Host` must name the bound address, size and concurrency
 * limits.
 */
export async function startStigmerServer(options: StigmerServerOptions): Promise<StigmerServer> {
  const { executor, logger, version } = options;
  const host = options.host ?? "127.0.0.1";
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  if (!isLoopback(host) && !options.allowRemote) {
    throw new InvalidConfigError(
      `Binding ${host} exposes a service that runs shell commands to the network: pass --allow-remote (and set STIGMER_SERVER_TOKEN) if you mean it, or bind 127.0.0.1.`,
      { details: { name: "--host", value: host } },
    );
  }
  if (options.token.length < 16) {
    throw new InvalidConfigError(
      "STIGMER_SERVER_TOKEN is too short: use at least 16 characters (32 random bytes are generated when it is unset).",
      {
        details: { name: "STIGMER_SERVER_TOKEN" },
      },
    );
  }
  const expected = sha256(options.token);
  // Every command (HTTP and MCP) holds one of the server's slots while it runs, gets the timeout
  // --max-timeout caps and defaults, and frees its slot within stopTimeoutMs of its stop.
  const slots = new Slots(limits.concurrency);
  const runner = slots.limit(boundedRunner(executor, { stopTimeoutMs: limits.stopTimeoutMs, maxTimeoutMs: limits.maxTimeoutMs }));
  let closing: Promise<void> | undefined;
  let allowedHosts = new Set<string>();
  /** --max-command-bytes, when it is below the request limit (which the request schema enforces): 413. */
  const checkCommandBytes = (command: string) => {
    if (Buffer.byteLength(command) > limits.commandBytes) {
      throw new HttpError(413, "PAYLOAD_TOO_LARGE", `The command is larger than ${limits.commandBytes} bytes (--max-command-bytes).`);
    }
  };

  const app = Fastify({
    bodyLimit: limits.bodyBytes,
    logger: false,
    return503OnClosing: true,
    forceCloseConnections: true,
    // A client must send its headers and body within requestTimeoutMs (then 408 and the connection
    // is closed); the check runs every second at most. Responses (streams) are not timed.
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      headersTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.requestTimeoutMs / 2))),
    },
    // Errors before a request exists (too slow, malformed HTTP, headers too large) in the API's own
    // `{code, message}` shape; the connection is then closed.
    clientErrorHandler: (error: NodeJS.ErrnoException, socket) => {
      if (error.code === "ECONNRESET" || socket.destroyed) return;
      const [status, code, message] =
        error.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? ([
              408,
              ErrorCode.TIMEOUT,
              `The request was not received within ${limits.requestTimeoutMs} ms (--request-timeout): send its headers and body at once.`,
            ] as const)
          : error.code === "HPE_HEADER_OVERFLOW"
            ? ([431, "PAYLOAD_TOO_LARGE", "The request's headers are too large."] as const)
            : ([400, ErrorCode.INVALID_REQUEST, "Malformed HTTP request."] as const);
      const body = JSON.stringify({ code, message });
      if (socket.writable) {
        socket.write(
          `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
      }
      socket.destroy();
    },
  });
  // Bodies are parsed by hand (body.ts: no prototype keys) and checked against core's request
  // schema: JSON types without coercion, unknown fields named, the same limits as the library.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, text, done) => {
    try {
      done(null, parseJsonBody(text as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  app.setErrorHandler((error: FastifyError | HttpError | StigmerError, _request, reply) => {
    if (error instanceof HttpError) {
      return reply.status(error.status).headers(error.headers).send({ code: error.code, message: error.message });
    }
    if (StigmerError.isInstance(error)) {
      const status = statusOf(error);
      if (status === 429) reply.header("retry-after", "1");
      return reply.status(status).send({ code: error.code, message: error.message, details: error.details });
    }
    const fastifyError = error as FastifyError;
    if (fastifyError.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return reply
        .status(413)
        .send({ code: "PAYLOAD_TOO_LARGE", message: `The request body is larger than ${limits.bodyBytes} bytes (--max-body-bytes).` });
    }
    if ((fastifyError.statusCode ?? 500) < 500) {
      return reply
        .status(fastifyError.statusCode ?? 400)
        .send({ code: ErrorCode.INVALID_REQUEST, message: `Invalid request: ${fastifyError.message}. See the API in the README.` });
    }
    logger.error({ err: String(error) }, "server error");
    return reply.status(500).send({ code: "INTERNAL", message: "Internal server error; see the server log." });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ code: ErrorCode.NOT_FOUND, message: `No route ${request.method} ${request.url.split("?")[0]}.` });
  });

  // Authentication and browser defences run before the body is read.
  app.addHook("onRequest", (request, _reply, done) => {
    if (closing) return done(new HttpError(503, "SHUTTING_DOWN", "The server is shutting down.", { connection: "close" }));
    if (request.headers.origin !== undefined) {
      return done(
        new HttpError(403, "FORBIDDEN", "Requests from browsers (with an Origin header) are refused: this server runs shell commands."),
      );
    }
    const hostHeader = (request.headers.host ?? "").toLowerCase();
    if (!allowedHosts.has(hostHeader)) {
      return done(
        new HttpError(
          403,
          "FORBIDDEN",
          `Host "${hostHeader}" is not this server's address (DNS rebinding defence): use ${[...allowedHosts][0]}.`,
        ),
      );
    }
    // Digests of equal length, compared in constant time: neither the token nor its length leaks.
    const given = bearerToken(request.headers.authorization);
    if (given === undefined || !timingSafeEqual(sha256(given), expected)) {
      return done(
        new HttpError(
          401,
          "UNAUTHORIZED",
          "Missing or wrong bearer token: send Authorization: Bearer <token> (STIGMER_SERVER_TOKEN, or the token file printed at start).",
          { "www-authenticate": 'Bearer realm="stigmer"' },
        ),
      );
    }
    done();
  });
  app.addHook("onResponse", (request, reply, done) => {
    // Method, path and status only: never headers (the token), bodies or env values.
    logger.info(
      {
        req: request.id,
        method: request.method,
        path: request.url.split("?")[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      "request",
    );
    done();
  });

  app.post("/v1/exec", async (request: FastifyRequest, reply: FastifyReply) => {
    const exec = checkRequest(request.body, { fields: WIRE_REQUEST_FIELDS, where: "the body of POST /v1/exec" });
    checkCommandBytes(exec.command);
    const controller = new AbortController();
    const res = reply.raw;
    // One waiter for the socket to drain at a time, woken by `drain` or `close`: one listener of
    // each per response, however much output goes through.
    let wake: (() => void) | undefined;
    const resume = () => {
      const waiting = wake;
      wake = undefined;
      waiting?.();
    };
    // The client going away (connection closed before the response ended) cancels the command.
    const onClose = () => {
      resume();
      if (!res.writableFinished) controller.abort(new Error("The client disconnected."));
    };
    res.on("close", onClose);
    res.on("drain", resume);
    // Events are written as they come; a full socket buffer holds the command's output back
    // (backpressure). The response starts with the first event: errors before it (bad request,
    // no sandbox) get a status and a JSON body instead. The exit event ends the response.
    const encode = ndjsonEncoder();
    let started = false;
    const onEvent = (event: ExecEvent): Promise<void> | undefined => {
      if (!started) {
        started = true;
        reply.hijack();
        res.writeHead(200, {
          "content-type": "application/x-ndjson; charset=utf-8",
          "cache-control": "no-store",
          "x-content-type-options": "nosniff",
        });
      }
      if (res.destroyed) return undefined;
      if (event.type === "exit") {
        res.end(encode(event));
        return undefined;
      }
      if (res.write(encode(event))) return undefined;
      return new Promise((resolve) => {
        wake = resolve;
      });
    };
    try {
      await runner.run({ ...exec, signal: controller.signal }, { onEvent });
    } catch (error) {
      if (!started) throw error;
      const e = StigmerError.isInstance(error) ? error : new StigmerError(ErrorCode.EXECUTION_FAILED, (error as Error).message);
      if (e.code === ErrorCode.TIMEOUT) logger.warn({ req: request.id, err: e.message }, "gave up waiting for a command");
      // A client that stopped reading gets no more: its connection is closed.
      if (res.writableNeedDrain) res.destroy();
      else if (!res.writableEnded) res.end(`${JSON.stringify({ type: "error", code: e.code, message: e.message })}\n`);
    } finally {
      res.off("close", onClose);
      res.off("drain", resume);
      resume();
    }
    if (!res.writableEnded) res.end();
  });

  app.post("/v1/detect", async (request) => {
    const { command } = checkRequest(request.body, { fields: ["command"], where: "the body of POST /v1/detect" });
    checkCommandBytes(command);
    return decisionJson(await runner.detect(command));
  });

  app.get("/v1/health", async () => {
    // The same diagnosis as `stigmer doctor`: backends, image, Daytona, detector.
    const checks = await diagnose({ config: executor.config, executor, version });
    return { ok: !checks.some((c) => c.status === "fail"), version, mode: executor.config.mode, running: slots.active, limits, checks };
  });

  const sandboxManager = async () => {
    const backend = await executor.backend("sandbox");
    if (!backend.sandboxes)
      throw new StigmerError(ErrorCode.CAPABILITY_UNSUPPORTED, `The sandbox backend "${backend.name}" keeps no sandboxes.`);
    return backend.sandboxes;
  };
  app.get("/v1/sandboxes", async () => ({ sandboxes: await (await sandboxManager()).list() }));
  app.delete("/v1/sandboxes/:id", async (request, reply) => {
    await (await sandboxManager()).remove((request.params as { id: string }).id);
    return reply.status(204).send();
  });

  if (options.mcp) {
    const mcp = options.mcp;
    app.route({
      method: ["GET", "POST", "DELETE"],
      url: "/mcp",
      handler: async (request, reply) => {
        reply.hijack();
        await mcp(request.raw, reply.raw, request.body, runner);
      },
    });
  }

  const address = await app.listen({ host, port: options.port ?? 8377 });
  const port = (app.server.address() as { port: number }).port;
  const shown = isIP(host) === 6 ? `[${host}]` : host;
  allowedHosts = new Set([`${shown}:${port}`.toLowerCase()]);
  if (isLoopback(host)) for (const name of ["127.0.0.1", "localhost", "[::1]"]) allowedHosts.add(`${name}:${port}`);
  logger.info({ address, version }, "stigmer server listening");

  return {
    url: `http://${shown}:${port}`,
    host,
    port,
    get running() {
      return slots.active;
    },
    close(graceMs = 10_000) {
      closing ??= (async () => {
        app.server.close(); // stop accepting; running streams go on
        if (
          !(await within(
            slots.whenIdle().then(() => true),
            graceMs,
          ))
        ) {
          logger.warn({ running: slots.active, graceMs }, "grace period over: killing running commands");
          slots.stopAll(new Error("The server is shutting down."));
          // Every run settles within stopTimeoutMs of its abort (runBounded).
          await slots.whenIdle();
        }
        await options.mcp?.close?.();
        await app.close();
        // A backend that never reports a command's end would hold the executor's disposal: bounded too.
        if (
          !(await within(
            executor.dispose().then(() => true),
            limits.stopTimeoutMs,
          ))
        ) {
          logger.warn({ stopTimeoutMs: limits.stopTimeoutMs }, "the executor did not finish disposing: stopping without it");
        }
        logger.info({}, "stigmer server stopped");
      })();
      return closing;
    },
  };
}
