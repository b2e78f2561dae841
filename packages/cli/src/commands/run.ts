import { fstatSync } from "node:fs";
import { createExecutor, type ExecResult, ndjsonEncoder, parseEnvAssignment, writeOrWait } from "@stigmer/core";
import { configFlags, type OptionSpec, parseArgs } from "../args.js";
import { bundledPlugins } from "../plugins.js";
import { cliConfig } from "../preset.js";
import { ProgressRenderer } from "../progress-renderer.js";
import { EXIT_USAGE, onOutputGone, outputGoneStatus, reportError } from "../report-error.js";

export const RUN_HELP = `Usage: stigmer run [options] [--] <command...>

Runs one shell command (bash -c) where the mode says, streams its output as it comes,
and exits with the command's exit code.

Options:
  --mode <mode>           local | sandbox | auto (default: STIGMER_EXECUTION_MODE, else local)
  --cwd <dir>             project directory to run in (default: the current directory)
  --env NAME=value        add a variable to the command's environment (repeatable)
  --timeout <seconds>     kill the whole process tree after this long (exit 124)
  --sandbox-image <image> sandbox image for this command
  --workspace <strategy>  how the project reaches the sandbox: sync (default: copied in, changes
                          checked and brought back), mount (the directory itself; runs as you)
  --json                  print the event stream as NDJSON on stdout
  --no-stdin              do not pass stdin to the command (default: passed when it is a pipe or a file)
  --config <file>         config file (default: ./stigmer.config.json if present)
  --log-level <level>     fatal | error | warn | info | debug | trace | silent (default: error)
  -h, --help              show this help

Several arguments are joined with spaces into one command line: "stigmer run ls -la" runs "ls -la".

Exit status: the command's own; 124 timed out; 130 interrupted (Ctrl-C); 143 terminated;
128+n killed by signal n; 2 invalid input; 125 stigmer could not run the command;
141 the reader of stdout or stderr went away ("| head -1"): the command was stopped, quietly, as
SIGPIPE stops a program in a pipeline.`;

const SPECS: Record<string, OptionSpec> = {
  mode: { type: "string" },
  cwd: { type: "string" },
  env: { type: "list" },
  timeout: { type: "string" },
  "sandbox-image": { type: "string" },
  workspace: { type: "string" },
  json: { type: "boolean" },
  stdin: { type: "boolean" },
  config: { type: "string" },
  "log-level": { type: "string" },
  help: { type: "boolean", short: "h" },
};

const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGTERM: 15,
  SIGPIPE: 13,
  SIGABRT: 6,
  SIGSEGV: 11,
};

/** Tells the user what a sync kept out of the project, and why (the command's output stays untouched). */
function reportWorkspace(result: ExecResult): void {
  const report = result.workspace;
  if (!report) return;
  const lines = [
    ...report.refused.map((r) => `stigmer: kept out of the project: ${r.path} (${r.reason})`),
    ...report.conflicts.map((c) => `stigmer: not brought back: ${c.path} (${c.reason})`),
  ];
  const shown = lines.slice(0, 20);
  if (lines.length > shown.length) shown.push(`stigmer: … and ${lines.length - shown.length} more (see the exit event with --json)`);
  if (report.held) {
    shown.push(
      `stigmer: the command's ${report.held} change(s) to the project were not brought back: auto mode sandboxed it because it would destroy uncommitted work (${result.decision?.rules.join(", ")}). Run it with --mode=sandbox or --mode=local if you meant it.`,
    );
  }
  if (report.truncated)
    shown.push("stigmer: the sandbox changed more than one sync may bring back (sandbox.maxSyncBytes): the rest is left in the sandbox");
  if (shown.length > 0) process.stderr.write(`${shown.join("\n")}\n`);
}

function exitStatus(result: ExecResult, interrupt: string | undefined): number {
  const gone = outputGoneStatus();
  if (gone !== undefined) return gone;
  if (result.timedOut) return 124;
  if (result.cancelled) return interrupt === "SIGTERM" ? 143 : interrupt === "SIGHUP" ? 129 : 130;
  if (result.exitCode !== null) return result.exitCode;
  return 128 + (SIGNAL_NUMBERS[result.signal ?? ""] ?? 1);
}

/** Stdin is passed on when it is a pipe, a socket or a file: not a terminal, not /dev/null or closed. */
function stdinHasData(): boolean {
  try {
    const stat = fstatSync(0);
    return stat.isFIFO() || stat.isFile() || stat.isSocket();
  } catch {
    return false;
  }
}

export async function runCommand(argv: readonly string[]): Promise<number> {
  let json = false;
  try {
    const { options, rest } = parseArgs(argv, SPECS, "run");
    json = options.json === true;
    if (options.help) {
      process.stdout.write(`${RUN_HELP}\n`);
      return 0;
    }
    if (rest.length === 0) {
      process.stderr.write(`stigmer: INVALID_REQUEST: no command given: stigmer run [options] -- <command>\n`);
      return EXIT_USAGE;
    }
    const config = cliConfig({ flags: configFlags(options), defaults: { logLevel: "error" } });
    const env = Object.fromEntries(((options.env as string[] | undefined) ?? []).map(parseEnvAssignment));
    const forwardStdin = options.stdin !== false && stdinHasData();

    const executor = createExecutor({ config, modules: bundledPlugins });
    const controller = new AbortController();
    let interrupt: string | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (interrupt) process.exit(signal === "SIGTERM" ? 143 : 130); // second signal: give up at once
      interrupt = signal;
      controller.abort(new Error(`stigmer received ${signal}`));
    };
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, onSignal);
    // Output nobody reads: the command is stopped (its whole tree), and stigmer exits 141 without a word.
    const releaseOutput = onOutputGone(() => controller.abort(new Error("the reader of stigmer's output went away")));

    const encode = ndjsonEncoder();
    const progress = new ProgressRenderer();
    try {
      const result = await executor.run(
        {
          command: rest.join(" "),
          ...(options.cwd !== undefined ? { cwd: options.cwd as string } : {}),
          env,
          ...(forwardStdin ? { stdin: process.stdin } : {}),
          ...(options["sandbox-image"] !== undefined ? { image: options["sandbox-image"] as string } : {}),
          signal: controller.signal,
        },
        {
          onEvent: (event) => {
            if (json) return writeOrWait(process.stdout, encode(event));
            if (event.type === "progress") return progress.update(event);
            progress.finish();
            if (event.type === "stdout") return writeOrWait(process.stdout, event.data);
            else if (event.type === "stderr") return writeOrWait(process.stderr, event.data);
            return undefined;
          },
        },
      );
      if (!json) reportWorkspace(result);
      return exitStatus(result, interrupt);
    } catch (error) {
      // Cancelled because the output went away: that is the whole story.
      const gone = outputGoneStatus();
      if (gone !== undefined) return gone;
      throw error;
    } finally {
      releaseOutput();
      if (forwardStdin) process.stdin.destroy();
      await executor.dispose();
    }
  } catch (error) {
    return reportError(error, json);
  }
}
