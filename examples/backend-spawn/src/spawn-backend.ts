import { spawn } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { isAbsolute } from "node:path";
import {
  type Backend,
  type BackendCapabilities,
  type BackendExit,
  type BackendHealth,
  type BackendRequest,
  BackendUnavailableError,
  CancelledError,
  type HealthCheck,
  inject,
  injectable,
  invalidSetting,
  type Logger,
  LoggerToken,
  type OutputSink,
  PluginOptionsToken,
  type PluginSettings,
  pipeToSink,
  RunTracker,
  type SettingSource,
  wholeCount,
} from "@stigmer/core";
import { killProcessGroup } from "./kill-process-group.js";

const PACKAGE = "@example/stigmer-backend-spawn";

/**
 * The plugin's settings: core reads each from its environment variable, else from the config
 * file section `plugins["@example/stigmer-backend-spawn"]`, validates it when the plugin loads
 * (and in `stigmer doctor`), and reports a bad value as INVALID_CONFIG naming the variable or the
 * key — exactly as for Stigmer's own settings. Core's parsers are reused; `absolutePath` shows how
 * to write one.
 */
export const SPAWN_SETTINGS: PluginSettings = {
  shell: { env: "SPAWN_BACKEND_SHELL", parse: absolutePath, description: "the shell that runs commands, default /bin/sh" },
  killGraceMs: { env: "SPAWN_BACKEND_KILL_GRACE_MS", parse: wholeCount, description: "ms between SIGTERM and SIGKILL, default 1000" },
};

function absolutePath(raw: unknown, where: SettingSource): string {
  if (typeof raw === "string" && isAbsolute(raw)) return raw;
  return invalidSetting(where, raw, "use an absolute path such as /bin/bash");
}

/** Options, with {@link SPAWN_SETTINGS} applied by core. */
export interface SpawnBackendOptions {
  /** Absolute path of the shell that runs `<shell> -c <command>`. Default `/bin/sh`. */
  shell?: string;
  /** Milliseconds between SIGTERM and SIGKILL when a command is stopped. Default 1000. */
  killGraceMs?: number;
}

/** How long, after the shell exits, output still written by its background processes is read. */
const DRAIN_MS = 200;

/**
 * Runs commands as host processes with plain `node:child_process`. It isolates nothing: it shows
 * how a backend plugs into Stigmer, not how to build a sandbox.
 */
@injectable()
export class SpawnBackend implements Backend {
  readonly specificationVersion = "v1";
  readonly name = "spawn";
  // stdin is left out on purpose: core then refuses every request with stdin as
  // CAPABILITY_UNSUPPORTED before exec is called, and the conformance suite checks that refusal.
  // A backend declares only what it really does; it never ignores part of a request.
  readonly capabilities: BackendCapabilities = { stdin: false, env: true, cancel: true, separateStreams: true };

  private readonly shell: string;
  private readonly killGraceMs: number;
  // Core's toolkit: tracks running commands, stops them at dispose, refuses exec after it.
  private readonly runs = new RunTracker({ disposed: "The spawn backend has been disposed: create a new executor." });

  constructor(
    @inject(LoggerToken) private readonly logger: Logger,
    @inject(PluginOptionsToken) options: Record<string, unknown>,
  ) {
    // Core has validated the declared settings; the defaults are the backend's own.
    const { shell = "/bin/sh", killGraceMs = 1000 } = options as SpawnBackendOptions;
    this.shell = shell;
    this.killGraceMs = killGraceMs;
  }

  /** One `stigmer doctor` line for the backend, and one named check of its own: the shell. */
  async health(): Promise<BackendHealth> {
    const usable = await access(this.shell, constants.X_OK).then(
      () => true,
      () => false,
    );
    const shell: HealthCheck = usable
      ? { name: "spawn-shell", ok: true, message: `${this.shell} is executable` }
      : {
          name: "spawn-shell",
          ok: false,
          message: `The shell ${this.shell} is not executable`,
          fix: `Set SPAWN_BACKEND_SHELL (or plugins["${PACKAGE}"].shell) to an executable shell such as /bin/sh.`,
        };
    return usable
      ? { ok: true, message: "Commands run on this host, as plain processes.", checks: [shell] }
      : { ok: false, message: "Commands cannot start: the shell is missing.", fix: shell.fix ?? "", checks: [shell] };
  }

  exec(request: BackendRequest, output: OutputSink): Promise<BackendExit> {
    // `stop` aborts when the request is cancelled or the backend disposed.
    return this.runs.run(request.signal, async (stop) => {
      if (request.signal.aborted) throw new CancelledError("The command was cancelled before it started.");
      return this.run(request, output, stop);
    });
  }

  private async run(request: BackendRequest, output: OutputSink, stop: AbortSignal): Promise<BackendExit> {
    const child = spawn(this.shell, ["-c", request.command], {
      cwd: request.cwd,
      env: { ...process.env, ...request.env },
      // The shell leads a new process group, so one signal reaches everything the command started.
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<BackendExit>((resolve, reject) => {
      child.once("exit", (exitCode, signal) => resolve({ exitCode, signal }));
      child.on("error", reject);
    });
    const pipes = Promise.all([
      pipeToSink(child.stdout, "stdout", output, exited, DRAIN_MS),
      pipeToSink(child.stderr, "stderr", output, exited, DRAIN_MS),
    ]);

    let killing: Promise<void> | undefined;
    const kill = () => {
      if (child.pid === undefined || killing) return;
      this.logger.debug({ id: request.id, pgid: child.pid }, "stopping the command's process group");
      killing = killProcessGroup(child.pid, this.killGraceMs);
    };
    stop.addEventListener("abort", kill, { once: true });
    try {
      const exit = await exited;
      await pipes;
      return exit;
    } catch (error) {
      child.stdout.destroy();
      child.stderr.destroy();
      throw new BackendUnavailableError(
        `The shell ${this.shell} could not be started in ${request.cwd} (${(error as Error).message}): check plugins["${PACKAGE}"].shell.`,
        { cause: error },
      );
    } finally {
      stop.removeEventListener("abort", kill);
      await killing;
    }
  }

  dispose(): Promise<void> {
    return this.runs.dispose();
  }
}
