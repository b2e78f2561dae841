// Faults of the cloud backend that must end cleanly, through the real @daytonaio/sdk against the
// local Daytona imitation (real HTTP and WebSockets on loopback, no mocks): a log WebSocket that
// cannot be opened, an API that refuses connections, and keys inside DAYTONA_API_URL.

import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { DaytonaBackend } from "@stigmer/backend-daytona";
import { createLogger, ErrorCode, executeOn, type Logger, resolveConfig, StigmerError } from "@stigmer/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type DaytonaImitation, startDaytonaImitation } from "./daytona-imitation/index.mjs";
import { tempProject } from "./helpers.js";

let imitation: DaytonaImitation;

beforeAll(async () => {
  imitation = await startDaytonaImitation({ transitionMs: 20, killGraceMs: 500 });
});
afterAll(async () => {
  const ids = new Set(imitation?.requests.flatMap((q) => /^\/toolbox\/([^/]+)\//.exec(q.path)?.[1] ?? []));
  await imitation?.close();
  // The imitation's sandboxes share the host's /tmp, where core's sync scripts keep their state.
  for (const id of ids)
    rmSync(join("/tmp/.stigmer-sync", createHash("sha256").update(id).digest("hex").slice(0, 16)), { recursive: true, force: true });
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  imitation.faults.clear();
  await Promise.allSettled(cleanups.splice(0).map((c) => c()));
});

function project(): string {
  const p = tempProject();
  cleanups.push(() => p.cleanup());
  return p.dir;
}

function backend(options: {
  env?: Record<string, string>;
  plugin?: Record<string, unknown>;
  logger?: Logger;
  cwd: string;
}): DaytonaBackend {
  const config = resolveConfig({
    env: { MODE: "cloud", DAYTONA_API_KEY: imitation.apiKey, DAYTONA_API_URL: imitation.apiUrl, ...options.env },
    cwd: options.cwd,
  });
  const b = new DaytonaBackend(config, options.logger ?? createLogger({ level: "silent" }), {
    retryBaseDelayMs: 20,
    retryMaxDelayMs: 200,
    killGraceMs: 300,
    ...options.plugin,
  });
  cleanups.push(() => b.dispose());
  return b;
}

async function stigmerError(promise: Promise<unknown>): Promise<StigmerError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!("error" in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  expect(StigmerError.isInstance(outcome.error)).toBe(true);
  return outcome.error as StigmerError;
}

const logSockets = () => imitation.requests.filter((q) => q.websocket && /\/logs$/.test(q.route));
const storedLogReads = () =>
  imitation.requests.filter((q) => !q.websocket && q.method === "GET" && /\/command\/[^/]+\/logs$/.test(q.route));

const lines = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i + 1}\n`).join("");

describe("daytona: the log WebSocket cannot be opened", () => {
  it("a short command's output comes from the stored log: complete, not truncated, exit code kept", async () => {
    const cwd = project();
    const b = backend({ cwd });
    await executeOn(b, { command: "true", cwd }); // the sandbox exists; only the log stream fails below
    const sockets = logSockets().length;
    // Daytona's proxy answers 502 when it cannot reach the sandbox's daemon for the upgrade.
    imitation.faults.add({ path: /\/logs$/, kind: "toolbox", websocket: true, status: 502, times: Number.POSITIVE_INFINITY });
    const r = await executeOn(b, { command: `echo out-1; echo err-1 >&2; printf 'out-2\\nout-3\\n'; exit 3`, cwd });
    expect(r).toMatchObject({ exitCode: 3, stdout: "out-1\nout-2\nout-3\n", stderr: "err-1\n", truncated: false });
    // The WebSocket really was refused (each attempt answered 502), and the stored log was read.
    const refused = logSockets().slice(sockets);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.every((q) => q.status === 502)).toBe(true);
    expect(storedLogReads().length).toBeGreaterThanOrEqual(1);
  });

  it("a socket accepted then closed at once (1011) is not taken as the end of the output", async () => {
    const cwd = project();
    const b = backend({ cwd });
    imitation.faults.add({ path: /\/logs$/, kind: "toolbox", websocket: true, closeCode: 1011, times: Number.POSITIVE_INFINITY });
    const r = await executeOn(b, { command: `for i in $(seq 1 5); do echo line-$i; done; echo bad >&2; exit 4`, cwd });
    expect(r).toMatchObject({ exitCode: 4, stdout: lines("line", 5), stderr: "bad\n", truncated: false });
  });

  it("a command that outlives the reconnects is followed through the stored log instead of being stopped", async () => {
    const cwd = project();
    const b = backend({ cwd });
    imitation.faults.add({ path: /\/logs$/, kind: "toolbox", websocket: true, status: 502, times: Number.POSITIVE_INFINITY });
    const chunks: string[] = [];
    const r = await executeOn(
      b,
      { command: "for i in $(seq 1 40); do echo line-$i; echo err-$i >&2; sleep 0.1; done; exit 7", cwd },
      { onEvent: (e) => e.type === "stdout" && chunks.push(e.data) },
    );
    expect(r).toMatchObject({ exitCode: 7, signal: null, stdout: lines("line", 40), stderr: lines("err", 40), truncated: false });
    // Output arrived while the command ran (several batches), not only at its end.
    expect(chunks.length).toBeGreaterThan(1);
  });

  it("when the stored log cannot be read either, the command fails with EXECUTION_FAILED saying the output is lost and what to check", async () => {
    const cwd = project();
    const b = backend({ cwd, plugin: { retries: 1 } });
    imitation.faults.add({ path: /\/logs$/, kind: "toolbox", websocket: true, status: 502, times: Number.POSITIVE_INFINITY });
    imitation.faults.add({ path: /\/logs$/, kind: "toolbox", websocket: false, status: 502, times: Number.POSITIVE_INFINITY });
    const error = await stigmerError(executeOn(b, { command: "echo lost; exit 3", cwd }));
    expect(error.code).toBe(ErrorCode.EXECUTION_FAILED);
    expect(error.message).toMatch(/ended with exit code 3.*output could not be read/);
    expect(error.message).toMatch(/WebSocket/);
    expect(error.message).toMatch(/run the command again/);
    expect(error.details).toMatchObject({ reason: "output-unavailable", exitCode: 3 });
  });
});
