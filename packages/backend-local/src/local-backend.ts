import { existsSync } from "node:fs";
import {
  type Backend,
  type BackendCapabilities,
  type BackendExit,
  type BackendHealth,
  type BackendRequest,
  BackendUnavailableError,
  CancelledError,
  ExecutionFailedError,
  inject,
  injectable,
  type Logger,
  LoggerToken,
  type OutputSink,
  PluginOptionsToken,
  pipeToSink,
} from "@stigmer/core";
import { execa } from "execa";
import { killTree } from "./process-tree.js";

/** Options (config file `plugins.local`). */
export interface LocalBackendOptions {
  /** Shell that runs commands; default `/bin/bash`, else `/bin/sh`. */
  shell?: string;
  /** Time between SIGTERM and SIGKILL when a command is stopped. Default 1000 ms. */
  killGraceMs?: number;
  /**
   * After the shell exits, how long to keep reading output that background processes still write
   * to the inherited pipes before closing them. Default 200 ms.
   */
  drainMs?: number;
}

function defaultShell(): string {
  return ["/bin/bash", "/usr/bin/bash"].find((path) => existsSync(path)) ?? "/bin/sh";
}

/** Runs commands on the host: no isolation, the user's own tools and files. */
@injectable()
export class LocalBackend implements Backend {
  readonly name = "local";
  readonly capabilities: BackendCapabilities = { stdin: true, env: true, cancel: true, separateStreams: true };
  private readonly shell: string;
  private readonly killGraceMs: number;
  private readonly drainMs: number;
  private readonly running = new Set<{ stop: AbortController; done: Promise<unknown> }>();
  private disposed = false;

  constructor(
    @inject(LoggerToken) private readonly logger: Logger,
    @inject(PluginOptionsToken) options: LocalBackendOptions,
  ) {
    this.shell = options.shell ?? defaultShell();
    this.killGraceMs = options.killGraceMs ?? 1000;
    this.drainMs = options.drainMs ?? 200;
  }

  async health(): Promise<BackendHealth> {
    const ok = existsSync(this.shell);
    return {
      ok,
      message: ok ? `Commands run on this host with ${this.shell}.` : `The shell ${this.shell} does not exist: set plugins.local.shell.`,
    };
  }

  exec(request: BackendRequest, output: OutputSink): Promise<BackendExit> {
    if (this.disposed) return Promise.reject(new BackendUnavailableError("The local backend has been disposed."));
    if (request.signal.aborted) return Promise.reject(new CancelledError("The command was cancelled before it started."));
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    request.signal.addEventListener("abort", onAbort, { once: true });
    const entry = { stop, done: Promise.resolve() as Promise<unknown> };
    const done = this.run(request, output, stop.signal).finally(() => {
      request.signal.removeEventListener("abort", onAbort);
      this.running.delete(entry);
    });
    entry.done = done.catch(() => {});
    this.running.add(entry);
    return done;
  }

  private async run(request: BackendRequest, output: OutputSink, stop: AbortSignal): Promise<BackendExit> {
    const { stdin } = request;
    const child = execa(this.shell, ["-c", request.command], {
      cwd: request.cwd,
      env: request.env,
      extendEnv: true,
      // A new process group, so the whole tree can be signalled at once.
      detached: true,
      buffer: false,
      encoding: "buffer",
      reject: false,
      stripFinalNewline: false,
      ...(stdin === undefined
        ? { stdin: "ignore" as const }
        : typeof stdin === "string" || stdin instanceof Uint8Array
          ? { input: stdin }
          : { stdin: stdin as AsyncIterable<Uint8Array> }),
    });
    const settled = child.then(
      (result) => result,
      (error: unknown) => error,
    );

    const exited = new Promise<BackendExit>((resolve, reject) => {
      child.once("exit", (code, sig) => resolve({ exitCode: code, signal: sig }));
      child.once("error", (error) => reject(error));
    });
    // Background processes may hold the pipes open after the shell exits: pipeToSink reads for
    // drainMs more, then lets go.
    const pumps = Promise.all([
      child.stdout ? pipeToSink(child.stdout, "stdout", output, exited, this.drainMs) : undefined,
      child.stderr ? pipeToSink(child.stderr, "stderr", output, exited, this.drainMs) : undefined,
    ]);

    let killing: Promise<void> | undefined;
    const kill = () => {
      if (child.pid === undefined || killing) return;
      this.logger.debug({ id: request.id, pid: child.pid }, "stopping the command's process tree");
      killing = killTree(child.pid, this.killGraceMs);
    };
    if (stop.aborted) kill();
    else stop.addEventListener("abort", kill, { once: true });

    let exit: BackendExit;
    try {
      exit = await exited;
    } catch (error) {
      stop.removeEventListener("abort", kill);
      await settled;
      throw new ExecutionFailedError(`The shell ${this.shell} could not be started in ${request.cwd}: ${(error as Error).message}.`, {
        cause: error,
      });
    }
    await pumps;
    stop.removeEventListener("abort", kill);
    if (killing) await killing;
    await settled;
    return exit;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const running = [...this.running];
    for (const entry of running) entry.stop.abort();
    await Promise.all(running.map((entry) => entry.done));
  }
}
