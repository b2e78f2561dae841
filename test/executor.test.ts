import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import local from "@stigmer/backend-local";
import {
  ARG_SAFE_BYTES,
  createExecutor,
  type Decision,
  DetectorToken,
  definePlugin,
  ErrorCode,
  type ExecEvent,
  type ExecRequest,
  injectable,
  MAX_COMMAND_BYTES,
  resolveConfig,
  type StigmerPlugin,
  text,
} from "@stigmer/core";
import { stigmerErrorOf } from "@stigmer/core/testing";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capturingLogger, countProcesses, pidsRunning, repoRoot, silentLogger, tempProject } from "./helpers.js";

/** A detector for these tests: `echo` and `ls` local, anything else sandbox. */
@injectable()
class EchoLocalDetector {
  readonly specificationVersion = "v1";
  readonly name = "echo-local";
  detect(command: string): Decision {
    return /^(echo|ls)\b/.test(command)
      ? { target: "local", rules: ["test-read-only"], reason: `"${command.split(" ")[0]}" only prints` }
      : { target: "sandbox", rules: ["test-other"], reason: "anything else is sandboxed" };
  }
}
const echoLocal: StigmerPlugin = definePlugin({
  specificationVersion: "v1",
  name: "echo-local",
  kind: "detector",
  register: (c) => c.register(DetectorToken, { useClass: EchoLocalDetector }),
});
@injectable()
class ThrowingDetector {
  readonly specificationVersion = "v1";
  readonly name = "throws";
  detect(): Decision {
    throw new Error("boom");
  }
}
const throwing: StigmerPlugin = definePlugin({
  specificationVersion: "v1",
  name: "throws",
  kind: "detector",
  register: (c) => c.register(DetectorToken, { useClass: ThrowingDetector }),
});

const project = tempProject();
afterAll(() => project.cleanup());

function executor(env: Record<string, string> = {}, logger = silentLogger()) {
  return createExecutor({
    config: resolveConfig({ env: { STIGMER_DETECTOR: "echo-local", ...env }, cwd: project.dir }),
    logger,
    modules: { local, "echo-local": echoLocal, throws: throwing },
  });
}

describe("Executor: bad input", () => {
  const ex = executor();
  afterAll(() => ex.dispose());
  const cases: Array<[string, ExecRequest, string]> = [
    ["an empty command", { command: "" }, "empty"],
    ["a blank command", { command: "  \n " }, "empty"],
    ["a command with a NUL byte", { command: "echo a\0b" }, "NUL"],
    ["a command over 1 MiB", { command: `echo ${"x".repeat(MAX_COMMAND_BYTES)}` }, "limit"],
    ["a cwd that does not exist", { command: "ls", cwd: "/definitely/not/here" }, "does not exist"],
    ["a cwd that is a file", { command: "ls", cwd: "/etc/hostname" }, "not a directory"],
    ["an env name with =", { command: "ls", env: { "A=B": "x" } }, "not valid"],
    ["an empty env name", { command: "ls", env: { "": "x" } }, "empty"],
    ["a negative timeout", { command: "ls", timeoutMs: -1 }, "positive integer"],
    ["a NaN timeout", { command: "ls", timeoutMs: Number.NaN }, "positive integer"],
    ["an unknown mode", { command: "ls", mode: "sandboxx" as never }, "local, sandbox, auto"],
    ["a malformed image", { command: "ls", image: "Bad Image" }, "image reference"],
  ];
  it.each(cases)("%s is INVALID_REQUEST with a one-line message", async (_name, request, text) => {
    const error = await stigmerErrorOf(ex.run({ cwd: project.dir, ...request }));
    expect(error.code).toBe(ErrorCode.INVALID_REQUEST);
    expect(error.message).toContain(text);
    expect(error.message).not.toContain("\n");
  });
});

describe("Executor: modes", () => {
  const ex = executor();
  afterAll(() => ex.dispose());

  it("local mode runs on the host and reports the mode in the start event", async () => {
    const events: ExecEvent[] = [];
    const result = await ex.run(
      { command: "echo hello; echo oops >&2; exit 4", cwd: project.dir },
      { onEvent: (e) => void events.push(e) },
    );
    expect(result).toMatchObject({ exitCode: 4, stdout: "hello\n", stderr: "oops\n", mode: "local", target: "local", backend: "local" });
    expect(events[0]).toMatchObject({ type: "start", mode: "local", target: "local", backend: "local", cwd: project.dir });
  });

  it("sandbox mode without a sandbox backend fails with SANDBOX_UNAVAILABLE and runs nothing on the host", async () => {
    const marker = join(project.dir, "must-not-exist");
    const error = await stigmerErrorOf(ex.run({ command: `touch ${marker}`, mode: "sandbox", cwd: project.dir }));
    expect(error.code).toBe(ErrorCode.SANDBOX_UNAVAILABLE);
    expect(error.message).toContain("never falls back to the host");
    expect(existsSync(marker)).toBe(false);
  });

  it("auto mode asks the detector: a local decision runs with the decision in the start event and result", async () => {
    const events: ExecEvent[] = [];
    const result = await ex.run({ command: "echo via-auto", mode: "auto", cwd: project.dir }, { onEvent: (e) => void events.push(e) });
    expect(result.stdout).toBe("via-auto\n");
    expect(result.decision).toEqual({ target: "local", rules: ["test-read-only"], reason: '"echo" only prints' });
    expect(events[0]).toMatchObject({ type: "start", mode: "auto", target: "local", decision: { rules: ["test-read-only"] } });
  });

  it("auto mode never runs a sandbox-classified command on the host when the sandbox is unavailable", async () => {
    const marker = join(project.dir, "auto-must-not-exist");
    const error = await stigmerErrorOf(ex.run({ command: `touch ${marker}`, mode: "auto", cwd: project.dir }));
    expect(error.code).toBe(ErrorCode.SANDBOX_UNAVAILABLE);
    expect(error.message).toContain("test-other");
    expect(existsSync(marker)).toBe(false);
  });

  it("a detector that throws fails closed: the command goes to the sandbox", async () => {
    const failing = executor({ STIGMER_DETECTOR: "throws" });
    const decision = await failing.detect("echo hi");
    expect(decision).toMatchObject({ target: "sandbox", rules: ["detector-error"] });
    expect((await stigmerErrorOf(failing.run({ command: "echo hi", mode: "auto", cwd: project.dir }))).code).toBe(
      ErrorCode.SANDBOX_UNAVAILABLE,
    );
    await failing.dispose();
  });

  it("decider() decides as detect() does, without a promise for a synchronous detector, and fails closed as it does", async () => {
    const decide = await ex.decider();
    const decision = decide("echo hi", { cwd: project.dir });
    expect(decision).not.toBeInstanceOf(Promise);
    expect(decision).toEqual(await ex.detect("echo hi", { cwd: project.dir }));
    expect(() => decide("  ")).toThrow(/empty/);
    const failing = executor({ STIGMER_DETECTOR: "throws" });
    expect((await failing.decider())("echo hi")).toMatchObject({ target: "sandbox", rules: ["detector-error"] });
    await failing.dispose();
  });

  it("the configured mode applies when the request names none", async () => {
    const auto = executor({ STIGMER_EXECUTION_MODE: "auto" });
    expect((await auto.run({ command: "ls", cwd: project.dir })).mode).toBe("auto");
    await auto.dispose();
  });
});

describe("Executor: plugins that fail to set up", () => {
  it("a constructor that throws is PLUGIN_LOAD_FAILED (setup-failed) with the cause, and the next call tries again", async () => {
    let attempts = 0;
    class Broken {
      constructor() {
        attempts++;
        throw new Error("cannot reach the hypervisor");
      }
    }
    const broken: StigmerPlugin = definePlugin({
      specificationVersion: "v1",
      name: "broken",
      kind: "backend",
      register: (c) => c.register(Symbol.for("stigmer.backend"), { useClass: Broken as never }),
    });
    const ex = createExecutor({
      config: resolveConfig({ env: { STIGMER_SANDBOX_BACKEND: "broken" }, cwd: project.dir }),
      logger: silentLogger(),
      modules: { local, broken },
    });
    const error = await stigmerErrorOf(ex.run({ command: "true", mode: "sandbox", cwd: project.dir }));
    expect(error.code).toBe(ErrorCode.PLUGIN_LOAD_FAILED);
    expect(error.details).toMatchObject({ plugin: "broken", reason: "setup-failed" });
    expect(error.message).toContain("cannot reach the hypervisor");
    await stigmerErrorOf(ex.run({ command: "true", mode: "sandbox", cwd: project.dir }));
    expect(attempts).toBe(2);
    await ex.dispose();
  });
});

describe("Executor: logging", () => {
  it("writes one line per execution and never logs env values or a plugin's secret settings", async () => {
    const { logger, lines, raw } = capturingLogger();
    // The local plugin, with a secret setting of the kind an API-backed plugin declares.
    const withSecret: StigmerPlugin = { ...local, settings: { apiKey: { env: "TEST_API_KEY", parse: text, secret: true } } };
    const ex = createExecutor({
      config: resolveConfig({ env: { TEST_API_KEY: "dtn_live_supersecret" }, cwd: project.dir }),
      logger,
      modules: { local: withSecret },
    });
    const secret = "hunter2-very-secret";
    await ex.run({ command: `echo ${secret} dtn_live_supersecret`, env: { TOKEN: secret }, cwd: project.dir });
    await ex.run({ command: "exit 3", cwd: project.dir });
    await ex.run({ command: "", cwd: project.dir }).catch(() => {});
    await ex.dispose();
    const executions = lines.filter((l) => l.msg === "execution finished" || l.msg === "execution failed");
    expect(executions).toHaveLength(3);
    expect(executions[0]).toMatchObject({ mode: "local", target: "local", backend: "local", exitCode: 0, timedOut: false });
    expect(executions[0]).toHaveProperty("durationMs");
    expect(executions[0]).toHaveProperty("id");
    expect(executions[1]).toMatchObject({ exitCode: 3 });
    expect(executions[2]).toMatchObject({ code: "INVALID_REQUEST" });
    const all = raw.join("\n");
    expect(all).not.toContain(secret);
    expect(all).not.toContain("supersecret");
    expect(all).toContain("[redacted]");
  });
});

describe("Executor: streaming API", () => {
  const ex = executor();
  afterAll(() => ex.dispose());

  it("yields start, output and exit in order, and the result", async () => {
    const stream = ex.stream({ command: "echo one; echo two >&2", cwd: project.dir });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types[0]).toBe("start");
    expect(types.at(-1)).toBe("exit");
    expect(types.filter((t) => t === "stdout" || t === "stderr").length).toBeGreaterThanOrEqual(2);
    expect((await stream.result).stdout).toBe("one\n");
  });

  it("leaving the loop early cancels the command and kills its tree", async () => {
    const marker = `sleep 7${Math.floor(Math.random() * 1e6)}`;
    const stream = ex.stream({ command: `sh -c '${marker} & echo started; wait'`, cwd: project.dir });
    for await (const event of stream) if (event.type === "stdout") break;
    const result = await stream.result;
    expect(result.cancelled).toBe(true);
    expect(await countProcesses(marker)).toBe(0);
  });

  it("a consumer that reads slowly does not lose output", async () => {
    const stream = ex.stream({ command: "seq 1 20000", cwd: project.dir });
    let text = "";
    for await (const event of stream) {
      if (event.type === "stdout") {
        text += Buffer.from(event.data).toString();
        await new Promise((r) => setImmediate(r));
      }
    }
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(20000);
    expect(lines.at(-1)).toBe("20000");
  });

  it("a throwing onEvent stops the command and rejects with the listener's error", async () => {
    const marker = `sleep 8${Math.floor(Math.random() * 1e6)}`;
    const failure = new Error("consumer failed");
    const outcome = await ex
      .run(
        { command: `echo go; ${marker}`, cwd: project.dir },
        {
          onEvent: (e) => {
            if (e.type === "stdout") throw failure;
          },
        },
      )
      .catch((e: unknown) => e);
    expect(outcome).toBe(failure);
    expect(await countProcesses(marker)).toBe(0);
  });
});

describe("Executor: output limit and dispose", () => {
  it("retains head and tail within STIGMER_OUTPUT_LIMIT while streaming everything", async () => {
    const ex = executor({ STIGMER_OUTPUT_LIMIT: "2048" });
    let streamed = 0;
    const result = await ex.run(
      { command: "seq 1 100000", cwd: project.dir },
      {
        onEvent: (e) => {
          if (e.type === "stdout") streamed += e.data.length;
        },
      },
    );
    expect(result.truncated).toBe(true);
    expect(result.stdoutBytes).toBe(streamed);
    expect(result.stdout.startsWith("1\n2\n3\n")).toBe(true);
    expect(result.stdout.endsWith("99999\n100000\n")).toBe(true);
    expect(result.stdout.length).toBeLessThan(2200);
    await ex.dispose();
  });

  it("dispose cancels running commands, kills their trees, and refuses new ones", async () => {
    const ex = executor();
    const marker = `sleep 6${Math.floor(Math.random() * 1e6)}`;
    writeFileSync(join(project.dir, "x"), "");
    const running = ex.run({ command: `${marker} & ${marker}; wait`, cwd: project.dir });
    await new Promise((r) => setTimeout(r, 300));
    await ex.dispose();
    expect((await running).cancelled).toBe(true);
    expect(await countProcesses(marker)).toBe(0);
    expect((await stigmerErrorOf(ex.run({ command: "true", cwd: project.dir }))).code).toBe(ErrorCode.BACKEND_UNAVAILABLE);
  });
});

describe("Executor: timeouts", () => {
  let ex: ReturnType<typeof executor>;
  beforeAll(() => {
    ex = executor({ STIGMER_TIMEOUT: "0.4" });
  });
  afterAll(() => ex.dispose());
  it("STIGMER_TIMEOUT is the default timeout; a request's timeoutMs overrides it", async () => {
    expect((await ex.run({ command: "sleep 5", cwd: project.dir })).timedOut).toBe(true);
    expect((await ex.run({ command: "sleep 0.6; echo ok", cwd: project.dir, timeoutMs: 10_000 })).stdout).toBe("ok\n");
  });
});

describe("Executor: what a local command is and leaves behind", () => {
  const ex = executor();
  afterAll(() => ex.dispose());
  const sleeper = (prefix: number) => `sleep ${prefix}${Math.floor(Math.random() * 1e6)}`;

  it.each([
    ["as large as an argument may safely be (bash -c)", ARG_SAFE_BYTES],
    ["one byte larger (on fd 3)", ARG_SAFE_BYTES + 1],
    ["over Linux's 128 KiB argument limit", 200_000],
    ["of nearly 1 MiB", MAX_COMMAND_BYTES - 100],
  ])("runs a command %s with the same $0, arguments, stdin and exit status", async (_name, size) => {
    const head = `echo "start $0 $#"; cat; : `;
    const tail = "; echo end; exit 5";
    const command = `${head}${"x".repeat(size - head.length - tail.length)}${tail}`;
    expect(Buffer.byteLength(command)).toBe(size);
    const result = await ex.run({ command, cwd: project.dir, stdin: "its own stdin\n" });
    expect(result).toMatchObject({ stderr: "", stdout: "start /bin/bash 0\nits own stdin\nend\n", exitCode: 5 });
  });

  it("an environment too large to start a process is EXECUTION_FAILED saying so, never a hang", async () => {
    // Each variable within the request limit (MAX_ENV_ENTRY_BYTES), together over what Linux takes (ARG_MAX).
    const env = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`BIG${i}`, "x".repeat(120_000)]));
    const error = await stigmerErrorOf(ex.run({ command: "echo never", cwd: project.dir, env }));
    expect(error.code).toBe(ErrorCode.EXECUTION_FAILED);
    expect(error.message).toContain("environment is too large");
    expect(error.message.split("\n")).toHaveLength(1);
  });

  it("a shell that cannot be started is EXECUTION_FAILED naming it, never a hang", async () => {
    const broken = createExecutor({
      config: { ...resolveConfig({ env: {}, cwd: project.dir }), plugins: { local: { shell: "/nonexistent/bash" } } },
      logger: silentLogger(),
      modules: { local },
    });
    try {
      const error = await stigmerErrorOf(broken.run({ command: "echo never", cwd: project.dir }));
      expect(error.code).toBe(ErrorCode.EXECUTION_FAILED);
      expect(error.message).toContain("/nonexistent/bash could not be started");
    } finally {
      await broken.dispose();
    }
  });

  it("a timeout also kills what the command double-forked out of its tree (a setsid daemon)", async () => {
    const daemon = sleeper(8);
    const result = await ex.run({ command: `setsid sh -c '${daemon} &'; echo started; sleep 30`, cwd: project.dir, timeoutMs: 1000 });
    expect(result.timedOut).toBe(true);
    expect(result.stdout).toBe("started\n");
    expect(await countProcesses(daemon)).toBe(0);
  });

  it("so does a cancel; plugins.local.keepBackground spares the daemon", async () => {
    const cancelled = async (executor: ReturnType<typeof createExecutor>, daemon: string) => {
      const controller = new AbortController();
      return executor.run(
        { command: `setsid sh -c '${daemon} &'; echo started; sleep 30`, cwd: project.dir, signal: controller.signal },
        { onEvent: (e) => void (e.type === "stdout" && controller.abort()) },
      );
    };
    const killed = sleeper(8);
    expect((await cancelled(ex, killed)).cancelled).toBe(true);
    expect(await countProcesses(killed)).toBe(0);

    const kept = sleeper(9);
    const keeping = createExecutor({
      config: { ...resolveConfig({ env: {}, cwd: project.dir }), plugins: { local: { keepBackground: true } } },
      logger: silentLogger(),
      modules: { local },
    });
    try {
      expect((await cancelled(keeping, kept)).cancelled).toBe(true);
      expect(await countProcesses(kept)).toBe(1);
    } finally {
      await keeping.dispose();
      for (const pid of pidsRunning(kept)) process.kill(pid, "SIGKILL");
    }
  });
});

describe("a library says nothing on stderr unless asked", () => {
  // Each case runs in a fresh Node process. MODE means nothing to core (MODE=cloud is the CLI's preset);
  // a preset's warning about the environment goes to the logger.
  const host = `
    import local from "@stigmer/backend-local";
    import { createExecutor } from "@stigmer/core";
    const preset = { fromEnvironment: (env, warn) => { if (env.PRESET_WARNS) warn("the preset says " + env.PRESET_WARNS); } };
    const executor = createExecutor({ modules: { local }, preset });
    const r = await executor.run({ command: "echo ran" });
    process.stdout.write(r.stdout);
    await executor.dispose();`;
  const runHost = (env: Record<string, string>) =>
    execa(process.execPath, ["--input-type=module", "-e", host], {
      cwd: join(repoRoot, "test"),
      reject: false,
      env: { STIGMER_EXECUTION_MODE: "", STIGMER_LOG_LEVEL: "", STIGMER_SANDBOX_BACKEND: "", ...env },
    });

  it("a preset's warning: no stderr line from createExecutor() by default; it reaches the logger when a level is set", async () => {
    const quiet = await runHost({ PRESET_WARNS: "hello" });
    expect(quiet).toMatchObject({ exitCode: 0, stdout: "ran", stderr: "" });
    const told = await runHost({ PRESET_WARNS: "hello", STIGMER_LOG_LEVEL: "warn" });
    expect(told.exitCode).toBe(0);
    const lines = told.stderr.split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 40, msg: "the preset says hello" });
  });

  it("MODE=cloud and MODE=clod mean nothing to the library: no warning, local mode", async () => {
    for (const MODE of ["clod", "cloud"]) {
      expect(await runHost({ MODE, STIGMER_LOG_LEVEL: "warn" })).toMatchObject({ exitCode: 0, stdout: "ran", stderr: "" });
    }
  });
});
