import { readdirSync, readFileSync } from "node:fs";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { cliBin, countProcesses, pidsRunning, repoRoot, runCli, tempProject, waitFor } from "./helpers.js";

// Local mode: what a command leaves running when it times out, when Stigmer is killed with kill -9
// (the CLI or a library host), and when Stigmer exits normally. Real processes, found in /proc.

const project = tempProject();
afterAll(() => project.cleanup());
const sleeper = (prefix: number) => `sleep ${prefix}${Math.floor(Math.random() * 1e6)}`;

/** Live processes whose environment has an entry starting with `entry` (zombies have none). */
function marked(entry: string): number[] {
  const needle = Buffer.from(entry);
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const environ = readFileSync(`/proc/${name}/environ`);
      if (environ.subarray(0, needle.length).equals(needle) || environ.includes(Buffer.concat([Buffer.from([0]), needle])))
        found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Starts a process; `line(prefix)` resolves with the first stdout line that starts with `prefix`. */
function start(file: string, args: string[], options: { cwd: string; env?: Record<string, string> }) {
  const child = execa(file, args, {
    reject: false,
    stdin: "ignore",
    cwd: options.cwd,
    env: { STIGMER_EXECUTION_MODE: "", STIGMER_SANDBOX_BACKEND: "", MODE: "", ...options.env },
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const line = (prefix: string) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = out.split("\n").find((l, i, all) => l.startsWith(prefix) && i < all.length - 1);
        if (found !== undefined) resolve(found.slice(prefix.length));
      };
      child.stdout?.on("data", check);
      child.then((r) => reject(new Error(`exited (${r.exitCode}) before printing ${prefix}: ${String(r.stderr)}`)));
      check();
    });
  return { child, line };
}

/** True when a process runs each of these command lines. */
async function running(...commands: string[]): Promise<boolean> {
  for (const command of commands) if ((await countProcesses(command)) === 0) return false;
  return true;
}

/** `STIGMER_RUN_ID=<token>:`: the start of every marker of the Stigmer process whose command printed `runId`. */
const processEntry = (runId: string) => `STIGMER_RUN_ID=${runId.slice(0, runId.indexOf(":") + 1)}`;

/** The command for the kill -9 tests: a background job, a double-forked setsid daemon, a foreground sleep. */
const tree = (job: string, daemon: string, foreground: string) =>
  `${job} & setsid sh -c '${daemon} &'; echo "run=$STIGMER_RUN_ID"; ${foreground}`;

describe("local mode: nothing a command started outlives a timeout or Stigmer's own death", () => {
  it("--timeout kills a double-forked setsid daemon too", async () => {
    const daemon = sleeper(5);
    const r = await runCli(["run", "--timeout", "1", "--", `setsid sh -c '${daemon} &'; sleep 30`], { cwd: project.dir });
    expect(r.exitCode).toBe(124);
    expect(await countProcesses(daemon)).toBe(0);
  });

  it("kill -9 of `stigmer run`: its watchdog kills the command's tree, the setsid daemon included, and ends", async () => {
    const [job, daemon, foreground] = [sleeper(4), sleeper(4), sleeper(4)];
    const { child, line } = start(process.execPath, [cliBin, "run", "--", tree(job, daemon, foreground)], { cwd: project.dir });
    const entry = processEntry(await line("run="));
    await waitFor(async () => (await running(job, daemon, foreground)) && marked(entry).length >= 3, 10_000, "the command's processes");
    child.kill("SIGKILL");
    await child;
    await waitFor(async () => marked(entry).length === 0, 10_000, "no process with the marker left");
    for (const sleep of [job, daemon, foreground]) expect(await countProcesses(sleep)).toBe(0);
    await waitFor(
      async () => (await countProcesses(`stigmer-watchdog ${entry.slice("STIGMER_RUN_ID=".length)}`)) === 0,
      10_000,
      "the watchdog to end",
    );
  });

  it("kill -9 of a library host (createExecutor): the running command's tree and what finished commands left behind", async () => {
    const [left, job, daemon, foreground] = [sleeper(3), sleeper(3), sleeper(3), sleeper(3)];
    const host = `
      import local from "@stigmer/backend-local";
      import { createExecutor, resolveConfig } from "@stigmer/core";
      const executor = createExecutor({ config: resolveConfig({ env: {} }), modules: { local } });
      const print = { onEvent: (e) => void (e.type === "stdout" && process.stdout.write(e.data)) };
      await executor.run({ command: "${left} >/dev/null 2>&1 &" });
      await executor.run({ command: ${JSON.stringify(tree(job, daemon, foreground))} }, print);`;
    const { child, line } = start(process.execPath, ["--input-type=module", "-e", host], { cwd: `${repoRoot}/test` });
    const entry = processEntry(await line("run="));
    await waitFor(
      async () => (await running(left, job, daemon, foreground)) && marked(entry).length >= 4,
      10_000,
      "the commands' processes",
    );
    child.kill("SIGKILL");
    await child;
    await waitFor(async () => marked(entry).length === 0, 10_000, "no process with the marker left");
    for (const sleep of [left, job, daemon, foreground]) expect(await countProcesses(sleep)).toBe(0);
  });

  it("a library host that exits (process.exit) while a command runs: that command's tree ends, a finished one's leftovers stay", async () => {
    const [left, foreground] = [sleeper(6), sleeper(6)];
    const host = `
      import local from "@stigmer/backend-local";
      import { createExecutor, resolveConfig } from "@stigmer/core";
      const executor = createExecutor({ config: resolveConfig({ env: {} }), modules: { local } });
      await executor.run({ command: "${left} >/dev/null 2>&1 &" });
      const exitOnOutput = { onEvent: (e) => void (e.type === "stdout" && process.stdout.write(e.data, () => process.exit(0))) };
      await executor.run({ command: 'echo "run=$STIGMER_RUN_ID"; setsid sh -c "${foreground} &"; ${foreground}' }, exitOnOutput);`;
    const { child, line } = start(process.execPath, ["--input-type=module", "-e", host], { cwd: `${repoRoot}/test` });
    const entry = processEntry(await line("run="));
    expect((await child).exitCode).toBe(0);
    try {
      await waitFor(async () => (await countProcesses(foreground)) === 0, 10_000, "the running command's processes to end");
      await waitFor(
        async () => (await countProcesses(`stigmer-watchdog ${entry.slice("STIGMER_RUN_ID=".length)}`)) === 0,
        10_000,
        "the watchdog to end",
      );
      expect(await countProcesses(left)).toBe(1);
    } finally {
      for (const pid of pidsRunning(left)) process.kill(pid, "SIGKILL");
    }
  });

  it("a normal exit leaves what a finished command started in the background running, as a terminal does", async () => {
    const server = sleeper(2);
    const r = await runCli(["run", "--", `${server} >/dev/null 2>&1 & echo "$STIGMER_RUN_ID"`], { cwd: project.dir });
    expect(r.exitCode).toBe(0);
    const token = processEntry(r.stdout).slice("STIGMER_RUN_ID=".length);
    try {
      // The watchdog has read "exit" and ended: it will kill nothing.
      await waitFor(async () => (await countProcesses(`stigmer-watchdog ${token}`)) === 0, 10_000, "the watchdog to end");
      expect(await countProcesses(server)).toBe(1);
    } finally {
      for (const pid of pidsRunning(server)) process.kill(pid, "SIGKILL");
    }
  });
});
