// The daytona backend through the real @daytonaio/sdk, against the local Daytona imitation
// (test/daytona-imitation): the core conformance suite, reuse by labels, TTL → auto-stop,
// persistent workspaces, cleanup, every error path, and secrets kept out of logs. The `sync`
// workspace (the project copied in, changes brought back) is tested in daytona-workspace.test.ts.

import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { DaytonaBackend } from "@stigmer/backend-daytona";
import { type Backend, createLogger, ErrorCode, executeOn, type Logger, resolveConfig, StigmerError } from "@stigmer/core";
import { runBackendConformance, stigmerErrorOf } from "@stigmer/core/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { daytonaSettings } from "./daytona-helpers.js";
import { type DaytonaImitation, startDaytonaImitation } from "./daytona-imitation/index.mjs";
import { capturingLogger, tempProject } from "./helpers.js";

let imitation: DaytonaImitation;

const MINUTE_MS = 400;

beforeAll(async () => {
  imitation = await startDaytonaImitation({ transitionMs: 20, minuteMs: MINUTE_MS, killGraceMs: 500 });
});
afterAll(async () => {
  const ids = new Set(imitation?.requests.flatMap((q) => /^\/toolbox\/([^/]+)\//.exec(q.path)?.[1] ?? []));
  await imitation?.close();
  // The imitation's sandboxes share the host's /tmp, where core's sync scripts keep their state.
  for (const id of ids)
    rmSync(join("/tmp/.stigmer-sync", createHash("sha256").update(id).digest("hex").slice(0, 16)), { recursive: true, force: true });
});

const projects: Array<{ cleanup(): void }> = [];
const backends: Backend[] = [];
afterEach(async () => {
  imitation.faults.clear();
  await Promise.allSettled(backends.splice(0).map((b) => b.dispose()));
  for (const p of projects.splice(0)) p.cleanup();
});

function project(): string {
  const p = tempProject();
  projects.push(p);
  return p.dir;
}

function backend(
  options: { env?: Record<string, string>; plugin?: Record<string, unknown>; logger?: Logger; cwd?: string; track?: boolean } = {},
): DaytonaBackend {
  const config = resolveConfig({
    env: {
      MODE: "cloud",
      DAYTONA_API_KEY: imitation.apiKey,
      DAYTONA_API_URL: imitation.apiUrl,
      STIGMER_SANDBOX_TTL: "3600",
      ...options.env,
    },
    cwd: options.cwd ?? "/",
  });
  const b = new DaytonaBackend(config, options.logger ?? createLogger({ level: "silent" }), {
    ...daytonaSettings(config),
    retryBaseDelayMs: 20,
    retryMaxDelayMs: 2000,
    killGraceMs: 300,
    ...options.plugin,
  });
  if (options.track !== false) backends.push(b);
  return b;
}

const requests = (method: string, route: RegExp) => imitation.requests.filter((r) => r.method === method && route.test(r.route));
const creates = () => requests("POST", /^\/sandbox$/);
const sandboxesOf = (cwd: string) =>
  imitation.sandboxes().filter((s) => s.labels["dev.stigmer.workspace-dir"] === cwd && s.state !== "destroyed");

// Left out, covered below instead:
// - env: its probe prints a value without a final newline, and Daytona's session log labels
//   output line by line, ending a last unterminated line with one (the daemon's behaviour).
runBackendConformance({
  name: "daytona (imitation)",
  create: () => backend({ track: false }),
  test: { describe, it, beforeAll, afterAll },
  skip: { env: true },
  timeoutScale: 3,
});

describe("daytona backend: sandboxes, reuse and lifetime", () => {
  it("creates one labelled sandbox, maps the TTL to auto-stop, and runs commands in ~/workspace with env", async () => {
    const cwd = project();
    const before = creates().length;
    const b = backend({ cwd, env: { STIGMER_SANDBOX_TTL: "90" } });
    const value = `two words|quote's "and" $dollar|ünï©ødé\nsecond line`;
    const r = await executeOn(b, {
      command: 'pwd; printf "%s\\n" "$GREETING"; test -z "$UNSET_VAR" && echo unset; echo oops >&2; exit 4',
      cwd,
      env: { GREETING: value },
    });
    expect(r).toMatchObject({ exitCode: 4, stderr: "oops\n" });
    const [pwd, ...rest] = r.stdout.split("\n");
    expect(pwd).toMatch(/\/home\/daytona\/workspace$/);
    expect(rest.join("\n")).toBe(`${value}\nunset\n`);
    expect(creates().length).toBe(before + 1);
    const body = creates().at(-1)?.body as Record<string, unknown>;
    // 90 s rounds up to 2 minutes; cleanup on: deleted as soon as it stops.
    expect(body).toMatchObject({
      autoStopInterval: 2,
      autoDeleteInterval: 0,
      buildInfo: { dockerfileContent: expect.stringContaining("FROM ghcr.io/stigmer/agent-sandbox-basic:latest") },
    });
    expect((body as { labels: Record<string, string> }).labels).toMatchObject({
      "dev.stigmer.managed-by": "stigmer",
      "dev.stigmer.workspace-dir": cwd,
      "dev.stigmer.cleanup": "true",
      "dev.stigmer.ttl-seconds": "90",
    });
    // A second command reuses the sandbox and a session.
    await executeOn(b, { command: "true", cwd });
    expect(creates().length).toBe(before + 1);
    expect(requests("POST", /\/process\/session$/).filter((q) => q.path.includes(sandboxesOf(cwd)[0]?.id ?? "none")).length).toBe(1);
  });

  it("DAYTONA_SNAPSHOT creates from a snapshot instead of the image", async () => {
    const cwd = project();
    const b = backend({ cwd, env: { DAYTONA_SNAPSHOT: "team-snapshot" } });
    expect((await executeOn(b, { command: "true", cwd })).exitCode).toBe(0);
    expect(creates().at(-1)?.body).toMatchObject({ snapshot: "team-snapshot" });
    expect(creates().at(-1)?.body).not.toHaveProperty("buildInfo");
  });

  it("cleanup deletes the sandboxes it created on dispose; STIGMER_SANDBOX_CLEANUP=false keeps a persistent workspace that a later executor finds by labels and restarts", async () => {
    const cwd = project();
    const first = backend({ cwd, env: { STIGMER_SANDBOX_CLEANUP: "false" } });
    await executeOn(first, { command: "echo kept > notes.txt", cwd });
    const [sandbox] = sandboxesOf(cwd);
    expect(sandbox).toBeDefined();
    expect(creates().at(-1)?.body).not.toHaveProperty("autoDeleteInterval");
    await first.dispose();
    expect(requests("DELETE", new RegExp(`^/sandbox/${sandbox?.id}$`))).toHaveLength(0);

    // Daytona auto-stopped it; the next executor for the same workspace starts it again.
    imitation.setState(sandbox?.id as string, "stopped");
    const before = creates().length;
    const second = backend({ cwd, env: { STIGMER_SANDBOX_CLEANUP: "false" } });
    const progress: string[] = [];
    const r = await executeOn(
      second,
      { command: "cat notes.txt", cwd },
      { onEvent: (e) => void (e.type === "progress" && progress.push(e.message)) },
    );
    expect(r.stdout).toBe("kept\n");
    expect(creates().length).toBe(before);
    expect(requests("POST", new RegExp(`^/sandbox/${sandbox?.id}/start$`))).toHaveLength(1);
    expect(progress.join("\n")).toMatch(/Starting the stopped Daytona sandbox/);
    await second.dispose();
    // It did not create it, so it does not delete it even with cleanup on for the third one.
    const third = backend({ cwd });
    await executeOn(third, { command: "true", cwd });
    await third.dispose();
    expect(imitation.sandbox(sandbox?.id as string)?.state).toBe("started");

    // stigmer sandbox ls / rm through the SandboxManager.
    const manager = backend();
    const listed = await manager.sandboxes.list();
    expect(listed.find((s) => s.id === sandbox?.id)).toMatchObject({ backend: "daytona", state: "started", workspace: cwd });
    await manager.sandboxes.remove(sandbox?.id as string);
    expect(["destroyed", "destroying", undefined]).toContain(imitation.sandbox(sandbox?.id as string)?.state);
    expect((await stigmerErrorOf(manager.sandboxes.remove("no-such-sandbox"))).code).toBe(ErrorCode.NOT_FOUND);

    // With cleanup on, dispose deletes what it created.
    const cwd2 = project();
    const owner = backend({ cwd: cwd2 });
    await executeOn(owner, { command: "true", cwd: cwd2 });
    const [made] = sandboxesOf(cwd2);
    await owner.dispose();
    expect(requests("DELETE", new RegExp(`^/sandbox/${made?.id}$`))).toHaveLength(1);
  });

  it("STIGMER_SANDBOX_TTL=0 keeps nothing: the sandbox is deleted after the command", async () => {
    const cwd = project();
    const b = backend({ cwd, env: { STIGMER_SANDBOX_TTL: "0" } });
    await executeOn(b, { command: "true", cwd });
    const made = creates().at(-1);
    expect(made?.body).toMatchObject({ autoStopInterval: 1 });
    await expect.poll(() => sandboxesOf(cwd).length, { timeout: 5000 }).toBe(0);
  });

  it("an auto-stopped sandbox is started again, and one deleted from outside is recreated once, transparently", async () => {
    const cwd = project();
    // Cleanup off: with it on, Daytona deletes a sandbox as soon as it auto-stops (autoDeleteInterval 0).
    const b = backend({ cwd, env: { STIGMER_SANDBOX_TTL: "60", STIGMER_SANDBOX_CLEANUP: "false" } });
    // n is in the project (it comes back to the host); ~/outside only in the sandbox's home.
    await executeOn(b, { command: "echo 1 > n; echo kept > ~/outside", cwd });
    const [sandbox] = sandboxesOf(cwd);
    // One scaled minute of idleness: the imitation auto-stops it, as Daytona would.
    await expect.poll(() => imitation.sandbox(sandbox?.id as string)?.state, { timeout: 5000, interval: 50 }).toBe("stopped");
    const before = creates().length;
    expect((await executeOn(b, { command: "cat n ~/outside", cwd })).stdout).toBe("1\nkept\n");
    expect(creates().length).toBe(before);

    // Deleted from outside: the next command gets a new sandbox, with the project copied in again.
    await backend().sandboxes.remove(sandbox?.id as string);
    const r = await executeOn(b, { command: "cat n; test -e ~/outside && echo old || echo fresh", cwd });
    expect(r).toMatchObject({ exitCode: 0, stdout: "1\nfresh\n" });
    expect(creates().length).toBe(before + 1);
    for (const s of sandboxesOf(cwd)) await backend().sandboxes.remove(s.id);
  });

  it("with cleanup on, a sandbox left behind (owner gone without disposing) is deleted once it auto-stops", async () => {
    const cwd = project();
    const b = backend({ cwd, env: { STIGMER_SANDBOX_TTL: "60" }, track: false });
    await executeOn(b, { command: "true", cwd });
    const [sandbox] = sandboxesOf(cwd);
    expect(sandbox?.autoDeleteInterval).toBe(0);
    // Not disposed, as after kill -9: one idle TTL (a scaled minute) later it is gone.
    await expect
      .poll(() => imitation.sandbox(sandbox?.id as string)?.state ?? "gone", { timeout: 5000, interval: 50 })
      .toMatch(/^(destroyed|gone)$/);
    await b.dispose();
  });
});

describe("daytona backend: errors", () => {
  it("a missing DAYTONA_API_KEY is INVALID_CONFIG saying what to set", () => {
    const config = resolveConfig({ env: { MODE: "cloud" }, cwd: "/" });
    try {
      new DaytonaBackend(config, createLogger({ level: "silent" }), daytonaSettings(config));
      expect.unreachable();
    } catch (error) {
      expect((error as StigmerError).code).toBe(ErrorCode.INVALID_CONFIG);
      expect((error as StigmerError).message).toMatch(/set DAYTONA_API_KEY/);
    }
  });

  it("a rejected key is BACKEND_UNAVAILABLE telling to check the key, which appears in no message and no log", async () => {
    const cwd = project();
    const { logger, raw } = capturingLogger("debug");
    const b = backend({ cwd, env: { DAYTONA_API_KEY: "dtn_wrong_key_123456" }, logger });
    const error = await stigmerErrorOf(executeOn(b, { command: "true", cwd }));
    expect(error.code).toBe(ErrorCode.BACKEND_UNAVAILABLE);
    expect(error.message).toMatch(/rejected the API key.*check DAYTONA_API_KEY/);
    expect(error.details).toMatchObject({ status: 401, reason: "unauthorized" });
    expect(JSON.stringify({ message: error.message, details: error.details, raw })).not.toContain("dtn_wrong_key_123456");
  });

  it("429 with retry-after is retried after the time Daytona asks for, then succeeds", async () => {
    const cwd = project();
    const before = creates().length;
    imitation.faults.add({ method: "POST", path: /^\/sandbox$/, kind: "api", status: 429, headers: { "retry-after": "1" }, times: 2 });
    const b = backend({ cwd });
    expect((await executeOn(b, { command: "echo ok", cwd })).stdout).toBe("ok\n");
    const attempts = creates().slice(before);
    expect(attempts.map((r) => r.status)).toEqual([429, 429, 200]);
    // retry-after: 1 → about a second between attempts (the cap is 2 s in this test).
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(900);
  });

  it("5xx that does not stop is BACKEND_UNAVAILABLE after a bounded number of retries", async () => {
    const cwd = project();
    const before = requests("GET", /^\/sandbox$/).length;
    imitation.faults.add({ method: "GET", path: /^\/sandbox$/, kind: "api", status: 503, times: Number.POSITIVE_INFINITY });
    const b = backend({ cwd, plugin: { retries: 3 } });
    const error = await stigmerErrorOf(executeOn(b, { command: "true", cwd }));
    expect(error.code).toBe(ErrorCode.BACKEND_UNAVAILABLE);
    expect(error.message).toMatch(/Daytona is failing .*503/);
    expect(requests("GET", /^\/sandbox$/).length - before).toBe(4);
  });

  it("a 500 on starting the command is not retried (it may have run) and is reported", async () => {
    const cwd = project();
    const b = backend({ cwd });
    await executeOn(b, { command: "true", cwd });
    const before = requests("POST", /\/exec$/).length;
    imitation.faults.add({ method: "POST", path: /\/exec$/, kind: "toolbox", status: 500 });
    const error = await stigmerErrorOf(executeOn(b, { command: "echo once >> runs", cwd }));
    expect(error.code).toBe(ErrorCode.BACKEND_UNAVAILABLE);
    expect(requests("POST", /\/exec$/).length - before).toBe(1);
  });

  it.each([
    ["error", "out of capacity in region", ErrorCode.BACKEND_UNAVAILABLE],
    ["build_failed", "pull access denied for no/such-image", ErrorCode.IMAGE_NOT_FOUND],
  ] as const)("creation ending in %s reports Daytona's errorReason and deletes the sandbox", async (state, reason, code) => {
    const cwd = project();
    imitation.nextCreate({ finalState: state, errorReason: reason });
    const b = backend({ cwd, env: { DAYTONA_API_KEY: imitation.apiKey } });
    const error = await stigmerErrorOf(executeOn(b, { command: "true", cwd }));
    expect(error.code).toBe(code);
    expect(error.message).toContain(reason);
    await expect.poll(() => sandboxesOf(cwd).length, { timeout: 5000 }).toBe(0);
  });

  it("creation that never reaches started is a TIMEOUT naming the last state, and the sandbox is deleted", async () => {
    const cwd = project();
    imitation.nextCreate({ finalState: "creating" });
    const b = backend({ cwd, plugin: { createTimeoutSeconds: 1 } });
    const error = await stigmerErrorOf(executeOn(b, { command: "true", cwd }));
    expect(error.code).toBe(ErrorCode.TIMEOUT);
    expect(error.message).toMatch(/did not reach "started" within 1 s \(last state: creating/);
    await expect.poll(() => sandboxesOf(cwd).length, { timeout: 5000 }).toBe(0);
  });

  it("an unreachable API is BACKEND_UNAVAILABLE naming the URL, without hanging", async () => {
    const cwd = project();
    const b = backend({ cwd, env: { DAYTONA_API_URL: "http://127.0.0.1:9/api" }, plugin: { retries: 1, events: false } });
    const error = await stigmerErrorOf(executeOn(b, { command: "true", cwd }));
    expect(error.code).toBe(ErrorCode.BACKEND_UNAVAILABLE);
    expect(error.message).toMatch(/Cannot reach the Daytona API at http:\/\/127\.0\.0\.1:9\/api/);
  });

  it("a log stream dropped mid-command is followed again: output complete, in order, once", async () => {
    const cwd = project();
    const b = backend({ cwd });
    await executeOn(b, { command: "true", cwd });
    imitation.faults.add({ path: /\/logs$/, kind: "toolbox", drop: true, dropAfterBytes: 200 });
    const r = await executeOn(b, { command: "for i in $(seq 1 60); do echo line-$i; echo err-$i >&2; sleep 0.01; done; exit 5", cwd });
    expect(r.exitCode).toBe(5);
    expect(r.stdout).toBe(Array.from({ length: 60 }, (_, i) => `line-${i + 1}\n`).join(""));
    expect(r.stderr).toBe(Array.from({ length: 60 }, (_, i) => `err-${i + 1}\n`).join(""));
    // The fault was used: the stream really was cut and followed again.
    expect(imitation.faults.pending).toHaveLength(0);
    expect(imitation.requests.filter((q) => q.websocket && /\/logs$/.test(q.route)).length).toBeGreaterThanOrEqual(3);
  });

  it("commands of 128 KiB to 1 MiB run whole (the command text is never one argument: Linux refuses one over 128 KiB)", async () => {
    const cwd = project();
    const b = backend({ cwd });
    for (const size of [200 * 1024, 1024 * 1024 - 64]) {
      // A marker line in the middle that a here-document would end at, quotes and a final newline.
      const command = `x='${"a".repeat(size - 120)}'\nSTIGMER_EOF\necho "len=\${#x}" "$0" "$#"; printf '%s\\n' "it's" '$HOME'\n`;
      const r = await executeOn(b, { command, cwd, stdin: "in" });
      expect(r).toMatchObject({ exitCode: 0 });
      expect(r.stdout).toBe(`len=${size - 120} bash 0\nit's\n$HOME\n`);
    }
  });

  it("request env values never reach the logs", async () => {
    const cwd = project();
    const { logger, raw } = capturingLogger("debug");
    const b = backend({ cwd, logger });
    const r = await executeOn(b, { command: 'test "$TOKEN" = tok-s3cr3t-42 && echo match', cwd, env: { TOKEN: "tok-s3cr3t-42" } });
    expect(r.stdout).toBe("match\n");
    expect(raw.length).toBeGreaterThan(0);
    expect(raw.join("\n")).not.toContain("tok-s3cr3t-42");
    expect(raw.join("\n")).not.toContain(imitation.apiKey);
  });
});
