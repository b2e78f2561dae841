import { createInterface } from "node:readline";
import { createExecutor, decisionJson, resolveConfig, StigmerError } from "@stigmer/core";
import { type OptionSpec, parseArgs } from "../args.js";
import { bundledPlugins } from "../plugins.js";
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
    const config = resolveConfig({
      flags: {
        ...(options.config !== undefined ? { config: options.config as string } : {}),
        ...(options["log-level"] !== undefined ? { logLevel: options["log-level"] as string } : {}),
      },
      defaults: { logLevel: "error" },
    });
    const executor = createExecutor({ config, modules: bundledPlugins });
    const cwd = (options.cwd as string | undefined) ?? process.cwd();
    try {
      if (options.jsonl) {
        const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
        let out = "";
        for await (const line of lines) {
          if (line.trim() === "") continue;
          let record: string;
          try {
            const input = JSON.parse(line) as { command?: unknown };
            if (typeof input?.command !== "string") throw new Error('expected {"command": "..."}');
            record = JSON.stringify(decisionJson(await executor.detect(input.command, { cwd })));
          } catch (error) {
            const code = StigmerError.isInstance(error) ? error.code : "INVALID_REQUEST";
            record = JSON.stringify({ error: { code, message: (error as Error).message } });
          }
          out += `${record}\n`;
          if (out.length > 65536) {
            if (!process.stdout.write(out)) await new Promise((r) => process.stdout.once("drain", r));
            out = "";
          }
        }
        process.stdout.write(out);
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
