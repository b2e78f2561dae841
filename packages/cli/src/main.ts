import { readFileSync } from "node:fs";
import { reportError } from "./report-error.js";

const HELP = `stigmer — run an agent's shell command on the host, in a sandbox, or let auto mode decide.

Usage:
  stigmer run [options] [--] <command...>     run a command and stream its output
  stigmer detect [--json|--jsonl] <command>   show where auto mode would run a command, and why
  stigmer sandbox build|ls|rm|prune           build sandbox images, list and reclaim sandboxes
  stigmer help [command]                      show help
  stigmer --version

Modes (STIGMER_EXECUTION_MODE or --mode): local (default), sandbox, auto.
Run "stigmer <command> --help" for a command's options. Environment variables: see the README.`;

function version(): string {
  // dist/main.js and dist/bundle/*.js sit at different depths: walk up to our package.json.
  for (let url = new URL("./package.json", import.meta.url); ; url = new URL("../package.json", url)) {
    try {
      const pkg = JSON.parse(readFileSync(url, "utf8")) as { name?: string; version: string };
      if (pkg.name === "stigmer") return pkg.version;
    } catch {
      // not here
    }
    if (url.pathname === "/package.json") return "unknown";
  }
}

/** The CLI: returns the process exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "run":
        return (await import("./commands/run.js")).runCommand(rest);
      case "detect":
        return (await import("./commands/detect.js")).detectCommand(rest);
      case "sandbox":
        return (await import("./commands/sandbox.js")).sandboxCommand(rest);
      case "help":
      case "--help":
      case "-h":
      case undefined: {
        if (rest[0] === "run") return (await import("./commands/run.js")).runCommand(["--help"]);
        if (rest[0] === "detect") return (await import("./commands/detect.js")).detectCommand(["--help"]);
        if (rest[0] === "sandbox") return (await import("./commands/sandbox.js")).sandboxCommand(["help"]);
        process.stdout.write(`${HELP}\n`);
        return command === undefined ? 2 : 0;
      }
      case "--version":
      case "-v":
      case "version":
        process.stdout.write(`${version()}\n`);
        return 0;
      default:
        process.stderr.write(`stigmer: INVALID_REQUEST: unknown command "${command}". Commands: run, detect, sandbox, help.\n`);
        return 2;
    }
  } catch (error) {
    return reportError(error);
  }
}
