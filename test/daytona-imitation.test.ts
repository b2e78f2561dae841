// Drives the real @daytonaio/sdk 0.218.0 against the local Daytona imitation
// (test/daytona-imitation): if these pass, the imitation speaks the SDK's protocol.

import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Daytona,
  DaytonaAuthenticationError,
  DaytonaConnectionError,
  DaytonaError,
  DaytonaNotFoundError,
  DaytonaRateLimitError,
  DaytonaServiceUnavailableError,
  DaytonaTimeoutError,
  type Sandbox,
} from "@daytonaio/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DaytonaImitation, startDaytonaImitation } from "./daytona-imitation/index.mjs";

const MINUTE_MS = 300;
let imitation: DaytonaImitation;
const clients: Daytona[] = [];

function client(options: { apiKey?: string; polling?: boolean } = {}): Daytona {
  const daytona = new Daytona({
    apiKey: options.apiKey ?? imitation.apiKey,
    apiUrl: imitation.apiUrl,
    target: "us",
    requestTimeoutMs: 15_000,
    ...(options.polling ? { useDeprecatedPolling: true } : {}),
  });
  clients.push(daytona);
  return daytona;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return predicate();
}

const getsOf = (id: string, since: number) =>
  imitation.requests.filter((r) => r.method === "GET" && r.path === `/api/sandbox/${id}` && r.at >= since).length;

let shared: Sandbox;
let daytona: Daytona;

beforeAll(async () => {
  imitation = await startDaytonaImitation({ minuteMs: MINUTE_MS, transitionMs: 50 });
  daytona = client();
  // Never auto-stopped: a "minute" is scaled down in this file, and a loaded machine must not stop it between tests.
  shared = await daytona.create({ labels: { suite: "imitation", role: "shared" }, autoStopInterval: 0 }, { timeout: 10 });
});

afterAll(async () => {
  for (const c of clients) await c[Symbol.asyncDispose]();
  const pids = imitation.sandboxes().flatMap((s) => imitation.sandbox(s.id)?.pids ?? []);
  const root = shared ? imitation.sandbox(shared.id)?.rootDir : undefined;
  await imitation.close();
  // nothing survives close(): processes and temp dirs
  for (const pid of pids) expect(alive(pid)).toBe(false);
  if (root) expect(existsSync(root)).toBe(false);
});

describe("sandbox lifecycle", () => {
  it("creates a sandbox with labels and waits for started via socket.io events", async () => {
    const since = Date.now();
    const sandbox = await daytona.create({ labels: { suite: "imitation", kind: "events" }, envVars: { FOO: "bar" } }, { timeout: 10 });
    expect(sandbox.state).toBe("started");
    expect(sandbox.labels).toMatchObject({ suite: "imitation", kind: "events", "code-toolbox-language": "python" });
    expect(sandbox.env).toEqual({ FOO: "bar" });
    expect(sandbox.toolboxProxyUrl).toBe(imitation.toolboxProxyUrl);
    // With events the SDK polls only as a 1 s safety net: one immediate GET, the event did the rest.
    expect(getsOf(sandbox.id, since)).toBeLessThanOrEqual(1);
    const create = imitation.requests.find((r) => r.method === "POST" && r.path === "/api/sandbox" && r.at >= since);
    expect(create?.headers.authorization).toBe(`Bearer ${imitation.apiKey}`);
    expect(create?.body).toMatchObject({ env: { FOO: "bar" }, target: "us" });
    expect(imitation.requests.some((r) => r.path === "/api/socket.io/" && r.websocket)).toBe(true);
    await sandbox.delete();
  });

  it("creates and waits with useDeprecatedPolling (GET polling)", async () => {
    const polling = client({ polling: true });
    const since = Date.now();
    const sandbox = await polling.create({ snapshot: "my-snap", labels: { suite: "imitation", kind: "polling" } }, { timeout: 10 });
    expect(sandbox.state).toBe("started");
    expect(sandbox.snapshot).toBe("my-snap");
    expect(getsOf(sandbox.id, since)).toBeGreaterThanOrEqual(1);
    await sandbox.stop();
    expect(sandbox.state).toBe("stopped");
    await sandbox.start();
    expect(sandbox.state).toBe("started");
    await polling.delete(sandbox);
  });

  it("creates from an image (buildInfo) with resources", async () => {
    const since = Date.now();
    const sandbox = await daytona.create({ image: "node:20", resources: { cpu: 2, memory: 4, disk: 5 } }, { timeout: 10 });
    const create = imitation.requests.find((r) => r.method === "POST" && r.path === "/api/sandbox" && r.at >= since);
    expect(create?.body).toMatchObject({ buildInfo: { dockerfileContent: "FROM node:20\n" }, cpu: 2, memory: 4, disk: 5 });
    expect(sandbox.cpu).toBe(2);
    expect(sandbox.buildInfo?.dockerfileContent).toBe("FROM node:20\n");
    await sandbox.delete();
  });

  it("rejects resources with a snapshot like the API (400)", async () => {
    // the SDK's types forbid this combination; a JavaScript caller can still send it
    const params = { snapshot: "s", resources: { cpu: 2 } } as unknown as Parameters<Daytona["create"]>[0];
    await expect(daytona.create(params)).rejects.toThrow(/Cannot specify Sandbox resources/);
  });

  it("lists by labels across several pages, gets, and 404s", async () => {
    const made = await Promise.all([1, 2, 3, 4, 5].map((i) => daytona.create({ labels: { suite: "paging", n: String(i) } })));
    const since = Date.now();
    const seen: string[] = [];
    for await (const s of daytona.list({ labels: { suite: "paging" }, limit: 2 })) seen.push(s.id);
    expect(seen.sort()).toEqual(made.map((s) => s.id).sort());
    const pages = imitation.requests.filter((r) => r.method === "GET" && r.path === "/api/sandbox" && r.at >= since);
    expect(pages).toHaveLength(3);
    expect(pages[0]?.query).toMatchObject({ limit: "2", labels: JSON.stringify({ suite: "paging" }) });
    expect(pages[1]?.query.cursor).toBeTruthy();

    const stopped: string[] = [];
    await made[0]!.stop();
    for await (const s of daytona.list({ labels: { suite: "paging" }, states: ["stopped"] as never })) stopped.push(s.id);
    expect(stopped).toEqual([made[0]!.id]);

    const got = await daytona.get(made[1]!.id);
    expect(got.labels.n).toBe("2");
    expect(got.env).toEqual({});
    await expect(daytona.get("no-such-sandbox")).rejects.toBeInstanceOf(DaytonaNotFoundError);
    await expect(daytona.get("no-such-sandbox")).rejects.toThrow("Sandbox with ID or name no-such-sandbox not found");

    for (const s of made) await s.delete(60, true);
    expect(imitation.sandboxes().filter((s) => s.labels.suite === "paging")).toEqual([]);
  });

  it("stops a sandbox after the scaled auto-stop interval, keeping its files", async () => {
    const sandbox = await daytona.create({ autoStopInterval: 1 }, { timeout: 10 });
    await sandbox.fs.uploadFile(Buffer.from("kept"), "keep.txt");
    expect(imitation.sandbox(sandbox.id)?.state).toBe("started");
    expect(await waitFor(() => imitation.sandbox(sandbox.id)?.state === "stopped", 3000)).toBe(true);
    await sandbox.refreshData();
    expect(sandbox.state).toBe("stopped");
    await expect(sandbox.process.executeCommand("true")).rejects.toThrow(/Is the Sandbox started/);
    await sandbox.start();
    expect((await sandbox.fs.downloadFile("keep.txt")).toString()).toBe("kept");
    await sandbox.delete();
  });

  it("surfaces a create that ends in error with its errorReason", async () => {
    imitation.nextCreate({ finalState: "error", errorReason: "snapshot pull failed: manifest unknown" });
    const polling = client({ polling: true });
    await expect(polling.create({}, { timeout: 10 })).rejects.toThrow(/error reason: snapshot pull failed: manifest unknown/);
    imitation.nextCreate({ finalState: "build_failed", errorReason: "Dockerfile step 3 failed" });
    await expect(daytona.create({ image: "broken" }, { timeout: 10 })).rejects.toThrow(DaytonaError);
  });

  it("times out a create that never starts", async () => {
    imitation.nextCreate({ finalState: "creating" });
    const started = Date.now();
    const error = await daytona.create({}, { timeout: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DaytonaTimeoutError);
    expect(String(error)).toMatch(/Failed to create and start sandbox within 1 seconds/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe("errors and faults", () => {
  it("answers 401 to a wrong key (DaytonaAuthenticationError)", async () => {
    const wrong = client({ apiKey: "wrong-key", polling: true });
    const error = await wrong.get(shared.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DaytonaAuthenticationError);
    expect((error as DaytonaError).statusCode).toBe(401);
  });

  it("injects a 429 with retry-after (DaytonaRateLimitError with headers)", async () => {
    imitation.faults.add({ method: "GET", path: `/sandbox/${shared.id}`, status: 429, headers: { "retry-after": "1" } });
    const error = await daytona.get(shared.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DaytonaRateLimitError);
    expect((error as DaytonaError).headers?.["retry-after"]).toBe("1");
    expect((await daytona.get(shared.id)).id).toBe(shared.id);
  });

  it("injects a 503 on a toolbox call (DaytonaServiceUnavailableError)", async () => {
    imitation.faults.add({ path: "/process/execute", status: 503 });
    await expect(shared.process.executeCommand("true")).rejects.toBeInstanceOf(DaytonaServiceUnavailableError);
  });

  it("drops connections (DaytonaConnectionError after the SDK's retries)", async () => {
    const fault = imitation.faults.add({ method: "GET", path: `/sandbox/${shared.id}`, drop: true, times: 3 });
    const error = await daytona.get(shared.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DaytonaConnectionError);
    expect(fault.times).toBe(0);
    // a single drop is absorbed by the SDK's own retry of idempotent requests
    imitation.faults.add({ method: "GET", path: `/sandbox/${shared.id}`, drop: true });
    expect((await daytona.get(shared.id)).id).toBe(shared.id);
  });
});

describe("process and sessions", () => {
  it("executeCommand combines stdout and stderr, honours cwd and env, and times out with 408", async () => {
    const result = await shared.process.executeCommand("echo out; echo err >&2; echo $GREETING; pwd; exit 3", "sub", { GREETING: "hi" });
    expect(result.exitCode).toBe(-1);
    expect(result.result).toMatch(/chdir sub: no such file or directory/);
    await shared.fs.createFolder("sub", "755");
    const ok = await shared.process.executeCommand("echo out; echo err >&2; echo $GREETING; pwd; exit 3", "sub", { GREETING: "hi" });
    expect(ok.exitCode).toBe(3);
    expect(ok.result).toBe(`out\nerr\nhi\n${imitation.sandbox(shared.id)?.homeDir}/sub\n`);
    const error = await shared.process.executeCommand("sleep 5", undefined, undefined, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DaytonaTimeoutError);
    expect((error as DaytonaError).statusCode).toBe(408);
  });

  it("executeCommand: a client that drops the connection has the command's process group killed, and gets no answer", async () => {
    const controller = new AbortController();
    const request = fetch(`${imitation.toolboxProxyUrl}/${shared.id}/process/execute`, {
      method: "POST",
      headers: { authorization: `Bearer ${imitation.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ command: "sleep 300 & echo $! > dropped-exec.pid; wait" }),
      signal: controller.signal,
    }).catch((e: unknown) => e);
    const pidFile = join(imitation.sandbox(shared.id)?.homeDir as string, "dropped-exec.pid");
    expect(await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() !== "")).toBe(true);
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(alive(pid)).toBe(true);
    controller.abort();
    expect(await request).toBeInstanceOf(Error);
    expect(await waitFor(() => !alive(pid))).toBe(true);
    const logged = imitation.requests.filter(
      (r) => r.route === `/${shared.id}/process/execute` && r.body && JSON.stringify(r.body).includes("dropped-exec"),
    );
    expect(logged.at(-1)?.status).toBe(0);
  });

  it("runs session commands in one persistent shell (state carries over), sync results demuxed", async () => {
    await shared.process.createSession("state");
    await expect(shared.process.createSession("state")).rejects.toThrow(/session already exists/);
    const first = await shared.process.executeSessionCommand("state", { command: "cd /tmp && export X=42; echo done; echo warn >&2" });
    expect(first).toMatchObject({ exitCode: 0, stdout: "done\n", stderr: "warn\n" });
    // the daemon's two line labelers append to one log file: stdout/stderr order across streams is not guaranteed
    expect([...(first.output ?? "")].sort().join("")).toBe([..."\x01\x01\x01done\n\x02\x02\x02warn\n"].sort().join(""));
    const second = await shared.process.executeSessionCommand("state", { command: "echo $PWD $X; false" });
    expect(second).toMatchObject({ exitCode: 1, stdout: "/tmp 42\n" });
    const session = await shared.process.getSession("state");
    expect(session.commands.map((c) => c.exitCode)).toEqual([0, 1]);
    expect((await shared.process.listSessions()).map((s) => s.sessionId)).toContain("state");
    await shared.process.deleteSession("state");
    await expect(shared.process.getSession("state")).rejects.toBeInstanceOf(DaytonaNotFoundError);
  });

  it("streams an async command's stdout and stderr separately and live, then reports its exit code", async () => {
    await shared.process.createSession("stream");
    const { cmdId } = await shared.process.executeSessionCommand("stream", {
      command: "echo one; echo oops >&2; sleep 1; echo two; exit_code=7; (exit $exit_code)",
      runAsync: true,
    });
    expect(cmdId).toBeTruthy();
    expect((await shared.process.getSessionCommand("stream", cmdId!)).exitCode).toBeUndefined();
    const events: { stream: string; text: string; at: number; running: boolean }[] = [];
    let running = true;
    const done = shared.process.getSessionCommandLogs(
      "stream",
      cmdId!,
      (text) => events.push({ stream: "out", text, at: Date.now(), running }),
      (text) => events.push({ stream: "err", text, at: Date.now(), running }),
    );
    await waitFor(() => events.length >= 2, 3000);
    const command = await shared.process.getSessionCommand("stream", cmdId!);
    running = command.exitCode === undefined;
    expect(running).toBe(true); // output arrived while the command was still running
    await done;
    expect(
      events
        .filter((e) => e.stream === "out")
        .map((e) => e.text)
        .join(""),
    ).toBe("one\ntwo\n");
    expect(
      events
        .filter((e) => e.stream === "err")
        .map((e) => e.text)
        .join(""),
    ).toBe("oops\n");
    expect((await shared.process.getSessionCommand("stream", cmdId!)).exitCode).toBe(7);
    const logs = await shared.process.getSessionCommandLogs("stream", cmdId!);
    expect(logs).toMatchObject({ stdout: "one\ntwo\n", stderr: "oops\n" });
    const upgrade = imitation.requests.find((r) => r.websocket && r.path.endsWith(`/command/${cmdId}/logs`));
    expect(upgrade).toMatchObject({ status: 101, query: { follow: "true" } });
    expect(upgrade?.headers.authorization).toBe(`Bearer ${imitation.apiKey}`);
  });

  it("sends input to a running async command", async () => {
    await shared.process.createSession("input");
    const { cmdId } = await shared.process.executeSessionCommand("input", { command: "read line; echo got:$line", runAsync: true });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await shared.process.sendSessionCommandInput("input", cmdId!, "hello");
    let exitCode: number | undefined;
    for (let i = 0; i < 50 && exitCode === undefined; i++) {
      exitCode = (await shared.process.getSessionCommand("input", cmdId!)).exitCode;
      if (exitCode === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(exitCode).toBe(0);
    // the input is echoed into the log as stdout (racing the command's own output, as in the daemon)
    const logs = await shared.process.getSessionCommandLogs("input", cmdId!);
    expect(logs?.stdout?.split("\n").sort()).toEqual(["", "got:hello", "hello"]);
  });

  it("deleting a session kills the running command's whole process tree", async () => {
    await shared.process.createSession("victim");
    const { cmdId } = await shared.process.executeSessionCommand("victim", {
      command: "sleep 300 & (sleep 301 & sleep 302) & setsid sleep 303 & echo started; wait",
      runAsync: true,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const pids = imitation.sandbox(shared.id)?.sessionPids.victim ?? [];
    const sleeps = pids.filter((pid) => {
      try {
        return /^sleep 30[0-3]/.test(readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " "));
      } catch {
        return false;
      }
    });
    expect(sleeps.length).toBe(4);
    const stream = shared.process.getSessionCommandLogs(
      "victim",
      cmdId!,
      () => {},
      () => {},
    );
    await shared.process.deleteSession("victim");
    await stream; // the follow stream closes when the session goes
    const survivors = pids.filter(alive).map((pid) => `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, "utf8")}`);
    expect(survivors).toEqual([]);
  });

  it("rejects a dropped log stream mid-way by closing the socket", async () => {
    await shared.process.createSession("drop");
    const { cmdId } = await shared.process.executeSessionCommand("drop", { command: "seq 1 2000" });
    imitation.faults.add({ path: "/logs", drop: true, dropAfterBytes: 100 });
    let received = "";
    await shared.process.getSessionCommandLogs(
      "drop",
      cmdId!,
      (t) => {
        received += t;
      },
      () => {},
    );
    // 100 bytes of log including the 3-byte stream markers, then the connection was cut
    expect(received.length).toBeGreaterThan(20);
    expect(received.length).toBeLessThan(100);
    let full = "";
    await shared.process.getSessionCommandLogs(
      "drop",
      cmdId!,
      (t) => {
        full += t;
      },
      () => {},
    );
    expect(full.split("\n").filter(Boolean)).toHaveLength(2000);
  });
});

describe("files", () => {
  it("uploads and downloads files (relative to HOME, absolute under the sandbox root)", async () => {
    await shared.fs.uploadFile(Buffer.from("hello\n"), "nested/dir/hello.txt");
    const info = imitation.sandbox(shared.id)!;
    expect(readFileSync(join(info.homeDir, "nested/dir/hello.txt"), "utf8")).toBe("hello\n");
    expect((await shared.fs.downloadFile("nested/dir/hello.txt")).toString()).toBe("hello\n");
    const cat = await shared.process.executeCommand("cat nested/dir/hello.txt");
    expect(cat.result).toBe("hello\n");
    await shared.fs.uploadFile(Buffer.from("abs"), "/etc/app.conf");
    expect(readFileSync(join(info.rootDir, "etc/app.conf"), "utf8")).toBe("abs");
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    await shared.fs.uploadFile(big, "big.bin");
    expect((await shared.fs.downloadFile("big.bin")).equals(big)).toBe(true);
    const error = await shared.fs.downloadFile("missing.txt").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DaytonaNotFoundError);
    expect((error as DaytonaError).code).toBe("FILE_NOT_FOUND");
  });

  it("binary content round-trips exactly: upload from a local file, stream the download, delete", async () => {
    const info = imitation.sandbox(shared.id)!;
    const bytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(5 * 1024 * 1024 + 3)]);
    const local = join(mkdtempSync(join(tmpdir(), "imitation-upload-")), "data.bin");
    writeFileSync(local, bytes);
    await shared.fs.uploadFile(local, ".sync-test/data.bin");
    rmSync(join(local, ".."), { recursive: true, force: true });
    expect(readFileSync(join(info.homeDir, ".sync-test/data.bin")).equals(bytes)).toBe(true);
    const stream = await shared.fs.downloadFileStream(".sync-test/data.bin");
    const parts: Buffer[] = [];
    for await (const chunk of stream) parts.push(chunk as Buffer);
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
    const sum = await shared.process.executeCommand("sha256sum .sync-test/data.bin | cut -c1-64");
    expect(sum.result.trim()).toBe(createHash("sha256").update(bytes).digest("hex"));
    await shared.fs.deleteFile(".sync-test/data.bin");
    expect(existsSync(join(info.homeDir, ".sync-test/data.bin"))).toBe(false);
  });
});
