// A local imitation of Daytona's REST API, toolbox proxy and event gateway, for running the
// real `@daytonaio/sdk` 0.218.0 against it (pass the returned `apiUrl` as the SDK's `apiUrl`).
//
// It follows the SDK's own code (esm/Daytona.js, Sandbox.js, Process.js, FileSystem.js,
// utils/EventDispatcher.js, utils/Stream.js, errors/DaytonaError.js) and its generated clients
// `@daytona/api-client` / `@daytona/toolbox-api-client` 0.218.0 for paths, methods, query
// parameters and response models, and Daytona's server code (daytonaio/daytona at b5a5d9e78:
// apps/api sandbox controller/service and notification gateway, apps/daemon, apps/runner proxy)
// for behaviour. See daemon.mjs for the in-sandbox part (process execution, sessions, files).
//
// Layout of the one HTTP server (127.0.0.1, random port):
//   /api/...                 the Daytona API              (apiUrl = http://127.0.0.1:PORT/api)
//   /api/socket.io/          socket.io v4 event gateway   (sandbox.created, sandbox.state.updated)
//   /toolbox/{sandboxId}/... the toolbox proxy + daemon   (toolboxProxyUrl = http://127.0.0.1:PORT/toolbox)
//
// Commands run as real host processes (bash) with the sandbox's root directory (a temp dir) as
// the user's home: this is an imitation of the protocol and of process semantics, not isolation.

import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, STATUS_CODES } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server as SocketIoServer } from "socket.io";
import { WebSocketServer } from "ws";
import { SandboxDaemon } from "./daemon.mjs";
import { apiError, apiErrorBody, daemonError, daemonErrorBody, HttpError, queryObject, readBody, sendJson, sleep } from "./http.mjs";
import { treeAndGroup } from "./processes.mjs";

const SDK_VERSION_IMITATED = "0.218.0";
const ERROR_STATES = new Set(["error", "build_failed"]);
/** States that are on the way somewhere: start/stop answer 409 "Sandbox state change in progress". */
const TRANSITIONAL_STATES = new Set([
  "creating",
  "starting",
  "stopping",
  "destroying",
  "restoring",
  "archiving",
  "pending_build",
  "building_snapshot",
  "pulling_snapshot",
  "resizing",
  "snapshotting",
  "forking",
  "pausing",
  "resuming",
]);
/** Fields the API's list endpoint returns (SandboxListItem); GET /sandbox/{id} returns the full Sandbox. */
const LIST_ITEM_FIELDS = [
  "id",
  "organizationId",
  "name",
  "target",
  "runnerId",
  "sandboxClass",
  "state",
  "desiredState",
  "snapshot",
  "user",
  "errorReason",
  "recoverable",
  "public",
  "networkBlockAll",
  "networkAllowList",
  "domainAllowList",
  "cpu",
  "gpu",
  "memory",
  "disk",
  "labels",
  "backupState",
  "autoStopInterval",
  "autoPauseInterval",
  "autoArchiveInterval",
  "autoDeleteInterval",
  "createdAt",
  "updatedAt",
  "lastActivityAt",
  "daemonVersion",
  "toolboxProxyUrl",
];

/**
 * Starts the imitation. See index.d.mts for the options and the returned handle.
 * @param {import("./index.d.mts").DaytonaImitationOptions} [options]
 */
export async function startDaytonaImitation(options = {}) {
  const o = {
    apiKey: options.apiKey ?? `dtn_${randomBytes(24).toString("hex")}`,
    transitionMs: options.transitionMs ?? 50,
    minuteMs: options.minuteMs ?? 60_000,
    serverWaitMs: options.serverWaitMs ?? 0,
    organizationId: options.organizationId ?? randomUUID(),
    defaultSnapshot: options.defaultSnapshot ?? "daytonaio/sandbox:0.4.3",
    defaultUser: options.defaultUser ?? "daytona",
    killGraceMs: options.killGraceMs ?? 5000,
    logFrameBytes: options.logFrameBytes ?? 1024,
    followExitCheckMs: options.followExitCheckMs ?? 1000,
    createOutcome: options.createOutcome,
  };
  const baseDir = await mkdtemp(join(tmpdir(), "daytona-imitation-"));

  /** @type {Map<string, any>} internal sandbox records: { data, daemon, rootDir, homeDir, activeRequests, timers } */
  const sandboxes = new Map();
  const requests = [];
  const faultList = [];
  const createOutcomes = [];
  const timers = new Set();
  let closed = false;

  const faults = {
    add(fault) {
      const entry = { times: 1, ...fault };
      faultList.push(entry);
      return entry;
    },
    clear() {
      faultList.length = 0;
    },
    get pending() {
      return [...faultList];
    },
  };

  /** The first fault matching this request (consumes one of its `times`). */
  function takeFault(method, route, kind, websocket = false) {
    for (const fault of faultList) {
      if (fault.method && fault.method.toUpperCase() !== method) continue;
      if (fault.kind && fault.kind !== kind) continue;
      if (fault.websocket !== undefined && fault.websocket !== websocket) continue;
      const matches =
        fault.path instanceof RegExp ? fault.path.test(route) : typeof fault.path === "string" ? route.endsWith(fault.path) : true;
      if (!matches) continue;
      fault.times -= 1;
      if (fault.times <= 0) faultList.splice(faultList.indexOf(fault), 1);
      return fault;
    }
    return undefined;
  }

  function schedule(fn, ms) {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) fn();
    }, ms);
    timers.add(timer);
    return timer;
  }

  // ------------------------------------------------------------------ server + socket.io

  const server = createServer((req, res) => {
    handleHttp(req, res).catch((error) => {
      if (!res.headersSent) sendJson(res, 500, { statusCode: 500, message: String(error?.message ?? error) });
      else res.destroy();
    });
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    handleUpgrade(req, socket, head).catch(() => socket.destroy());
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = server.address().port;
  const origin = `http://127.0.0.1:${port}`;
  const apiUrl = `${origin}/api`;
  const toolboxProxyUrl = `${origin}/toolbox`;

  // The notification gateway (apps/api/src/notification/gateways/notification.gateway.ts):
  // path /api/socket.io/, websocket transport only, token in the handshake `auth`.
  const io = new SocketIoServer(server, {
    path: "/api/socket.io/",
    transports: ["websocket"],
    serveClient: false,
    destroyUpgrade: false,
  });
  io.use((socket, next) => {
    if (socket.handshake.auth?.token === o.apiKey) next();
    else next(new Error("Unauthorized"));
  });
  const emit = (event, payload) => {
    if (!closed) io.emit(event, payload);
  };

  // ------------------------------------------------------------------ request log

  function logRequest(req, url, websocket) {
    const route = url.pathname.startsWith("/api/")
      ? url.pathname.slice(4)
      : url.pathname.startsWith("/toolbox/")
        ? url.pathname.slice(8)
        : url.pathname;
    const entry = {
      method: req.method,
      path: url.pathname,
      route,
      query: queryObject(url.searchParams),
      headers: { ...req.headers },
      status: 0,
      at: Date.now(),
      ...(websocket ? { websocket: true } : {}),
    };
    requests.push(entry);
    return entry;
  }

  const authorized = (req) => req.headers.authorization === `Bearer ${o.apiKey}`;

  function errorBody(error, kind, url, method) {
    const message = error.body?.message ?? error.message;
    if (error.body && error.body.kind === undefined) return error.body;
    return kind === "toolbox" || error.body?.kind === "daemon"
      ? daemonErrorBody(error.status, message, url.pathname, method, error.body?.code)
      : apiErrorBody(error.status, message, url.pathname);
  }

  async function applyFault(fault, res, kind, url, method) {
    if (fault.delayMs) await sleep(fault.delayMs);
    if (fault.drop) {
      res.socket?.destroy();
      return true;
    }
    if (fault.status) {
      const body =
        fault.body ??
        (kind === "toolbox"
          ? daemonErrorBody(fault.status, `injected fault: ${STATUS_CODES[fault.status] ?? fault.status}`, url.pathname, method)
          : apiErrorBody(fault.status, `injected fault: ${STATUS_CODES[fault.status] ?? fault.status}`, url.pathname));
      if (typeof body === "string") {
        res.writeHead(fault.status, { "content-type": "text/plain", ...fault.headers });
        res.end(body);
      } else sendJson(res, fault.status, body, fault.headers);
      return true;
    }
    return false;
  }

  async function handleHttp(req, res) {
    const url = new URL(req.url, origin);
    const entry = logRequest(req, url, false);
    res.on("finish", () => {
      entry.status = res.statusCode;
    });
    const kind = url.pathname.startsWith("/toolbox/") ? "toolbox" : url.pathname.startsWith("/api/") ? "api" : "other";
    const method = req.method;
    try {
      const fault = takeFault(method, entry.route, kind);
      if (fault && (await applyFault(fault, res, kind, url, method))) return;
      if (kind === "other") throw new HttpError(404, { message: "404 page not found" });
      if (!authorized(req)) {
        throw kind === "toolbox" ? daemonError(401, "Unauthorized") : apiError(401, "Unauthorized");
      }
      const isMultipart = /^multipart\//i.test(req.headers["content-type"] ?? "");
      let body;
      if (!isMultipart && method !== "GET" && method !== "HEAD") {
        const raw = await readBody(req);
        if (raw.length > 0) {
          const text = raw.toString("utf8");
          try {
            body = JSON.parse(text);
          } catch {
            body = text;
          }
          entry.body = body;
        }
      }
      if (kind === "api") await handleApi(req, res, url, method, body, entry);
      else await handleToolbox(req, res, url, method, body, entry);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) sendJson(res, error.status, errorBody(error, kind, url, method), error.headers);
      else
        sendJson(
          res,
          500,
          kind === "toolbox"
            ? daemonErrorBody(500, String(error?.message ?? error), url.pathname, method)
            : apiErrorBody(500, "An unexpected error occurred.", url.pathname),
        );
    }
  }

  function rawResponse(socket, status, body, headers = {}) {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    const lines = [
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}`,
      `Content-Type: ${typeof body === "string" ? "text/plain" : "application/json; charset=utf-8"}`,
      `Content-Length: ${Buffer.byteLength(text)}`,
      "Connection: close",
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    socket.end(`${lines.join("\r\n")}\r\n\r\n${text}`);
  }

  async function handleUpgrade(req, socket, head) {
    const url = new URL(req.url, origin);
    socket.on("error", () => {});
    if (url.pathname.startsWith("/api/socket.io/")) {
      // engine.io handles this upgrade; we only record it.
      const entry = logRequest(req, url, true);
      entry.status = 101;
      return;
    }
    const entry = logRequest(req, url, true);
    const method = req.method;
    const fault = takeFault(method, entry.route, "toolbox", true);
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault?.drop && fault.dropAfterBytes === undefined) {
      socket.destroy();
      return;
    }
    if (fault?.status) {
      entry.status = fault.status;
      rawResponse(
        socket,
        fault.status,
        fault.body ?? daemonErrorBody(fault.status, `injected fault: ${STATUS_CODES[fault.status]}`, url.pathname, method),
        fault.headers,
      );
      return;
    }
    const fail = (error) => {
      entry.status = error.status;
      rawResponse(socket, error.status, errorBody(error, "toolbox", url, method));
    };
    if (!authorized(req)) return fail(daemonError(401, "Unauthorized"));
    const match = url.pathname.match(/^\/toolbox\/([^/]+)\/process\/session\/([^/]+)\/command\/([^/]+)\/logs$/);
    if (!match) return fail(new HttpError(404, { message: "404 page not found" }));
    const [, sandboxId, sessionId, commandId] = match.map(decodeURIComponent);
    let sb;
    try {
      sb = toolboxSandbox(sandboxId);
      sb.daemon.logPaths(sessionId, commandId);
    } catch (error) {
      return fail(error instanceof HttpError ? error : daemonError(500, String(error)));
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      entry.status = 101;
      if (fault?.closeCode !== undefined) {
        // Accepted, then closed before any log byte (a proxy whose upstream connection failed).
        ws.close(fault.closeCode, fault.closeReason ?? "");
        return;
      }
      sb.activeRequests++;
      touch(sb);
      sb.daemon
        .streamLogs(ws, sessionId, commandId, {
          follow: url.searchParams.get("follow") === "true",
          headers: req.headers,
          dropAfterBytes: fault?.drop ? fault.dropAfterBytes : undefined,
        })
        .catch(() => ws.terminate())
        .finally(() => {
          sb.activeRequests--;
          touch(sb);
        });
    });
  }

  // ------------------------------------------------------------------ sandboxes

  function fullDto(sb) {
    return structuredClone(sb.data);
  }

  function listItem(sb) {
    const item = {};
    for (const key of LIST_ITEM_FIELDS) if (sb.data[key] !== undefined) item[key] = structuredClone(sb.data[key]);
    return item;
  }

  function findSandbox(idOrName) {
    const sb = sandboxes.get(idOrName) ?? [...sandboxes.values()].find((s) => s.data.name === idOrName);
    if (!sb) throw apiError(404, `Sandbox with ID or name ${idOrName} not found`);
    return sb;
  }

  function touch(sb) {
    sb.lastActivity = Date.now();
    sb.data.lastActivityAt = new Date(sb.lastActivity).toISOString();
  }

  /** Changes a sandbox's state and emits `sandbox.state.updated` { sandbox, oldState, newState }. */
  function setSandboxState(sb, state, errorReason) {
    const oldState = sb.data.state;
    sb.data.state = state;
    if (ERROR_STATES.has(state)) sb.data.errorReason = errorReason ?? sb.data.errorReason ?? "Unknown error";
    else delete sb.data.errorReason;
    sb.data.updatedAt = new Date().toISOString();
    if (state === "started") touch(sb);
    if (oldState !== state) emit("sandbox.state.updated", { sandbox: fullDto(sb), oldState, newState: state });
  }

  function setDesiredState(sb, desired) {
    const old = sb.data.desiredState;
    sb.data.desiredState = desired;
    if (old !== desired) emit("sandbox.desired-state.updated", { sandbox: fullDto(sb), oldDesiredState: old, newDesiredState: desired });
  }

  /** The API waits (bounded) for a sandbox to leave a transitional state before answering, when `serverWaitMs` > 0. */
  async function serverWait(sb, from) {
    const deadline = Date.now() + o.serverWaitMs;
    while (!closed && Date.now() < deadline && from.includes(sb.data.state)) await sleep(10);
  }

  async function createSandbox(body) {
    body = body && typeof body === "object" ? body : {};
    if (body.buildInfo && body.snapshot) throw apiError(400, "Cannot specify a snapshot when using a build info entry");
    if (!body.buildInfo && (body.cpu || body.gpu || body.memory || body.disk)) {
      throw apiError(400, "Cannot specify Sandbox resources when using a snapshot");
    }
    if (body.name && [...sandboxes.values()].some((s) => s.data.name === body.name)) {
      throw apiError(409, `Sandbox with name ${body.name} already exists`);
    }
    const id = randomUUID();
    const user = body.user || o.defaultUser;
    const dir = join(baseDir, "sandboxes", id);
    const rootDir = join(dir, "root");
    const homeDir = join(rootDir, "home", user);
    mkdirSync(homeDir, { recursive: true });
    const now = new Date().toISOString();
    const data = {
      id,
      organizationId: o.organizationId,
      name: body.name || id,
      snapshot: body.buildInfo ? undefined : body.snapshot || o.defaultSnapshot,
      user,
      env: { ...(body.env ?? {}) },
      labels: { ...(body.labels ?? {}) },
      public: Boolean(body.public),
      networkBlockAll: Boolean(body.networkBlockAll),
      networkAllowList: body.networkAllowList,
      domainAllowList: body.domainAllowList,
      target: body.target || "us",
      cpu: body.cpu ?? 1,
      gpu: body.gpu ?? 0,
      memory: body.memory ?? 1,
      disk: body.disk ?? 3,
      spot: Boolean(body.spot),
      state: "creating",
      desiredState: "started",
      recoverable: false,
      backupState: "None",
      autoStopInterval: body.autoStopInterval ?? 15,
      autoPauseInterval: body.autoPauseInterval ?? 0,
      autoArchiveInterval: body.autoArchiveInterval ?? 10080,
      autoDeleteInterval: body.autoDeleteInterval ?? -1,
      volumes: body.volumes ?? [],
      buildInfo: body.buildInfo
        ? {
            dockerfileContent: body.buildInfo.dockerfileContent,
            contextHashes: body.buildInfo.contextHashes ?? [],
            createdAt: now,
            updatedAt: now,
          }
        : undefined,
      createdAt: now,
      updatedAt: now,
      lastActivityAt: now,
      sandboxClass: "container",
      daemonVersion: SDK_VERSION_IMITATED,
      runnerId: "imitation-runner",
      toolboxProxyUrl,
      kvm: false,
    };
    for (const key of Object.keys(data)) if (data[key] === undefined) delete data[key];
    const sb = { data, rootDir, homeDir, dir, activeRequests: 0, lastActivity: Date.now(), daemon: undefined };
    sb.daemon = new SandboxDaemon({
      rootDir,
      homeDir,
      configDir: join(dir, "daemon"),
      env: () => sandboxEnv(sb),
      killGraceMs: o.killGraceMs,
      logFrameBytes: o.logFrameBytes,
      followExitCheckMs: o.followExitCheckMs,
    });
    sandboxes.set(id, sb);
    emit("sandbox.created", fullDto(sb));

    const outcome = createOutcomes.shift() ?? o.createOutcome?.(structuredClone(body)) ?? {};
    const finalState = outcome.finalState ?? "started";
    schedule(() => {
      if (sandboxes.get(id) !== sb || sb.data.state !== "creating") return;
      if (finalState === "creating") return;
      setSandboxState(sb, finalState, outcome.errorReason);
    }, o.transitionMs);
    if (!body.buildInfo) await serverWait(sb, ["creating"]);
    return fullDto(sb);
  }

  /** The environment of sandbox processes: the sandbox env on top of what a Daytona sandbox sets. */
  function sandboxEnv(sb) {
    return {
      PATH: process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: sb.homeDir,
      USER: sb.data.user,
      LOGNAME: sb.data.user,
      SHELL: "/bin/bash",
      LANG: "C.UTF-8",
      HOSTNAME: sb.data.id,
      DAYTONA_SANDBOX_ID: sb.data.id,
      DAYTONA_SANDBOX_SNAPSHOT: sb.data.snapshot ?? "",
      DAYTONA_SANDBOX_USER: sb.data.user,
      ...sb.data.env,
    };
  }

  function assertNotErrored(sb) {
    if (ERROR_STATES.has(sb.data.state)) {
      throw apiError(400, `Sandbox is in an errored state${sb.data.errorReason ? `: ${sb.data.errorReason}` : ""}`);
    }
  }

  async function startSandbox(sb) {
    if (sb.data.state === "started" && sb.data.desiredState === "started") return fullDto(sb);
    assertNotErrored(sb);
    if (TRANSITIONAL_STATES.has(sb.data.state)) throw apiError(409, "Sandbox state change in progress");
    if (!["stopped", "archived"].includes(sb.data.state)) throw apiError(400, "Sandbox is not in valid state");
    setDesiredState(sb, "started");
    setSandboxState(sb, "starting");
    schedule(() => {
      if (sb.data.state === "starting") setSandboxState(sb, "started");
    }, o.transitionMs);
    await serverWait(sb, ["starting"]);
    return fullDto(sb);
  }

  function stopProcesses(sb) {
    return sb.daemon.shutdown(o.killGraceMs);
  }

  async function stopSandbox(sb) {
    assertNotErrored(sb);
    if (TRANSITIONAL_STATES.has(sb.data.state)) throw apiError(409, "Sandbox state change in progress");
    if (sb.data.state !== "started") throw apiError(400, "Sandbox is not in a stoppable state");
    setDesiredState(sb, "stopped");
    setSandboxState(sb, "stopping");
    const killed = stopProcesses(sb);
    schedule(async () => {
      await killed;
      if (sb.data.state === "stopping") setSandboxState(sb, "stopped");
    }, o.transitionMs);
    return fullDto(sb);
  }

  async function deleteSandbox(sb) {
    setDesiredState(sb, "destroyed");
    if (sb.data.state === "destroying") return fullDto(sb);
    setSandboxState(sb, "destroying");
    const killed = stopProcesses(sb);
    const dto = fullDto(sb);
    schedule(async () => {
      await killed;
      setSandboxState(sb, "destroyed");
      sandboxes.delete(sb.data.id);
      await rm(sb.dir, { recursive: true, force: true });
    }, o.transitionMs);
    return dto;
  }

  function listSandboxes(query) {
    let labels;
    if (query.labels !== undefined) {
      try {
        labels = JSON.parse(query.labels);
      } catch {
        throw apiError(400, "Invalid labels JSON format");
      }
    }
    const limit = query.limit === undefined ? 100 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1) throw apiError(400, "limit must not be less than 1");
    if (limit > 200) throw apiError(400, "limit must not be greater than 200");
    const states = query.states === undefined ? undefined : [].concat(query.states);
    let items = [...sandboxes.values()].filter((sb) => {
      if (sb.data.state === "destroyed") return false;
      if (states && !states.includes(sb.data.state)) return false;
      if (query.id && !sb.data.id.toLowerCase().startsWith(String(query.id).toLowerCase())) return false;
      if (query.name && !sb.data.name.toLowerCase().startsWith(String(query.name).toLowerCase())) return false;
      if (labels) for (const [k, v] of Object.entries(labels)) if (sb.data.labels[k] !== v) return false;
      return true;
    });
    // Stable order (newest first) so that offset cursors page consistently.
    items = items.sort((a, b) => b.data.createdAt.localeCompare(a.data.createdAt) || a.data.id.localeCompare(b.data.id));
    let offset = 0;
    if (query.cursor) {
      const decoded = Buffer.from(String(query.cursor), "base64url").toString("utf8");
      offset = decoded.startsWith("offset:") ? Number(decoded.slice(7)) : Number.NaN;
      if (!Number.isInteger(offset) || offset < 0) throw apiError(400, "Invalid cursor");
    }
    const page = items.slice(offset, offset + limit);
    const next = offset + limit < items.length ? Buffer.from(`offset:${offset + limit}`).toString("base64url") : null;
    return { items: page.map(listItem), nextCursor: next };
  }

  async function handleApi(_req, res, url, method, body) {
    const route = url.pathname.slice(4).replace(/\/+$/, "") || "/";
    const parts = route.split("/").filter(Boolean).map(decodeURIComponent);
    if (parts[0] !== "sandbox") throw apiError(404, `Cannot ${method} ${url.pathname}`);
    if (parts.length === 1) {
      if (method === "POST") return sendJson(res, 200, await createSandbox(body));
      if (method === "GET") return sendJson(res, 200, listSandboxes(queryObject(url.searchParams)));
    }
    if (parts.length === 2) {
      const sb = findSandbox(parts[1]);
      if (method === "GET") return sendJson(res, 200, fullDto(sb));
      if (method === "DELETE") return sendJson(res, 200, await deleteSandbox(sb));
    }
    if (parts.length >= 3) {
      const sb = findSandbox(parts[1]);
      const action = parts.slice(2).join("/");
      if (method === "POST" && action === "start") return sendJson(res, 200, await startSandbox(sb));
      if (method === "POST" && action === "stop") return sendJson(res, 200, await stopSandbox(sb));
      if (method === "GET" && action === "toolbox-proxy-url") return sendJson(res, 200, { url: toolboxProxyUrl });
      if (method === "PUT" && action === "labels") {
        sb.data.labels = { ...(body?.labels ?? {}) };
        sb.data.updatedAt = new Date().toISOString();
        return sendJson(res, 200, { labels: structuredClone(sb.data.labels) });
      }
      if (method === "POST" && action === "last-activity") {
        touch(sb);
        return sendJson(res, 201, undefined);
      }
      const interval = action.match(/^(autostop|autoarchive|autodelete|autopause)\/(-?\d+)$/);
      if (method === "POST" && interval) {
        const field = {
          autostop: "autoStopInterval",
          autoarchive: "autoArchiveInterval",
          autodelete: "autoDeleteInterval",
          autopause: "autoPauseInterval",
        }[interval[1]];
        sb.data[field] = Number(interval[2]);
        sb.data.updatedAt = new Date().toISOString();
        return sendJson(res, 201, undefined);
      }
    }
    throw apiError(404, `Cannot ${method} ${url.pathname}`);
  }

  // ------------------------------------------------------------------ toolbox

  /** The sandbox behind a toolbox request; the runner proxy answers 400 when its container is not running. */
  function toolboxSandbox(sandboxId) {
    const sb = sandboxes.get(sandboxId);
    if (!sb || sb.data.state === "destroyed") {
      throw daemonError(404, `not found: sandbox container not found: Error response from daemon: No such container: ${sandboxId}`);
    }
    if (sb.data.state !== "started") throw daemonError(400, "no IP address found. Is the Sandbox started?");
    return sb;
  }

  async function handleToolbox(req, res, url, method, body, entry) {
    const match = url.pathname.match(/^\/toolbox\/([^/]+)(\/.*)?$/);
    const sb = toolboxSandbox(decodeURIComponent(match[1]));
    const path = match[2] ?? "/";
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    const daemon = sb.daemon;
    sb.activeRequests++;
    touch(sb);
    res.on("close", () => {
      sb.activeRequests--;
      touch(sb);
    });
    const q = url.searchParams;
    const [a, b, c, d, e, f] = parts;

    if (a === "process") {
      if (b === "execute" && parts.length === 2 && method === "POST") {
        // The daemon kills the command's process group when the client drops the connection.
        const gone = new AbortController();
        res.on("close", () => {
          if (!res.writableEnded) gone.abort();
        });
        const result = await daemon.executeCommand(body, gone.signal);
        if (result) sendJson(res, 200, result);
        return;
      }
      if (b === "session") {
        if (parts.length === 2 && method === "POST") {
          await daemon.createSession(body);
          return sendJson(res, 201, undefined);
        }
        if (parts.length === 2 && method === "GET") return sendJson(res, 200, daemon.listSessions());
        if (parts.length === 3 && method === "GET") return sendJson(res, 200, daemon.getSession(c));
        if (parts.length === 3 && method === "DELETE") {
          await daemon.deleteSession(c);
          return sendJson(res, 204, undefined);
        }
        if (parts.length === 4 && d === "exec" && method === "POST") {
          const result = await daemon.execute(c, body, req.headers);
          return sendJson(res, result.status, result.body);
        }
        if (parts.length === 5 && d === "command" && method === "GET") return sendJson(res, 200, daemon.getSessionCommand(c, e));
        if (parts.length === 6 && d === "command" && f === "logs" && method === "GET") {
          const logs = await daemon.getLogs(c, e, req.headers);
          if (logs.json) return sendJson(res, 200, logs.json);
          res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
          return res.end(logs.text);
        }
        if (parts.length === 6 && d === "command" && f === "input" && method === "POST") {
          await daemon.sendInput(c, e, body);
          return sendJson(res, 200, undefined);
        }
      }
    }
    if (a === "files") {
      if (b === "bulk-upload" && method === "POST") {
        const result = await daemon.uploadFiles(req);
        entry.body = result.body;
        return sendJson(res, result.status, result.body);
      }
      if (b === "bulk-download" && method === "POST") {
        const result = await daemon.downloadFiles(body, res, method);
        if (result) sendJson(res, result.status, result.body);
        return;
      }
      if (b === "download" && method === "GET") {
        const { createReadStream, statSync } = await import("node:fs");
        const target = daemon.resolvePath(q.get("path") ?? "");
        let info;
        try {
          info = statSync(target);
        } catch {
          throw daemonError(404, `not found: file not found: ${q.get("path")}`, "FILE_NOT_FOUND");
        }
        if (info.isDirectory()) throw daemonError(400, "path must be a file");
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": info.size });
        createReadStream(target).pipe(res);
        return;
      }
      if (b === "folder" && method === "POST") {
        const { mkdir } = await import("node:fs/promises");
        await mkdir(daemon.resolvePath(q.get("path") ?? ""), { recursive: true, mode: Number.parseInt(q.get("mode") ?? "755", 8) });
        return sendJson(res, 201, undefined);
      }
      if (!b && method === "DELETE") {
        const target = daemon.resolvePath(q.get("path") ?? "");
        await rm(target, { recursive: q.get("recursive") === "true" });
        return sendJson(res, 204, undefined);
      }
    }
    if ((a === "user-home-dir" || a === "work-dir") && method === "GET" && parts.length === 1) {
      return sendJson(res, 200, { dir: sb.homeDir });
    }
    if (a === "version" && method === "GET") return sendJson(res, 200, { version: SDK_VERSION_IMITATED });
    throw new HttpError(404, { message: "404 page not found" });
  }

  // ------------------------------------------------------------------ auto-stop / auto-delete

  // Daytona's sandbox manager stops a started sandbox whose last activity (toolbox traffic through
  // the proxy, which keeps refreshing it while a request or stream is open) is older than
  // autoStopInterval minutes (0 = never), and destroys a stopped one after autoDeleteInterval
  // minutes (negative = never). `minuteMs` scales a minute for tests.
  const checker = setInterval(
    () => {
      const now = Date.now();
      for (const sb of sandboxes.values()) {
        if (sb.activeRequests > 0) {
          touch(sb);
          continue;
        }
        const idle = now - sb.lastActivity;
        if (sb.data.state === "started" && sb.data.autoStopInterval > 0 && idle >= sb.data.autoStopInterval * o.minuteMs) {
          stopSandbox(sb).catch(() => {});
        } else if (sb.data.state === "stopped" && sb.data.autoDeleteInterval >= 0 && idle >= sb.data.autoDeleteInterval * o.minuteMs) {
          deleteSandbox(sb).catch(() => {});
        }
      }
    },
    Math.max(5, Math.min(1000, o.minuteMs / 20)),
  );

  // ------------------------------------------------------------------ handle

  return {
    apiUrl,
    toolboxProxyUrl,
    apiKey: o.apiKey,
    organizationId: o.organizationId,
    requests,
    faults,
    nextCreate(outcome, times = 1) {
      for (let i = 0; i < times; i++) createOutcomes.push({ ...outcome });
    },
    sandboxes() {
      return [...sandboxes.values()].map(fullDto);
    },
    sandbox(id) {
      const sb = sandboxes.get(id);
      if (!sb) return undefined;
      const pids = new Set();
      const sessionPids = {};
      for (const session of sb.daemon.sessions.values()) {
        sessionPids[session.id] = [...treeAndGroup(session.pid)];
        for (const p of sessionPids[session.id]) pids.add(p);
      }
      for (const exec of sb.daemon.execs) for (const p of treeAndGroup(exec.pid)) pids.add(p);
      return {
        ...fullDto(sb),
        rootDir: sb.rootDir,
        homeDir: sb.homeDir,
        sessionIds: [...sb.daemon.sessions.keys()],
        sessionPids,
        pids: [...pids],
      };
    },
    setState(id, state, errorReason) {
      const sb = sandboxes.get(id);
      if (!sb) throw new Error(`no sandbox ${id}`);
      if (["stopped", "error", "build_failed", "archived", "destroyed"].includes(state)) stopProcesses(sb).catch(() => {});
      setSandboxState(sb, state, errorReason);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(checker);
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all(
        [...sandboxes.values()].map(async (sb) => {
          sb.daemon.closed = true;
          await sb.daemon.shutdown(200);
        }),
      );
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => {
        io.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(baseDir, { recursive: true, force: true });
    },
  };
}
