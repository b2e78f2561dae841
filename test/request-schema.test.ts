// One request schema for the library, the HTTP API and MCP: the same invalid request gets the
// same INVALID_REQUEST naming the same field over each; MCP keeps output as the library does.
// Over real sockets and processes: the executor, POST /v1/exec, /mcp with the SDK's client.

import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import localPlugin from "@stigmer/backend-local";
import {
  createExecutor,
  createLogger,
  type ExecRequest,
  MAX_COMMAND_BYTES,
  MAX_ENV_ENTRY_BYTES,
  MAX_STDIN_BYTES,
  requestJsonSchema,
  resolveConfig,
} from "@stigmer/core";
import { stigmerErrorOf } from "@stigmer/core/testing";
import rulesPlugin from "@stigmer/detector-rules";
import { mcpHttpHandler, type StigmerServer, startStigmerServer } from "@stigmer/server";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, tempProject } from "./helpers.js";

const project = tempProject();
const TOKEN = "request-schema-token-0123456789";
const logger = createLogger({ level: "silent" });

/** An error as each transport reports it: its code, the field it names, its message. */
interface Reported {
  code: string;
  field: unknown;
  message: string;
}

let server: StigmerServer;
let mcp: Client;
const library = createExecutor({
  config: resolveConfig({ env: { STIGMER_OUTPUT_LIMIT: "1024" }, cwd: project.dir }),
  modules: { local: localPlugin, rules: rulesPlugin },
  logger,
});

beforeAll(async () => {
  const executor = createExecutor({
    config: resolveConfig({ env: {}, cwd: project.dir }),
    modules: { local: localPlugin, rules: rulesPlugin },
    logger,
  });
  server = await startStigmerServer({
    executor,
    logger,
    token: TOKEN,
    port: 0,
    version: "test",
    // Room for an over-limit stdin: the request schema answers it, not the body limit.
    limits: { bodyBytes: 4 * MAX_STDIN_BYTES },
    mcp: mcpHttpHandler({ version: "test", logger, maxOutputBytes: 1024 }),
  });
  mcp = new Client({ name: "stigmer-test", version: "1.0.0" });
  await mcp.connect(
    new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }),
  );
});
afterAll(async () => {
  await mcp?.close();
  await server?.close(0);
  await library.dispose();
  project.cleanup();
});

async function viaLibrary(request: Record<string, unknown>): Promise<Reported> {
  const error = await stigmerErrorOf(library.run(request as unknown as ExecRequest));
  return { code: error.code, field: error.details?.field, message: error.message };
}

async function viaHttp(request: Record<string, unknown>): Promise<Reported> {
  const response = await fetch(`${server.url}/v1/exec`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(request),
  });
  expect(response.status).toBe(400);
  const body = (await response.json()) as { code: string; message: string; details?: { field?: unknown } };
  return { code: body.code, field: body.details?.field, message: body.message };
}

async function viaMcp(request: Record<string, unknown>): Promise<Reported> {
  const result = await mcp.callTool({ name: "run_command", arguments: request });
  expect(result.isError).toBe(true);
  const text = (result.content as Array<{ text: string }>)[0]?.text ?? "";
  const meta = (result._meta?.["stigmer/error"] ?? {}) as { code?: string; message?: string; details?: { field?: unknown } };
  expect(text).toBe(`${meta.code}: ${meta.message}`);
  return { code: meta.code ?? "", field: meta.details?.field, message: meta.message ?? "" };
}

/** Messages name where the request came from (`in the body of POST /v1/exec`); the rest is the same. */
const sameWhere = (message: string) =>
  message.replace(/in (the request|the body of POST \/v1\/exec|the arguments of run_command)/, "in <where>");

const cases: Array<[string, Record<string, unknown>, string, { sameMessage?: boolean }?]> = [
  ["a command that is not a string", { command: 5 }, "command"],
  ["no command", { mode: "local" }, "command"],
  ["a blank command", { command: "  " }, "command"],
  ["a command over 1 MiB", { command: "x".repeat(MAX_COMMAND_BYTES + 1) }, "command"],
  ["an unknown mode", { command: "ls", mode: "cloudy" }, "mode"],
  ["a cwd that is not a string", { command: "ls", cwd: null }, "cwd"],
  ["a cwd with a NUL byte", { command: "ls", cwd: "/tmp/a\0b" }, "cwd"],
  ["env that is an array", { command: "ls", env: ["X=1"] }, "env"],
  ["an env value that is not a string", { command: "ls", env: { X: 1 } }, "env.X"],
  ["a bad env name", { command: "ls", env: { "BAD NAME": "x" } }, "env.BAD NAME"],
  ["an env variable over Linux's limit", { command: "ls", env: { BIG: "x".repeat(MAX_ENV_ENTRY_BYTES) } }, "env.BIG"],
  ["stdin that is not a string", { command: "cat", stdin: { a: 1 } }, "stdin"],
  ["stdin over the limit", { command: "cat", stdin: "x".repeat(MAX_STDIN_BYTES + 1) }, "stdin"],
  ["a timeout of 0", { command: "ls", timeoutMs: 0 }, "timeoutMs"],
  ["a fractional timeout", { command: "ls", timeoutMs: 1.5 }, "timeoutMs"],
  ["a timeout given as a string", { command: "ls", timeoutMs: "5" }, "timeoutMs"],
  ["the former name timeout_ms", { command: "ls", timeout_ms: 100 }, "timeout_ms"],
  // The library also takes signal, image and id: the list of fields in the message differs.
  ["an unknown field", { command: "ls", surprise: 1 }, "surprise", { sameMessage: false }],
];

describe("the same invalid request over the library, HTTP and MCP", () => {
  it.each(cases)("%s is INVALID_REQUEST naming the same field everywhere", async (_name, request, field, options = {}) => {
    const [lib, http, tool] = await Promise.all([viaLibrary(request), viaHttp(request), viaMcp(request)]);
    for (const reported of [lib, http, tool]) {
      expect(reported).toMatchObject({ code: "INVALID_REQUEST", field });
      expect(reported.message).not.toContain("\n");
    }
    if (options.sameMessage !== false) {
      expect(sameWhere(http.message)).toBe(sameWhere(lib.message));
      expect(sameWhere(tool.message)).toBe(sameWhere(lib.message));
    } else {
      for (const reported of [lib, http, tool]) expect(reported.message).toContain(`"${field}"`);
    }
  });

  it("timeout_ms is refused with a pointer to timeoutMs, never ignored", async () => {
    const reported = await viaMcp({ command: "sleep 5", timeout_ms: 100 });
    expect(reported.message).toMatch(/"timeout_ms" was renamed "timeoutMs"/);
  });

  it("run_command advertises core's request schema as its input schema", async () => {
    const { tools } = await mcp.listTools();
    const run = tools.find((t) => t.name === "run_command");
    expect(run?.inputSchema).toEqual(requestJsonSchema());
    expect(run?.inputSchema).toMatchObject({ additionalProperties: false, required: ["command"] });
  });
});

describe("MCP keeps output as the library does", () => {
  it("the same command's stdout and stderr, over the same limit, are the same head, marker and tail", async () => {
    // Multi-byte characters around both cuts: neither keeps half a character.
    const command = `printf 'first-é-line\\n'; for i in $(seq 1 2000); do printf '€é%s\\n' $i; done; printf 'ünd-last\\n'; printf '%.0s€' $(seq 1 1000) >&2`;
    const lib = await library.run({ command, cwd: project.dir });
    const result = await mcp.callTool({ name: "run_command", arguments: { command, cwd: project.dir } });
    const out = result.structuredContent as { stdout: string; stderr: string; truncated: boolean };
    expect(lib.truncated).toBe(true);
    expect(out).toMatchObject({ stdout: lib.stdout, stderr: lib.stderr, truncated: true });
    for (const text of [lib.stdout, lib.stderr]) {
      expect(text).toMatch(/\n\[stigmer: \d+ bytes omitted\]\n/);
      expect(text).not.toContain("\uFFFD");
    }
    const omitted = Number(/\[stigmer: (\d+) bytes omitted\]/.exec(lib.stderr)?.[1]);
    const kept = Buffer.byteLength(lib.stderr) - Buffer.byteLength(`\n[stigmer: ${omitted} bytes omitted]\n`);
    expect(kept + omitted).toBe(lib.stderrBytes);
  });
});

describe("@stigmer/server loads the MCP SDK only when MCP is used", () => {
  it("importing it loads no SDK module; serving MCP does", async () => {
    const trace = join(project.dir, "imports.txt");
    const script = `
      const { readFileSync } = await import("node:fs");
      const sdk = () => readFileSync(process.env.STIGMER_TRACE_FILE, "utf8").split("\\n").filter((url) => url.includes("@modelcontextprotocol") || url.includes("/zod/")).length;
      const server = await import("@stigmer/server");
      const atImport = sdk();
      const { createExecutor, resolveConfig } = await import("@stigmer/core");
      await server.createMcpServer(createExecutor({ config: resolveConfig({ env: {} }), modules: {} }), { version: "test" });
      console.log(JSON.stringify({ atImport, afterCreate: sdk() }));`;
    const { stdout } = await execa(
      process.execPath,
      ["--import", join(repoRoot, "test/fixtures/trace-imports.mjs"), "--input-type=module", "-e", script],
      { cwd: join(repoRoot, "test"), env: { STIGMER_TRACE_FILE: trace } },
    );
    expect(JSON.parse(stdout)).toMatchObject({ atImport: 0, afterCreate: expect.any(Number) });
    expect(JSON.parse(stdout).afterCreate).toBeGreaterThan(0);
  });
});
