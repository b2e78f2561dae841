import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createLogger, type Logger, trustFiles } from "@stigmer/core";
import { execa } from "execa";

export const repoRoot = fileURLToPath(new URL("..", import.meta.url));
export const cliBin = join(repoRoot, "packages/cli/dist/bundle/bin.js");

export interface CliResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a real process. Never rejects: tests assert on exit code and output. */
export async function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const result = await execa(process.execPath, [cliBin, ...args], {
    reject: false,
    ...(options.input === undefined ? { stdin: "ignore" as const } : { input: options.input }),
    timeout: options.timeoutMs ?? 60_000,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    env: { STIGMER_EXECUTION_MODE: "", STIGMER_SANDBOX_BACKEND: "", MODE: "", ...options.env },
  });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/**
 * Writes a config file (or plugin module) and trusts its content, as a user would after reviewing
 * it (`stigmer trust`): Stigmer loads nothing from a project directory that is not trusted.
 */
export function writeTrusted(path: string, content: string): void {
  writeFileSync(path, content);
  trustFiles([path]);
}

/** A temporary project directory, removed by the returned cleanup. */
export function tempProject(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "stigmer-test-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A real pino logger whose JSON lines are collected in `lines`. */
export function capturingLogger(level: "info" | "debug" = "info"): {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  raw: string[];
} {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) {
        if (!line) continue;
        raw.push(line);
        lines.push(JSON.parse(line));
      }
      done();
    },
  });
  return { logger: createLogger({ level, destination }), lines, raw };
}

export const silentLogger = () => createLogger({ level: "silent" });

/** Count of live processes whose command line contains `marker` (zombies have empty cmdlines). */
export async function countProcesses(marker: string): Promise<number> {
  // "abc" becomes the pattern "ab[c]", which matches the marker but not the scanning shell or grep themselves.
  const pattern = `${marker.slice(0, -1)}[${marker.slice(-1)}]`;
  const { stdout } = await execa("sh", [
    "-c",
    `for f in /proc/[0-9]*/cmdline; do tr '\\000' ' ' < "$f" 2>/dev/null; echo; done | grep -c -- '${pattern}' || true`,
  ]);
  return Number(stdout.trim());
}

/** Starts the CLI in the background; `seen(text)` resolves once its stdout contains `text`. */
export function startCli(args: string[], options: { cwd: string; env?: Record<string, string> }) {
  const child = execa(process.execPath, [cliBin, ...args], {
    reject: false,
    stdin: "ignore",
    cwd: options.cwd,
    env: { STIGMER_EXECUTION_MODE: "", STIGMER_SANDBOX_BACKEND: "", MODE: "", ...options.env },
  });
  let out = "";
  // Rejects if the process ends first, so a failed start fails the test at once instead of timing out.
  const seen = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (out.includes(text)) resolve();
      };
      child.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        check();
      });
      child.then((r) => reject(new Error(`stigmer exited (${r.exitCode}) before printing ${JSON.stringify(text)}: ${String(r.stderr)}`)));
      check();
    });
  return { child, seen };
}

/** Polls `check` until it holds, failing after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** A process started by {@link UnprivilegedUser.start}: signal it, await its end. */
export interface StartedProcess extends Promise<{ exitCode?: number | undefined; stdout: unknown; stderr: unknown }> {
  pid?: number | undefined;
  kill(signal?: NodeJS.Signals): boolean;
}

/** A user without privileges but in the docker group: how the sandbox's attackers meet Stigmer in practice. */
export interface UnprivilegedUser {
  uid: number;
  gid: number;
  home: string;
  /** Runs the built CLI as this user (environment: HOME, PATH and `env` only). */
  cli(args: string[], options?: { cwd?: string; env?: Record<string, string>; timeoutMs?: number }): Promise<CliResult>;
  /** Starts the built CLI as this user and returns the running process (to signal it). */
  start(args: string[], options?: { cwd?: string; env?: Record<string, string> }): StartedProcess;
  /** Runs a shell script as this user. */
  sh(script: string, options?: { cwd?: string; timeoutMs?: number }): Promise<CliResult>;
  /** A project directory this user owns. */
  project(): string;
  cleanup(): void;
}

const TEST_USER = "stigmer-test";

/**
 * As root (CI), creates the system user `stigmer-test` in the docker group once and runs as it
 * through setpriv; as anyone else, runs as that user itself (already unprivileged).
 */
export function unprivilegedUser(): UnprivilegedUser {
  const root = process.getuid?.() === 0;
  const dockerGid = Number(execFileSync("getent", ["group", "docker"], { encoding: "utf8" }).split(":")[2]);
  if (root) {
    try {
      execFileSync("id", ["-u", TEST_USER], { stdio: "ignore" });
    } catch {
      execFileSync("useradd", [
        "--system",
        "--no-create-home",
        "--shell",
        "/usr/sbin/nologin",
        "--user-group",
        "--groups",
        "docker",
        TEST_USER,
      ]);
    }
    // The user must reach the built CLI: a checkout in a private directory (a CI clone in
    // `mktemp -d`, mode 0700) gets the traverse bit for others on its ancestors, nothing more.
    for (let dir = repoRoot.replace(/\/$/, ""); dir !== "/" && dir !== ""; dir = dirname(dir)) {
      const mode = statSync(dir).mode;
      if ((mode & 0o001) === 0) chmodSync(dir, (mode & 0o7777) | 0o001);
    }
  }

  const uid = root ? Number(execFileSync("id", ["-u", TEST_USER], { encoding: "utf8" })) : (process.getuid?.() as number);
  const gid = root ? Number(execFileSync("id", ["-g", TEST_USER], { encoding: "utf8" })) : (process.getgid?.() as number);
  const dirs: string[] = [];
  const owned = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    if (root) chownSync(dir, uid, gid);
    chmodSync(dir, 0o755);
    dirs.push(dir);
    return dir;
  };
  const home = owned("stigmer-home-");
  // setpriv and env exec, so the process started is the command itself (a signal reaches it).
  const spawnAs = (command: string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}) => {
    const env = { HOME: home, PATH: process.env.PATH ?? "/usr/bin:/bin", ...options.env };
    const pairs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const argv = root
      ? ["setpriv", "--reuid", String(uid), "--regid", String(gid), "--groups", String(dockerGid), "env", "-i", ...pairs, ...command]
      : ["env", "-i", ...pairs, ...command];
    return execa(argv[0] as string, argv.slice(1), {
      reject: false,
      stdin: "ignore",
      stripFinalNewline: false,
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
  };
  const run = async (command: string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}) => {
    const result = await spawnAs(command, { timeoutMs: 120_000, ...options });
    return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
  };
  return {
    uid,
    gid,
    home,
    cli: (args, options) => run([process.execPath, cliBin, ...args], options),
    start: (args, options) => spawnAs([process.execPath, cliBin, ...args], options) as unknown as StartedProcess,
    sh: (script, options) => run(["sh", "-c", script], options),
    project: () => owned("stigmer-proj-"),
    cleanup: () => {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Pids of the processes whose command line is exactly `command` (words separated by spaces). */
export function pidsRunning(command: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim() === command;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** A loopback port nothing listens on: taken from the kernel, then released. */
export async function refusingPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
