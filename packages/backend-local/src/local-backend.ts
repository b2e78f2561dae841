import { existsSync } from "node:fs";
import { basename } from "node:path";
import { pipeline, Readable } from "node:stream";
import {
  ARG_SAFE_BYTES,
  type Backend,
  type BackendCapabilities,
  type BackendExit,
  type BackendHealth,
  type BackendRequest,
  CancelledError,
  commandReader,
  ExecutionFailedError,
  inject,
  injectable,
  type Logger,
  LoggerToken,
  type OutputSink,
  PluginOptionsToken,
  pipeToSink,
  RUN_ID_VARIABLE,
  RunTracker,
  type StigmerError,
} from "@stigmer/core";
import { execa } from "execa";
import { killTree } from "./process-tree.js";
import { ensureWatchdog, markRun } from "./watchdog.js";

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
  /**
   * On timeout or cancel, spare what the command started outside its process tree (double-forked
   * daemons, found by the `STIGMER_RUN_ID` marker in their environment). Default false: they are
   * killed too.
   */
  keepBackground?: boolean;
}

function defaultShell(): string {
  return ["/bin/bash", "/usr/bin/bash"].find((path) => existsSync(path)) ?? "/bin/sh";
}

/** Runs commands on the host: no isolation, the user's own tools and files. */
@injectable()
export class LocalBackend implements Backend {
  readonly specificationVersion = "v1";
  readonly name = "local";
  readonly capabilities: BackendCapabilities = { stdin: true, env: true, cancel: true, separateStreams: true };
  private readonly shell: string;
  private readonly killGraceMs: number;
  private readonly drainMs: number;
  private readonly keepBackground: boolean;
  /** The shell's `-c` script for a command over ARG_SAFE_BYTES: it reads the command from fd 3 (Linux limits an argument to 128 KiB). */
  private readonly reader: string;
  private readonly runs = new RunTracker({ disposed: "The local backend has been disposed." });

  constructor(
    @inject(LoggerToken) private readonly logger: Logger,
    @inject(PluginOptionsToken) options: LocalBackendOptions,
  ) {
    this.shell = options.shell ?? defaultShell();
    this.killGraceMs = options.killGraceMs ?? 1000;
    this.drainMs = options.drainMs ?? 200;
    this.keepBackground = options.keepBackground ?? false;
    this.reader = commandReader(basename(this.shell) === "bash" ? "bash" : "sh", 3);
  }

  async health(): Promise<BackendHealth> {
    const ok = existsSync(this.shell);
    return {
      ok,
      message: ok ? `Commands run on this host with ${this.shell}.` : `The shell ${this.shell} does not exist: set plugins.local.shell.`,
    };
  }

  exec(request: BackendRequest, output: OutputSink): Promise<BackendExit> {
    // The command's tree is stopped when the request is cancelled or the backend disposed.
    return this.runs.run(request.signal, (stop) => {
      if (request.signal.aborted) return Promise.reject(new CancelledError("The command was cancelled before it started."));
      return this.run(request, output, stop);
    });
  }

  private async run(request: BackendRequest, output: OutputSink, stop: AbortSignal): Promise<BackendExit> {
    const { stdin } = request;
    // A command that fits in an argument is one (`bash -c <command>`, the cheapest start); a larger
    // one reaches the shell on fd 3 (commandReader).
    const bytes = Buffer.byteLength(request.command, "utf8");
    const script = bytes > ARG_SAFE_BYTES ? Buffer.from(request.command, "utf8") : undefined;
    const mark = markRun(request.id);
    ensureWatchdog(this.killGraceMs, this.logger);
    try {
      const args = script ? ["-c", this.reader, this.shell, String(script.length)] : ["-c", request.command];
      const child = execa(this.shell, args, {
        cwd: request.cwd,
        env: { ...request.env, [RUN_ID_VARIABLE]: mark.value },
        extendEnv: true,
        // A new process group (and session), so the whole tree can be signalled at once.
        detached: true,
        buffer: false,
        encoding: "buffer",
        reject: false,
        stripFinalNewline: false,
        // fd 3 carries a large command's text (see commandReader).
        stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe", ...(script ? [script] : [])],
      });
      // Settles once everything is over (never rejects): a shell that could not start fails here.
      const settled = child.then(
        (result) => result,
        (error: unknown) => ({ failed: true, cause: error }) as const,
      );
      const exited = new Promise<BackendExit>((resolve, reject) => {
        child.once("exit", (code, sig) => resolve({ exitCode: code, signal: sig }));
        void settled.then((result) => {
          if (result.failed && child.pid === undefined) reject(result.cause ?? result);
        });
      });
      if (child.stdin) {
        child.stdin.on("error", () => {}); // the command may exit without reading it all
        if (typeof stdin === "string" || stdin instanceof Uint8Array) child.stdin.end(stdin);
        else if (stdin !== undefined) pipeline(Readable.from(stdin), child.stdin, () => {});
      }
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
        // Unless asked to keep them, what the command left running outside its tree goes too.
        killing = killTree(child.pid, this.killGraceMs, this.keepBackground ? undefined : mark.entry);
      };
      if (stop.aborted) kill();
      else stop.addEventListener("abort", kill, { once: true });

      let exit: BackendExit;
      try {
        exit = await exited;
      } catch (error) {
        stop.removeEventListener("abort", kill);
        for (const pipe of child.stdio) pipe?.destroy();
        await settled;
        throw this.spawnFailed(request, error);
      }
      child.stdin?.destroy();
      await pumps;
      stop.removeEventListener("abort", kill);
      if (killing) await killing;
      await settled;
      return exit;
    } finally {
      mark.done();
    }
  }

  private spawnFailed(request: BackendRequest, error: unknown): StigmerError {
    const code = (error as NodeJS.ErrnoException)?.code;
    const why =
      code === "E2BIG"
        ? "its environment is too large (Linux refuses a variable over 128 KiB, and more than ARG_MAX in all): pass large values in a file or on stdin"
        : ((error as Error)?.message ?? String(error));
    return new ExecutionFailedError(`The shell ${this.shell} could not be started in ${request.cwd}: ${why}.`, {
      cause: error,
      ...(code ? { details: { errno: code } } : {}),
    });
  }

  dispose(): Promise<void> {
    return this.runs.dispose();
  }
}
