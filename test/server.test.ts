import { homedir } from "node:os";
// The HTTP API over real sockets: security (token, Origin, Host, remote bind), limits (413, 429),
// NDJSON streaming, client disconnect killing the command, graceful shutdown, and the API end to
// end in local, docker and cloud (Daytona imitation) modes. `stigmer server start|status|stop`
// runs as a real process at the end.

import { statSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import daytonaPlugin from "@stigmer/backend-daytona";
import dockerPlugin from "@stigmer/backend-docker";
import localPlugin from "@stigmer/backend-local";
import {
  type Backend,
  BackendToken,
  createExecutor,
  createLogger,
  definePlugin,
  type Logger,
  MAX_COMMAND_BYTES,
  resolveConfig,
  type StigmerPlugin,
} from "@stigmer/core";
import rulesPlugin from "@stigmer/detector-rules";
import { type StigmerServer, startStigmerServer } from "@stigmer/server";
import { CLI_PRESET } from "stigmer";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type DaytonaImitation, startDaytonaImitation } from "./daytona-imitation/index.mjs";
import { capturingLogger, countProcesses, runCli, startCli, tempProject, waitFor } from "./helpers.js";

const TOKEN = "test-token-0123456789abcdef";
const modules = { local: localPlugin, docker: dockerPlugin, daytona: daytonaPlugin, rules: rulesPlugin };
const project = tempProject();
const servers: StigmerServer[] = [];

afterEach(async () => {
  await Promise.allSettled(servers.splice(0).map((s) => s.close(0)));
});
afterAll(() => project.cleanup());

async function serve(
  options: {
    env?: Record<string, string>;
    limits?: Record<string, number>;
    logger?: Logger;
    token?: string;
    modules?: Record<string, StigmerPlugin>;
  } = {},
): Promise<StigmerServer> {
  // As `stigmer server start` resolves it: with the CLI's preset (docker by default, MODE=cloud).
  const config = resolveConfig({ preset: CLI_PRESET, env: { ...options.env }, cwd: project.dir });
  const logger = options.logger ?? createLogger({ level: "silent" });
  const executor = createExecutor({ config, modules: { ...modules, ...options.modules }, logger });
  const server = await startStigmerServer({
    executor,
    logger,
    token: options.token ?? TOKEN,
    port: 0,
    version: "test",
    limits: options.limits ?? {},
  });
  servers.push(server);
  return server;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request (node:http lets a test set Host and Origin, which fetch forbids). */
function call(
  server: StigmerServer,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; raw?: string } = {},
): Promise<Reply> {
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port: server.port,
        method,
        path,
        agent: false,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(payload !== undefined ? { "content-type": "application/json" } : {}),
          ...options.headers,
        },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          body += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

const lines = (body: string) =>
  body
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("server security", () => {
  it("every request needs the bearer token: none or a wrong one is 401 with WWW-Authenticate", async () => {
    const server = await serve();
    const missing = await call(server, "GET", "/v1/health", { headers: { authorization: "" } });
    expect(missing.status).toBe(401);
    expect(missing.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(JSON.parse(missing.body)).toMatchObject({ code: "UNAUTHORIZED" });
    expect(
      (await call(server, "POST", "/v1/exec", { body: { command: "true" }, headers: { authorization: `Bearer ${TOKEN}x` } })).status,
    ).toBe(401);
    expect((await call(server, "GET", "/v1/nothing", { headers: { authorization: "Basic abc" } })).status).toBe(401);
    const ok = await call(server, "GET", "/v1/health");
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ version: "test", mode: "local", running: 0 });
  });

  it("a browser Origin or a foreign Host (DNS rebinding) is 403, even with the token", async () => {
    const server = await serve();
    const origin = await call(server, "POST", "/v1/exec", { body: { command: "true" }, headers: { origin: "https://evil.example" } });
    expect(origin.status).toBe(403);
    expect(JSON.parse(origin.body)).toMatchObject({ code: "FORBIDDEN" });
    const host = await call(server, "GET", "/v1/health", { headers: { host: `evil.example:${server.port}` } });
    expect(host.status).toBe(403);
    expect(JSON.parse(host.body).message).toMatch(/DNS rebinding/);
    expect((await call(server, "GET", "/v1/health", { headers: { host: `localhost:${server.port}` } })).status).toBe(200);
  });

  it("binding a non-loopback address needs allowRemote; a short token is refused", async () => {
    const executor = createExecutor({
      config: resolveConfig({ env: {}, cwd: project.dir }),
      modules,
      logger: createLogger({ level: "silent" }),
    });
    try {
      await expect(
        startStigmerServer({ executor, logger: createLogger({ level: "silent" }), token: TOKEN, host: "0.0.0.0", port: 0, version: "t" }),
      ).rejects.toMatchObject({
        code: "INVALID_CONFIG",
        message: expect.stringMatching(/--allow-remote/),
      });
      await expect(
        startStigmerServer({ executor, logger: createLogger({ level: "silent" }), token: "short", port: 0, version: "t" }),
      ).rejects.toMatchObject({
        code: "INVALID_CONFIG",
      });
    } finally {
      await executor.dispose();
    }
  });

  it("request logs carry method, path and status, never the token or env values", async () => {
    const { logger, raw } = capturingLogger("info");
    const server = await serve({ logger });
    const r = await call(server, "POST", "/v1/exec", {
      body: { command: "echo $SECRET_VALUE >/dev/null", env: { SECRET_VALUE: "sv-9f8e7d6c" } },
    });
    expect(r.status).toBe(200);
    await waitFor(async () => raw.some((l) => l.includes('"path":"/v1/exec"')), 5000, "the request log line");
    const text = raw.join("\n");
    expect(text).toMatch(/"method":"POST","path":"\/v1\/exec","status":200/);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain("sv-9f8e7d6c");
  });
});

describe("POST /v1/exec", () => {
  it("streams start, stdout, stderr and exit as NDJSON, live, with the exit code", async () => {
    const server = await serve();
    const started = performance.now();
    const response = await fetch(`${server.url}/v1/exec`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ command: "echo first; echo warn >&2; sleep 1; echo $GREETING; exit 3", env: { GREETING: "hello" } }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    let firstOutputAt = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (!firstOutputAt && text.includes('"data":"first\\n"')) firstOutputAt = performance.now() - started;
    }
    const events = lines(text);
    expect(events[0]).toMatchObject({ type: "start", mode: "local", target: "local", backend: "local" });
    expect(
      events
        .filter((e) => e.type === "stdout")
        .map((e) => e.data)
        .join(""),
    ).toBe("first\nhello\n");
    expect(
      events
        .filter((e) => e.type === "stderr")
        .map((e) => e.data)
        .join(""),
    ).toBe("warn\n");
    expect(events.at(-1)).toMatchObject({ type: "exit", exitCode: 3, timedOut: false });
    // "first" arrived before the one-second sleep was over: flushed as it happened.
    const total = performance.now() - started;
    expect(firstOutputAt).toBeGreaterThan(0);
    expect(total - firstOutputAt).toBeGreaterThan(500);
  });

  it("stdin, cwd and timeoutMs are honoured; the timeout kills the command", async () => {
    const server = await serve();
    const r = await call(server, "POST", "/v1/exec", { body: { command: "pwd; wc -c", stdin: "12345", cwd: project.dir } });
    expect(
      lines(r.body)
        .filter((e) => e.type === "stdout")
        .map((e) => e.data)
        .join(""),
    ).toBe(`${project.dir}\n5\n`);
    const t = await call(server, "POST", "/v1/exec", { body: { command: "sleep 30", timeoutMs: 300 } });
    expect(lines(t.body).at(-1)).toMatchObject({ type: "exit", timedOut: true });
  });

  it.each([
    [{}, 400, "INVALID_REQUEST"],
    [{ command: "" }, 400, "INVALID_REQUEST"],
    [{ command: "ls", mode: "cloudy" }, 400, "INVALID_REQUEST"],
    [{ command: "ls", cwd: "/no/such/dir" }, 400, "INVALID_REQUEST"],
    [{ command: "ls", env: { "BAD NAME": "x" } }, 400, "INVALID_REQUEST"],
    [{ command: "ls", surprise: 1 }, 400, "INVALID_REQUEST"],
    // The host's root, or the home directory, must never become a sandbox's workspace (nor auto mode's project).
    [{ command: "cat /workspace/etc/shadow", mode: "sandbox", cwd: "/" }, 400, "INVALID_REQUEST"],
    [{ command: "ls", mode: "auto", cwd: "/" }, 400, "INVALID_REQUEST"],
    [{ command: "ls", mode: "sandbox", cwd: homedir() }, 400, "INVALID_REQUEST"],
  ])("bad request %j is %i %s as JSON", async (body, status, code) => {
    const server = await serve();
    const r = await call(server, "POST", "/v1/exec", { body });
    expect(r.status).toBe(status);
    expect(JSON.parse(r.body)).toMatchObject({ code, message: expect.any(String) });
  });

  it("oversized bodies and commands are 413; malformed JSON is 400", async () => {
    const server = await serve({ limits: { bodyBytes: 4096, commandBytes: 100 } });
    const body = await call(server, "POST", "/v1/exec", { body: { command: "true", stdin: "x".repeat(5000) } });
    expect(body.status).toBe(413);
    expect(JSON.parse(body.body)).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    const command = await call(server, "POST", "/v1/exec", { body: { command: `echo ${"y".repeat(200)}` } });
    expect(command.status).toBe(413);
    expect(JSON.parse(command.body).message).toMatch(/--max-command-bytes/);
    const malformed = await call(server, "POST", "/v1/exec", { raw: "{not json" });
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body)).toMatchObject({ code: "INVALID_REQUEST", message: expect.stringMatching(/not valid JSON/) });
  });

  it("over the concurrency limit is 429 with Retry-After; the slot frees when the command ends", async () => {
    const server = await serve({ limits: { concurrency: 1 } });
    const slow = call(server, "POST", "/v1/exec", { body: { command: "sleep 1; echo done" } });
    await waitFor(async () => server.running === 1, 5000, "the first command to run");
    const busy = await call(server, "POST", "/v1/exec", { body: { command: "true" } });
    expect(busy.status).toBe(429);
    expect(busy.headers["retry-after"]).toBe("1");
    expect(JSON.parse(busy.body)).toMatchObject({ code: "BUSY" });
    expect(lines((await slow).body).at(-1)).toMatchObject({ type: "exit", exitCode: 0 });
    expect((await call(server, "POST", "/v1/exec", { body: { command: "true" } })).status).toBe(200);
  });

  it("a sandbox request without a usable sandbox backend is 503 and runs nothing on the host", async () => {
    const server = await serve({ env: { STIGMER_SANDBOX_BACKEND: "@acme/not-installed-sandbox" } });
    const marker = join(project.dir, "never-created");
    const r = await call(server, "POST", "/v1/exec", { body: { command: `touch ${marker}`, mode: "sandbox" } });
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toMatchObject({ code: "PLUGIN_LOAD_FAILED" });
    expect(() => statSync(marker)).toThrow();
  });

  it("the client disconnecting cancels the command and kills its process tree", async () => {
    const server = await serve();
    const marker = String(700000 + Math.floor(Math.random() * 90000));
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/exec`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      // $((…)): the shells' own command lines do not contain "sleep <marker>", only the sleeps do.
      body: JSON.stringify({ command: `sh -c 'sleep $((${marker}1)) & sleep $((${marker}2)); wait' & echo started; wait` }),
      signal: controller.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let seen = "";
    while (!seen.includes("started")) seen += new TextDecoder().decode((await reader.read()).value);
    // "started" may be printed before the backgrounded sh has started its sleeps.
    await waitFor(async () => (await countProcesses(`sleep ${marker}`)) === 2, 10_000, "both sleeps to run");
    controller.abort();
    await waitFor(async () => (await countProcesses(`sleep ${marker}`)) === 0, 10_000, "the command's processes to be killed");
    await waitFor(async () => server.running === 0, 5000, "the slot to be freed");
  });
});

/** A raw connection to the server, for clients no HTTP library would be: slow, silent, idle. */
function rawSocket(server: StigmerServer): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, "127.0.0.1");
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      text += d;
    });
    const closed = new Promise<void>((done) => socket.once("close", () => done()));
    socket.once("error", () => {});
    socket.once("connect", () => resolve({ socket, received: () => text, closed }));
    socket.once("error", reject);
  });
}

const head = (server: StigmerServer, method: string, path: string, extra: string) =>
  `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1:${server.port}\r\nauthorization: Bearer ${TOKEN}\r\n${extra}\r\n`;

/** A backend whose commands never end and which never finishes disposing: what a hung sandbox looks like to the server. */
const stuckPlugin: StigmerPlugin = definePlugin({
  specificationVersion: "v1",
  name: "stuck",
  kind: "backend",
  register(container) {
    const backend: Backend & { dispose(): Promise<void> } = {
      specificationVersion: "v1",
      name: "stuck",
      capabilities: { stdin: true, env: true, cancel: true, separateStreams: true },
      health: async () => ({ ok: true, message: "never ends a command" }),
      exec: () => new Promise(() => {}),
      dispose: () => new Promise(() => {}),
    };
    container.register(BackendToken, { useValue: backend });
  },
});

describe("robustness: connections and slots", () => {
  it("a body sent slowly is 408 TIMEOUT and closed after the request timeout, a silent connection is closed; a slower response is not", async () => {
    const server = await serve({ limits: { requestTimeoutMs: 1000 } });
    const slow = await rawSocket(server);
    slow.socket.write(head(server, "POST", "/v1/exec", "content-type: application/json\r\ncontent-length: 200\r\n"));
    const drip = setInterval(() => slow.socket.writable && slow.socket.write(" "), 200);
    try {
      await slow.closed;
    } finally {
      clearInterval(drip);
    }
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(slow.received().split("\r\n\r\n")[1] as string)).toMatchObject({
      code: "TIMEOUT",
      message: expect.stringMatching(/--request-timeout/),
    });
    const silent = await rawSocket(server);
    await silent.closed;
    expect(server.running).toBe(0);
    // The request timeout is about receiving the request: a stream that outlasts it goes on.
    const long = await call(server, "POST", "/v1/exec", { body: { command: "sleep 1.5; echo still-streaming" } });
    expect(lines(long.body).at(-1)).toMatchObject({ type: "exit", exitCode: 0 });
  });

  it("an idle keep-alive connection is closed after the keep-alive timeout", async () => {
    const server = await serve({ limits: { keepAliveTimeoutMs: 300 } });
    const idle = await rawSocket(server);
    idle.socket.write(head(server, "GET", "/v1/health", "connection: keep-alive\r\n"));
    await idle.closed;
    expect(idle.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(idle.received()).toMatch(/keep-alive: timeout=0?\.?\d*/i);
  });

  it("a command whose backend never ends frees its slot after its timeout plus the stop timeout; so does a client that left", async () => {
    const server = await serve({ modules: { local: stuckPlugin }, limits: { concurrency: 1, stopTimeoutMs: 300 } });
    const timedOut = await call(server, "POST", "/v1/exec", { body: { command: "true", timeoutMs: 200 } });
    expect(timedOut.status).toBe(200);
    expect(lines(timedOut.body)[0]).toMatchObject({ type: "start" });
    expect(lines(timedOut.body).at(-1)).toMatchObject({ type: "error", code: "TIMEOUT", message: expect.stringMatching(/was not over/) });
    expect(server.running).toBe(0);
    // No timeout (the server's maximum applies): the client leaving stops it, and the slot is freed.
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/exec`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ command: "true" }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(server.running).toBe(1);
    controller.abort();
    await waitFor(async () => server.running === 0, 10_000, "the slot to be freed");
    // And the server still stops though the backend never ends what it was given.
    const again = call(server, "POST", "/v1/exec", { body: { command: "true" } });
    await waitFor(async () => server.running === 1, 5000, "the next command to take the slot");
    await servers.pop()?.close(0);
    expect(lines((await again).body).at(-1)).toMatchObject({ type: "error", code: "TIMEOUT" });
  });

  it("a client that stops reading a large output does not hold its slot past the timeout", async () => {
    const server = await serve({ limits: { stopTimeoutMs: 300 } });
    const reader = await rawSocket(server);
    const body = JSON.stringify({ command: "yes stigmer-output", timeoutMs: 500 });
    reader.socket.write(
      head(server, "POST", "/v1/exec", `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`) + body,
    );
    reader.socket.pause(); // reads nothing more: the server's socket buffer fills
    await waitFor(async () => server.running === 1, 5000, "the command to start");
    await waitFor(async () => server.running === 0, 10_000, "the slot to be freed");
    reader.socket.resume(); // to read the end of the connection the server closed
    await reader.closed;
    expect(await countProcesses("yes stigmer-outpu")).toBe(0);
  });

  it("commands of 128 KiB to 1 MiB end cleanly over HTTP: they run, or are refused with a code; no slot is held", async () => {
    const server = await serve({ limits: { commandBytes: MAX_COMMAND_BYTES, stopTimeoutMs: 500 } });
    const sizes = [128 * 1024 + 1, 512 * 1024, MAX_COMMAND_BYTES - 64];
    const replies = await Promise.all(
      sizes.map((size) => {
        const command = `: ${"x".repeat(size - 20)}; echo big-ok`;
        return call(server, "POST", "/v1/exec", { body: { command, timeoutMs: 2000 } });
      }),
    );
    for (const reply of replies) {
      if (reply.status === 200) {
        const last = lines(reply.body).at(-1);
        if (last?.type === "exit") {
          expect(last).toMatchObject({ exitCode: 0 });
          expect(
            lines(reply.body)
              .filter((e) => e.type === "stdout")
              .map((e) => e.data)
              .join(""),
          ).toBe("big-ok\n");
        } else {
          expect(last).toMatchObject({ type: "error", code: expect.stringMatching(/^[A-Z_]+$/), message: expect.any(String) });
        }
      } else {
        expect(reply.status).toBeGreaterThanOrEqual(400);
        expect(JSON.parse(reply.body)).toMatchObject({ code: expect.stringMatching(/^[A-Z_]+$/) });
      }
    }
    expect(server.running).toBe(0);
    const after = await call(server, "POST", "/v1/exec", { body: { command: "echo after" } });
    expect(lines(after.body).at(-1)).toMatchObject({ type: "exit", exitCode: 0 });
  });
});

describe("robustness: authentication and request validation", () => {
  it("the Bearer scheme is case-insensitive (RFC 9110); a wrong token of any length is still 401", async () => {
    const server = await serve();
    for (const scheme of ["bearer", "BEARER", "bEaReR"]) {
      expect((await call(server, "GET", "/v1/health", { headers: { authorization: `${scheme} ${TOKEN}` } })).status).toBe(200);
    }
    for (const authorization of [
      `bearer ${TOKEN}x`,
      `bearer ${TOKEN.slice(0, -1)}`,
      "bearer x",
      `Bearer${TOKEN}`,
      `Basic ${TOKEN}`,
      TOKEN,
    ]) {
      const r = await call(server, "GET", "/v1/health", { headers: { authorization } });
      expect(r.status).toBe(401);
      expect(JSON.parse(r.body)).toMatchObject({ code: "UNAUTHORIZED" });
    }
  });

  it.each([
    [{ command: "true", timeoutMs: "5" }, "timeoutMs", /"timeoutMs" must be a positive integer.*the string "5"/],
    [{ command: "true", timeoutMs: 1.5 }, "timeoutMs", /"timeoutMs" must be a positive integer.*the number 1\.5/],
    [{ command: "true", timeoutMs: 0 }, "timeoutMs", /"timeoutMs" must be a positive integer/],
    [{ command: "true", env: { X: 1 } }, "env.X", /"env" must be an object whose values are strings; "X" is the number 1/],
    [{ command: "true", env: ["X=1"] }, "env", /"env" must be an object.*an array/],
    [{ command: 5 }, "command", /"command" must be a string; got the number 5/],
    [{ command: ["ls"] }, "command", /"command" must be a string; got an array/],
    [{ command: "ls", cwd: null }, "cwd", /"cwd" must be a string; got null/],
    [{ command: "ls", mode: 1 }, "mode", /"mode" must be one of local, sandbox, auto; got the number 1/],
    [{ command: "ls", stdin: { a: 1 } }, "stdin", /"stdin" must be a string.*; got an object/],
    [{ mode: "local" }, "command", /"command" is required/],
    [
      { command: "ls", surprise: 1, other: 2 },
      "surprise",
      /Unknown fields "surprise", "other".*takes command, mode, cwd, env, stdin, timeoutMs/,
    ],
  ])("POST /v1/exec %j is 400 INVALID_REQUEST naming %s and the expected type, and runs nothing", async (body, field, message) => {
    const server = await serve();
    const r = await call(server, "POST", "/v1/exec", { body });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({ code: "INVALID_REQUEST", message: expect.stringMatching(message), details: { field } });
  });

  it.each([
    ['{"command":"true","__proto__":{"polluted":true}}', "__proto__"],
    ['{"command":"true","constructor":{"prototype":{"polluted":true}}}', "constructor"],
    ['{"command":"true","env":{"__proto__":{"polluted":"yes"}}}', "env.__proto__"],
    ['{"command":"true","env":{"\\u005f_proto__":"x"}}', "env.__proto__"],
  ])("a prototype key is refused as an invalid field, not as bad JSON, and pollutes nothing: %s", async (raw, field) => {
    const server = await serve();
    const r = await call(server, "POST", "/v1/exec", { raw });
    expect(r.status).toBe(400);
    const error = JSON.parse(r.body);
    expect(error).toMatchObject({ code: "INVALID_REQUEST", details: { field } });
    expect(error.message).not.toMatch(/JSON/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("malformed JSON, a body that is not an object, and bad /v1/detect bodies are 400s that say what is wrong", async () => {
    const server = await serve();
    const cases: Array<[string, string, RegExp]> = [
      ["/v1/exec", '{"command":"true",}', /not valid JSON/],
      ["/v1/exec", "[1]", /The body of POST \/v1\/exec must be an object.*got an array/],
      ["/v1/exec", '"ls"', /must be an object.*got the string "ls"/],
      ["/v1/detect", '{"command":5}', /"command" must be a string/],
      ["/v1/detect", '{"command":"ls","mode":"auto"}', /Unknown field "mode" in the body of POST \/v1\/detect/],
      ["/v1/detect", "{nope", /not valid JSON/],
    ];
    for (const [path, raw, message] of cases) {
      const r = await call(server, "POST", path, { raw });
      expect(r.status, `${path} ${raw}`).toBe(400);
      expect(JSON.parse(r.body), `${path} ${raw}`).toMatchObject({ code: "INVALID_REQUEST", message: expect.stringMatching(message) });
    }
  });
});

describe("other routes", () => {
  it("POST /v1/detect answers the detector's decision with its reason", async () => {
    const server = await serve();
    const risky = await call(server, "POST", "/v1/detect", { body: { command: "curl -fsSL https://get.example.com | sh" } });
    expect(JSON.parse(risky.body)).toMatchObject({
      mode: "sandbox",
      rules: expect.arrayContaining(["download.execute"]),
      reason: expect.any(String),
    });
    expect(JSON.parse((await call(server, "POST", "/v1/detect", { body: { command: "git status" } })).body)).toMatchObject({
      mode: "local",
    });
    expect((await call(server, "POST", "/v1/detect", { body: {} })).status).toBe(400);
  });

  it("GET /v1/health lists the diagnosis checks; unknown routes are 404 JSON", async () => {
    const server = await serve();
    const health = JSON.parse((await call(server, "GET", "/v1/health")).body);
    expect(health).toMatchObject({ version: "test", limits: { concurrency: 8 } });
    expect(health.checks.map((c: { id: string }) => c.id)).toEqual(
      expect.arrayContaining(["node", "config", "sandbox-backend", "detector"]),
    );
    const missing = await call(server, "GET", "/v2/nothing");
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("end to end in sandbox modes", () => {
  it("docker: exec in a container, list it in /v1/sandboxes, delete it (204), then 404", async () => {
    const server = await serve({ env: { STIGMER_SANDBOX_IMAGE: "stigmer-test/busybox:1", STIGMER_SANDBOX_TTL: "120" } });
    const r = await call(server, "POST", "/v1/exec", {
      body: { command: "echo in-box; cat /proc/1/cgroup >/dev/null; hostname", mode: "sandbox", cwd: project.dir },
    });
    const events = lines(r.body);
    expect(events[0]).toMatchObject({ type: "start", target: "sandbox", backend: "docker" });
    expect(events.at(-1)).toMatchObject({ type: "exit", exitCode: 0 });
    const listed = JSON.parse((await call(server, "GET", "/v1/sandboxes")).body).sandboxes as Array<{ id: string; workspace?: string }>;
    const mine = listed.find((s) => s.workspace === project.dir);
    expect(mine).toBeDefined();
    expect((await call(server, "DELETE", `/v1/sandboxes/${mine?.id}`)).status).toBe(204);
    const again = await call(server, "DELETE", `/v1/sandboxes/${mine?.id}`);
    expect(again.status).toBe(404);
    expect(JSON.parse(again.body)).toMatchObject({ code: "NOT_FOUND" });
  }, 120_000);

  it("cloud: MODE=cloud runs through the Daytona imitation and lists its sandbox", async () => {
    const imitation: DaytonaImitation = await startDaytonaImitation({ transitionMs: 20 });
    try {
      const server = await serve({ env: { MODE: "cloud", DAYTONA_API_KEY: imitation.apiKey, DAYTONA_API_URL: imitation.apiUrl } });
      const r = await call(server, "POST", "/v1/exec", { body: { command: "echo from-cloud; echo e >&2; exit 7", cwd: project.dir } });
      const events = lines(r.body);
      expect(events[0]).toMatchObject({ type: "start", mode: "sandbox", backend: "daytona" });
      expect(
        events
          .filter((e) => e.type === "stdout")
          .map((e) => e.data)
          .join(""),
      ).toBe("from-cloud\n");
      expect(events.at(-1)).toMatchObject({ type: "exit", exitCode: 7 });
      const listed = JSON.parse((await call(server, "GET", "/v1/sandboxes")).body).sandboxes as Array<{ backend: string }>;
      expect(listed.some((s) => s.backend === "daytona")).toBe(true);
      await servers.pop()?.close(0);
      // Cleanup on (the default): shutting the server down deleted its cloud sandbox.
      expect(imitation.sandboxes().filter((s) => s.state !== "destroyed" && s.state !== "destroying")).toHaveLength(0);
    } finally {
      await imitation.close();
    }
  }, 120_000);
});

describe("graceful shutdown", () => {
  it("a command in flight finishes within the grace period; new connections are refused", async () => {
    const server = await serve();
    const inflight = call(server, "POST", "/v1/exec", { body: { command: "sleep 0.5; echo finished" } });
    await waitFor(async () => server.running === 1, 5000, "the command to start");
    const closing = server.close(10_000);
    const r = await inflight;
    expect(
      lines(r.body)
        .filter((e) => e.type === "stdout")
        .map((e) => e.data)
        .join(""),
    ).toBe("finished\n");
    expect(lines(r.body).at(-1)).toMatchObject({ type: "exit", exitCode: 0 });
    await closing;
    await expect(call(server, "GET", "/v1/health")).rejects.toThrow(/ECONNREFUSED/);
  });

  it("after the grace period the command's tree is killed and the stream ends with the exit", async () => {
    const server = await serve();
    const marker = String(600000 + Math.floor(Math.random() * 90000));
    const inflight = call(server, "POST", "/v1/exec", { body: { command: `sleep ${marker}` } });
    await waitFor(async () => (await countProcesses(`sleep ${marker}`)) === 1, 5000, "the command to start");
    await server.close(300);
    const last = lines((await inflight).body).at(-1);
    expect(last).toMatchObject({ type: "exit", cancelled: true });
    expect(await countProcesses(`sleep ${marker}`)).toBe(0);
  });
});

describe("stigmer server start | status | stop", () => {
  it("starts with a generated token in a 0600 file, answers with it, reports status, stops gracefully", async () => {
    const state = tempProject();
    const env = { STIGMER_STATE_DIR: state.dir, STIGMER_SERVER_TOKEN: "" };
    try {
      const { child, seen } = startCli(["server", "start", "--port", "0"], { cwd: project.dir, env });
      await seen("token:");
      const info = await waitForState(state.dir);
      const tokenFile = join(state.dir, "server-token");
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
      expect(statSync(state.dir).mode & 0o077).toBe(0);
      const token = (await import("node:fs")).readFileSync(tokenFile, "utf8").trim();
      const health = await fetch(`${info.url}/v1/health`, { headers: { authorization: `Bearer ${token}` } });
      expect(health.status).toBe(200);
      expect((await fetch(`${info.url}/v1/health`)).status).toBe(401);
      const status = await runCli(["server", "status"], { env });
      expect(status.exitCode).toBe(0);
      expect(status.stdout).toMatch(new RegExp(`running: pid ${info.pid}, ${info.url.replace(/\./g, "\\.")}`));
      const second = await runCli(["server", "start", "--port", "0"], { env });
      expect(second.exitCode).toBe(2);
      expect(second.stderr).toMatch(/already runs/);
      const stop = await runCli(["server", "stop"], { env });
      expect(stop).toMatchObject({ exitCode: 0 });
      expect((await child).exitCode).toBe(0);
      expect((await runCli(["server", "status"], { env })).exitCode).toBe(1);
    } finally {
      state.cleanup();
    }
  }, 60_000);

  it("streams 200 MB through /v1/exec to a reading client with no warning on the server's stderr", async () => {
    const state = tempProject();
    try {
      const { child } = startCli(["server", "start", "--port", "0", "--log-level", "error"], {
        cwd: project.dir,
        // MODE: vitest sets MODE=test, which stigmer warns about.
        env: { STIGMER_STATE_DIR: state.dir, STIGMER_SERVER_TOKEN: TOKEN, MODE: "" },
      });
      const info = await waitForState(state.dir);
      const total = 200_000_000;
      const { bytes, tail } = await new Promise<{ bytes: number; tail: string }>((resolve, reject) => {
        const req = httpRequest(
          `${info.url}/v1/exec`,
          { method: "POST", agent: false, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" } },
          (res) => {
            let bytes = 0;
            let tail = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => {
              bytes += d.length;
              tail = (tail + d).slice(-2000);
            });
            res.on("end", () => resolve({ bytes, tail }));
            res.on("error", reject);
          },
        );
        req.on("error", reject);
        req.end(JSON.stringify({ command: `head -c ${total} /dev/zero | tr '\\0' a` }));
      });
      expect(bytes).toBeGreaterThan(total);
      expect(JSON.parse(tail.trim().split("\n").at(-1) as string)).toMatchObject({ type: "exit", exitCode: 0, truncated: true });
      process.kill(info.pid, "SIGTERM");
      const result = await child;
      expect(result.exitCode).toBe(0);
      expect(String(result.stderr)).not.toMatch(/warning/i);
    } finally {
      state.cleanup();
    }
  }, 120_000);

  it("SIGTERM stops the server within --grace + --stop-timeout, killing what runs, whatever its commands are", async () => {
    const state = tempProject();
    try {
      const { child } = startCli(["server", "start", "--port", "0", "--grace", "0.5", "--stop-timeout", "1", "--log-level", "error"], {
        cwd: project.dir,
        env: { STIGMER_STATE_DIR: state.dir, STIGMER_SERVER_TOKEN: TOKEN },
      });
      const info = await waitForState(state.dir);
      const marker = String(400000 + Math.floor(Math.random() * 90000));
      const post = (command: string) =>
        fetch(`${info.url}/v1/exec`, {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({ command }),
        })
          .then((r) => r.text())
          .catch((error: unknown) => String(error));
      const sleeping = post(`sleep ${marker}`);
      // 200 KiB: over Linux's limit for one argument, under the server's --max-command-bytes.
      const big = post(`: ${"x".repeat(200 * 1024)}; sleep ${marker}`);
      await waitFor(async () => (await countProcesses(`sleep ${marker}`)) >= 1, 10_000, "the command to run");
      process.kill(info.pid, "SIGTERM");
      const result = await child;
      expect(result.exitCode).toBe(0);
      await Promise.all([sleeping, big]);
      await waitFor(async () => (await countProcesses(`sleep ${marker}`)) === 0, 10_000, "the commands to be killed");
    } finally {
      state.cleanup();
    }
  }, 60_000);

  it("refuses a non-loopback bind without a chosen token, and bad flags, with one line and exit 2", async () => {
    const remote = await runCli(["server", "start", "--host", "0.0.0.0", "--allow-remote"], { env: { STIGMER_SERVER_TOKEN: "" } });
    expect(remote.exitCode).toBe(2);
    expect(remote.stderr).toMatch(/^stigmer: INVALID_CONFIG: .*STIGMER_SERVER_TOKEN/);
    const noFlag = await runCli(["server", "start", "--host", "0.0.0.0"], { env: { STIGMER_SERVER_TOKEN: TOKEN } });
    expect(noFlag.exitCode).toBe(2);
    expect(noFlag.stderr).toMatch(/--allow-remote/);
    const port = await runCli(["server", "start", "--port", "http"], {});
    expect(port.exitCode).toBe(2);
    expect(port.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  });
});

async function waitForState(dir: string): Promise<{ pid: number; url: string }> {
  const { readState } = await import("@stigmer/server");
  let state: { pid: number; url: string } | undefined;
  await waitFor(
    async () => {
      state = readState(dir);
      return state !== undefined;
    },
    20_000,
    "the server state file",
  );
  return state as { pid: number; url: string };
}
