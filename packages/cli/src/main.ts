import { reportError } from "./report-error.js";
import { cliVersion } from "./version.js";

const HELP = `stigmer — run an agent's shell command on the host, in a sandbox, or let auto mode decide.

Usage:
  stigmer run [options] [--] <command...>     run a command and stream its output
  stigmer detect [--json|--jsonl] <command>   show where auto mode would run a command, and why
  stigmer sandbox build|ls|rm|prune           build sandbox images, list and reclaim sandboxes
  stigmer server start|status|stop            the executor as an HTTP service for agents (+ MCP at /mcp)
  stigmer mcp                                 an MCP server over stdio (tools run_command, classify_command)
  stigmer doctor                              check the setup, one line per check with a fix
  stigmer trust [FILE...]                     trust a project's config file (and plugins) after review
  stigmer help [command]                      show help
  stigmer --version

Modes (STIGMER_EXECUTION_MODE or --mode): local (default), sandbox, auto.
Run "stigmer <command> --help" for a command's options. Environment variables: see the README.`;

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
      case "server":
        return (await import("./commands/server.js")).serverCommand(rest);
      case "mcp":
        return (await import("./commands/mcp.js")).mcpCommand(rest);
      case "doctor":
        return (await import("./commands/doctor.js")).doctorCommand(rest);
      case "trust":
        return (await import("./commands/trust.js")).trustCommand(rest);
      case "help":
      case "--help":
      case "-h":
      case undefined: {
        if (rest[0] === "run") return (await import("./commands/run.js")).runCommand(["--help"]);
        if (rest[0] === "detect") return (await import("./commands/detect.js")).detectCommand(["--help"]);
        if (rest[0] === "sandbox") return (await import("./commands/sandbox.js")).sandboxCommand(["help"]);
        if (rest[0] === "server") return (await import("./commands/server.js")).serverCommand(["help"]);
        if (rest[0] === "mcp") return (await import("./commands/mcp.js")).mcpCommand(["--help"]);
        if (rest[0] === "doctor") return (await import("./commands/doctor.js")).doctorCommand(["--help"]);
        if (rest[0] === "trust") return (await import("./commands/trust.js")).trustCommand(["--help"]);
        process.stdout.write(`${HELP}\n`);
        return command === undefined ? 2 : 0;
      }
      case "--version":
      case "-v":
      case "version":
        process.stdout.write(`${cliVersion()}\n`);
        return 0;
      default:
        process.stderr.write(
          `stigmer: INVALID_REQUEST: unknown command "${command}". Commands: run, detect, sandbox, server, mcp, doctor, trust, help.\n`,
        );
        return 2;
    }
  } catch (error) {
    return reportError(error);
  }
}
