import { createExecutor, type Decision, decisionJson, type Executor, StigmerError } from "@stigmer/core";
import { configFlags, type OptionSpec, parseArgs } from "../args.js";
import { bundledPlugins } from "../plugins.js";
import { cliConfig } from "../preset.js";
import { EXIT_USAGE, reportError } from "../report-error.js";

export const DETECT_HELP = `Usage: stigmer detect [options] [--] <command...>
       stigmer detect --jsonl < commands.jsonl

Shows where auto mode would run a command, which rules decided and why. Runs nothing.

Options:
  --json       print {"mode": "local"|"sandbox", "rules": [...], "reason": "..."}
  --jsonl      read one {"command": "..."} object per stdin line, write one result line per input, in order
  --cwd <dir>  project directory the command would run in (default: the current directory)
  --config <file>
  -h, --help`;

const SPECS: Record<string, OptionSpec> = {
  json: { type: "boolean" },
  jsonl: { type: "boolean" },
  cwd: { type: "string" },
  config: { type: "string" },
  "log-level": { type: "string" },
  help: { type: "boolean", short: "h" },
};

export async function detectCommand(argv: readonly string[]): Promise<number> {
  let json = false;
  try {
    const { options, rest } = parseArgs(argv, SPECS, "detect");
    json = options.json === true;
    if (options.help) {
      process.stdout.write(`${DETECT_HELP}\n`);
      return 0;
    }
    const config = cliConfig({ flags: configFlags(options), defaults: { logLevel: "error" } });
    const executor = createExecutor({ config, modules: bundledPlugins });
    const cwd = (options.cwd as string | undefined) ?? process.cwd();
    try {
      if (options.jsonl) {
        await detectLines(executor, cwd);
        return 0;
      }
      if (rest.length === 0) {
        process.stderr.write("stigmer: INVALID_REQUEST: no command given: stigmer detect [--json] -- <command>\n");
        return EXIT_USAGE;
      }
      const decision = await executor.detect(rest.join(" "), { cwd });
      if (json) process.stdout.write(`${JSON.stringify(decisionJson(decision))}\n`);
      else process.stdout.write(`${decision.target}  [${decision.rules.join(", ")}]\n  ${decision.reason}\n`);
      return 0;
    } finally {
      await executor.dispose();
    }
  } catch (error) {
    return reportError(error, json);
  }
}

/** Line ends as readline (with `crlfDelay: Infinity`) splits on: `\r\n`, `\n` or a lone `\r`. */
const LINE_END = /\r\n|\n|\r/;

/**
 * `--jsonl`: one result line per non-blank input line, in order; a line that cannot be decided
 * gets `{"error": {"code", "message"}}` in its place. Stdin is read in chunks, and a chunk's lines
 * are decided without a promise each when the detector answers synchronously (the bundled one
 * does); results go out in blocks of about 64 KiB.
 */
async function detectLines(executor: Executor, cwd: string): Promise<void> {
  const context = { cwd };
  // Until the detector has loaded, executor.detect() (a load that fails is reported on that line and
  // tried again on the next); from then on its decider, which is synchronous for a synchronous detector.
  let decide: ((command: string, context: { cwd: string }) => Decision | Promise<Decision>) | undefined;
  const toRecord = (decision: Decision) => JSON.stringify(decisionJson(decision));
  const toError = (error: unknown) => {
    const code = StigmerError.isInstance(error) ? error.code : "INVALID_REQUEST";
    return JSON.stringify({ error: { code, message: (error as Error).message } });
  };
  const firstDecision = async (command: string) => {
    const decision = await executor.detect(command, context);
    decide = await executor.decider();
    return decision;
  };
  // Detectors are pure (the conformance suite checks it): a command seen before in this run gets the
  // same answer without being decided again. Bulk inputs (agent logs) repeat commands a lot.
  const seen = new Map<string, string>();
  const remember = (command: string, record: string) => {
    if (seen.size >= 100_000) seen.clear();
    seen.set(command, record);
    return record;
  };
  /** The result line for one input line: a promise only while the detector loads, or when it answers with one. */
  const answer = (line: string): string | Promise<string> => {
    try {
      const input = JSON.parse(line) as { command?: unknown };
      if (typeof input?.command !== "string") throw new Error('expected {"command": "..."}');
      const command = input.command;
      const known = seen.get(command);
      if (known !== undefined) return known;
      const decision = decide ? decide(command, context) : firstDecision(command);
      return decision instanceof Promise
        ? decision.then((d) => remember(command, toRecord(d))).catch(toError)
        : remember(command, toRecord(decision));
    } catch (error) {
      return toError(error);
    }
  };

  let out = "";
  let partial = ""; // the start of a line whose end has not been read yet
  process.stdin.setEncoding("utf8");
  for await (const chunk of process.stdin as AsyncIterable<string>) {
    // As readline does: only a chunk with a line end completes a line (no rescanning a long one).
    if (chunk.indexOf("\n") === -1 && chunk.indexOf("\r") === -1) {
      partial += chunk;
      continue;
    }
    // A "\r\n" split between two chunks reads as a line end, then an empty line: blank lines are skipped.
    const lines = (partial + chunk).split(LINE_END);
    partial = lines.pop() as string;
    for (const line of lines) {
      if (line.trim() === "") continue;
      const record = answer(line);
      out += `${typeof record === "string" ? record : await record}\n`;
      if (out.length > 65536) {
        if (!process.stdout.write(out)) await new Promise((resolve) => process.stdout.once("drain", resolve));
        out = "";
      }
    }
  }
  if (partial.trim() !== "") {
    const record = answer(partial);
    out += `${typeof record === "string" ? record : await record}\n`;
  }
  process.stdout.write(out);
}
