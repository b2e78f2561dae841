import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { cliBin, countProcesses, runCli, startCli, tempProject } from "./helpers.js";

const project = tempProject();
afterAll(() => project.cleanup());
const uniqueSleep = (prefix: number) => `sleep ${prefix}${Math.floor(Math.random() * 1e6)}`;

const startCliHere = (args: string[]) => startCli(args, { cwd: project.dir });

describe("stigmer run", () => {
  it("streams stdout and stderr separately and exits with the command's code", async () => {
    const r = await runCli(["run", "--", "echo out; echo err >&2; exit 7"], { cwd: project.dir });
    expect(r.exitCode).toBe(7);
    expect(r.stdout).toBe("out");
    expect(r.stderr).toBe("err");
  });

  it("joins several arguments into one command line, options stop at the first positional", async () => {
    const r = await runCli(["run", "printf", "%s-%s", "a", "b"], { cwd: project.dir });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("a-b");
  });

  it("delivers output live, before the command ends", async () => {
    const started = performance.now();
    const { child, seen } = startCliHere(["run", "--", "echo first; sleep 1.5; echo second"]);
    await seen("first");
    const firstAt = performance.now();
    const r = await child;
    const endAt = performance.now();
    expect(r.stdout).toBe("first\nsecond");
    expect(endAt - firstAt).toBeGreaterThan(1000);
    expect(firstAt - started).toBeLessThan(endAt - started - 1000);
  });

  it("--json prints the event stream as NDJSON", async () => {
    const r = await runCli(["run", "--json", "--", "echo hi; echo é >&2"], { cwd: project.dir });
    const events = r.stdout.split("\n").map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ type: "start", mode: "local", target: "local", backend: "local", command: "echo hi; echo é >&2" });
    expect(events).toContainEqual({ type: "stdout", data: "hi\n" });
    expect(events).toContainEqual({ type: "stderr", data: "é\n" });
    expect(events.at(-1)).toMatchObject({ type: "exit", exitCode: 0, timedOut: false, cancelled: false, truncated: false });
  });

  it("--env and --cwd reach the command", async () => {
    writeFileSync(join(project.dir, "here.txt"), "in the project\n");
    const r = await runCli([
      "run",
      "--cwd",
      project.dir,
      "--env",
      "GREETING=hello world",
      "--env",
      "EMPTY=",
      "--",
      'cat here.txt; echo "$GREETING|$EMPTY|"',
    ]);
    expect(r.stdout).toBe("in the project\nhello world||");
  });

  it("passes stdin when it is not a terminal, and not with --no-stdin", async () => {
    expect((await runCli(["run", "--", "wc -l"], { input: "a\nb\n" })).stdout.trim()).toBe("2");
    const none = await runCli(["run", "--no-stdin", "--", "cat; echo done"], { input: "ignored\n" });
    expect(none.stdout).toBe("done");
  });

  it("--timeout kills the whole tree and exits 124", async () => {
    const marker = uniqueSleep(5);
    const r = await runCli(["run", "--timeout", "0.5", "--", `sh -c '${marker} & ${marker} & wait'`]);
    expect(r.exitCode).toBe(124);
    expect(await countProcesses(marker)).toBe(0);
  });

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)("%s kills the whole tree and exits %i", async (signal, status) => {
    const marker = uniqueSleep(4);
    const { child, seen } = startCliHere(["run", "--", `sh -c '${marker} & ${marker} & echo started; wait'`]);
    await seen("started");
    expect(await countProcesses(marker)).toBeGreaterThanOrEqual(2);
    child.kill(signal);
    const r = await child;
    expect(r.exitCode).toBe(status);
    expect(await countProcesses(marker)).toBe(0);
  });

  it.each([
    [["run", "--mode=sandboxx", "--", "ls"], {}, "INVALID_CONFIG", "--mode=sandboxx"],
    [["run", "--", "ls"], { STIGMER_EXECUTION_MODE: "sandboxx" }, "INVALID_CONFIG", "local, sandbox, auto"],
    [["run", "--", "ls"], { STIGMER_SANDBOX_TTL: "-1" }, "INVALID_CONFIG", "STIGMER_SANDBOX_TTL=-1"],
    [["run", "--", "ls"], { STIGMER_SANDBOX_TTL: "soon" }, "INVALID_CONFIG", "STIGMER_SANDBOX_TTL=soon"],
    [["run", "--timeout", "-1", "--", "ls"], {}, "INVALID_CONFIG", "--timeout=-1"],
    [["run", "--timeout=abc", "--", "ls"], {}, "INVALID_CONFIG", "--timeout=abc"],
    [["run", "--cwd", "/definitely/missing", "--", "ls"], {}, "INVALID_REQUEST", "does not exist"],
    [["run", "--env", "=x", "--", "ls"], {}, "INVALID_REQUEST", "NAME=value"],
    [["run", "--env", "A=B=C", "--env", "BAD-NAME=1", "--", "ls"], {}, "INVALID_REQUEST", "BAD-NAME"],
    [["run", "--", ""], {}, "INVALID_REQUEST", "empty"],
    [["run"], {}, "INVALID_REQUEST", "no command"],
    [["run", "--bogus", "ls"], {}, "INVALID_REQUEST", "Unknown option --bogus"],
    [["run", "--sandbox-image", "Bad Image", "--", "ls"], {}, "INVALID_CONFIG", "--sandbox-image=Bad Image"],
    [["frobnicate"], {}, "INVALID_REQUEST", "unknown command"],
  ])("bad input %j exits 2 with one line and no stack trace", async (args, env, code, text) => {
    const r = await runCli(args, { env, cwd: project.dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^stigmer: ${code}: `));
    expect(r.stderr).toContain(text);
    expect(r.stderr.split("\n")).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([["--mode=sandbox"], ["--mode=auto"]])(
    // A sandbox backend package that is not installed (every bundled one ships with the CLI).
    "%s without its sandbox backend installed exits 125 with PLUGIN_LOAD_FAILED and runs nothing",
    async (flag) => {
      const marker = join(project.dir, `never-${flag.slice(7)}`);
      const r = await runCli(["run", flag, "--", `touch ${marker}; pip install x`], {
        cwd: project.dir,
        env: { STIGMER_SANDBOX_BACKEND: "@acme/stigmer-sandbox-not-installed" },
      });
      expect(r.exitCode).toBe(125);
      expect(r.stderr).toMatch(/^stigmer: PLUGIN_LOAD_FAILED: .*is not installed: add it/);
      expect(existsSync(marker)).toBe(false);
    },
  );

  it("--json reports errors in band too", async () => {
    const r = await runCli(["run", "--json", "--mode=sandbox", "--", "ls"], {
      cwd: project.dir,
      env: { STIGMER_SANDBOX_BACKEND: "@acme/stigmer-sandbox-not-installed" },
    });
    expect(JSON.parse(r.stdout)).toMatchObject({ type: "error", code: "PLUGIN_LOAD_FAILED" });
  });

  it("--log-level info writes the execution's log line to stderr, without env values", async () => {
    const r = await runCli(
      ["run", "--log-level", "info", "--env", "TOKEN=s3cr3t-value", "--", "echo $TOKEN >/dev/null; echo s3cr3t-value >/dev/null"],
      {
        cwd: project.dir,
      },
    );
    const line = JSON.parse(r.stderr.trim().split("\n").at(-1) as string);
    expect(line).toMatchObject({ msg: "execution finished", mode: "local", exitCode: 0 });
    expect(r.stderr).not.toContain("s3cr3t-value");
  });

  it("help, version", async () => {
    const help = await runCli(["run", "--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain("Usage: stigmer run");
    const version = await runCli(["--version"]);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+$/);
    expect((await runCli([])).exitCode).toBe(2);
  });
});

describe("stigmer detect", () => {
  it("--json prints mode, rules and reason", async () => {
    const r = await runCli(["detect", "--json", "--", "pip install requests"]);
    expect(r.exitCode).toBe(0);
    const decision = JSON.parse(r.stdout);
    expect(decision.mode).toBe("sandbox");
    expect(decision.rules.length).toBeGreaterThan(0);
    expect(typeof decision.reason).toBe("string");
  });

  it("--jsonl answers one line per input line, in order, errors in place", async () => {
    const input = ['{"command":"ls"}', "not json", '{"command":"pip install x"}', '{"command":""}'].join("\n");
    const r = await runCli(["detect", "--jsonl"], { input });
    const out = r.stdout.split("\n").map((l) => JSON.parse(l));
    expect(out).toHaveLength(4);
    expect(out[0]).toHaveProperty("mode");
    expect(out[1]).toMatchObject({ error: { code: "INVALID_REQUEST" } });
    expect(out[2]).toHaveProperty("mode");
    expect(out[3]).toMatchObject({ error: { code: "INVALID_REQUEST" } });
  });

  it("--jsonl answers a repeated command exactly as the first time, wherever it repeats", async () => {
    const commands = ["ls", "pip install x", "ls", "git status", "pip install x", "ls"];
    const r = await runCli(["detect", "--jsonl"], { input: commands.map((command) => JSON.stringify({ command })).join("\n") });
    const out = r.stdout.trim().split("\n");
    expect(out).toHaveLength(6);
    expect(out[2]).toBe(out[0]);
    expect(out[5]).toBe(out[0]);
    expect(out[4]).toBe(out[1]);
    expect(JSON.parse(out[1] as string).mode).toBe("sandbox");
    expect(JSON.parse(out[3] as string).mode).toBe("local");
  });

  it("--jsonl ends lines as readline does (\\n, \\r\\n or a lone \\r; the last needs none), skips blank ones, keeps order across reads", async () => {
    // ~75 KB: more than one read from the pipe, so lines (and "\r\n") are split between chunks somewhere.
    const commands = Array.from({ length: 3000 }, (_, i) => ["pip install x", "ls", "pwd"][i % 3] as string);
    const ends = ["\n", "\r\n", "\r", "\n \n", "\r\n\r\n"];
    const input = commands
      .map((command, i) => JSON.stringify({ command }) + (i === commands.length - 1 ? "" : ends[i % ends.length]))
      .join("");
    const r = await runCli(["detect", "--jsonl"], { input });
    expect(r.exitCode).toBe(0);
    const modes = r.stdout.split("\n").map((l) => JSON.parse(l).mode);
    expect(modes).toEqual(commands.map((c) => (c.startsWith("pip") ? "sandbox" : "local")));
  });
});

describe("lazy loading", () => {
  const trace = (args: string[]) => {
    const file = join(project.dir, `trace-${Math.random()}.txt`);
    return execa(process.execPath, ["--import", new URL("./fixtures/trace-imports.mjs", import.meta.url).pathname, cliBin, ...args], {
      reject: false,
      stdin: "ignore",
      env: { STIGMER_TRACE_FILE: file, STIGMER_EXECUTION_MODE: "" },
    }).then((r) => ({ r, loaded: readFileSync(file, "utf8") }));
  };

  it("local mode loads the local backend only: no detector, no sandbox backends, no dockerode or Daytona SDK", async () => {
    const { r, loaded } = await trace(["run", "--mode=local", "--", "true"]);
    expect(r.exitCode).toBe(0);
    expect(loaded).toContain("backend-local");
    for (const heavy of ["detector-rules", "backend-docker", "backend-daytona", "dockerode", "@daytonaio"])
      expect(loaded).not.toContain(heavy);
  });

  it("auto mode does load the detector (the trace sees plugin loads)", async () => {
    const { loaded } = await trace(["run", "--mode=auto", "--", "true"]);
    expect(loaded).toContain("detector-rules");
  });
});

describe("stigmer run: commands over Linux's 128 KiB argument limit, and output nobody reads", () => {
  // A command line of ~1 MiB (under MAX_COMMAND_BYTES) given as arguments of 100 KB each: no single
  // one reaches Linux's per-argument limit for stigmer itself, but the whole would for the shell.
  const words = (count: number) => Array.from({ length: count }, () => "x".repeat(100_000));

  it("runs a 1 MiB command in local mode with the command's own $0, arguments, stdin and exit status", async () => {
    const r = await runCli(["run", "--", 'echo "start $0 $#"; cat; : ', ...words(10), "; exit 3"], {
      cwd: project.dir,
      input: "from stdin\n",
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("start /bin/bash 0\nfrom stdin");
    expect(r.exitCode).toBe(3);
  });

  it("--timeout stops a 1 MiB command on time (exit 124)", async () => {
    const r = await runCli(["run", "--timeout", "2", "--", "sleep 60; : ", ...words(10)], { cwd: project.dir });
    expect(r.exitCode).toBe(124);
  });

  /** Runs `stigmer <args>` in a bash pipeline; returns what the pipeline printed and stigmer's own status. */
  const pipeline = async (args: string, rest: string) => {
    const r = await execa("bash", ["-c", `"${process.execPath}" "${cliBin}" ${args} ${rest}; echo "status=\${PIPESTATUS[0]}"`], {
      reject: false,
      cwd: project.dir,
      env: { STIGMER_EXECUTION_MODE: "", STIGMER_SANDBOX_BACKEND: "", MODE: "" },
      timeout: 60_000,
    });
    return { stdout: String(r.stdout), stderr: String(r.stderr) };
  };

  it("a reader that goes away (| head -1) gets its line; stigmer stops the command and exits 141 without a word", async () => {
    const r = await pipeline("run -- 'seq 1 300000'", "| head -1");
    expect(r.stdout).toBe("1\nstatus=141");
    expect(r.stderr).toBe("");
  });

  it("the same when stderr's reader goes away", async () => {
    const r = await pipeline("run -- 'seq 1 300000 >&2'", "2>&1 >/dev/null | head -1");
    expect(r.stdout).toBe("1\nstatus=141");
    expect(r.stderr).toBe("");
  });

  it("--json too; and the command's whole tree is stopped", async () => {
    const marker = uniqueSleep(7);
    const r = await pipeline(`run --json -- '${marker} & while :; do echo tick; sleep 0.05; done'`, "| head -1");
    expect(JSON.parse(r.stdout.split("\n")[0] as string)).toMatchObject({ type: "start" });
    expect(r.stdout.split("\n")[1]).toBe("status=141");
    expect(r.stderr).toBe("");
    expect(await countProcesses(marker)).toBe(0);
  });
});
