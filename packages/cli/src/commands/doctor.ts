import { createExecutor, type DiagnosisCheck, diagnose, type Executor, type StigmerConfig, within } from "@stigmer/core";
import { type OptionSpec, parseArgs } from "../args.js";
import { bundledPlugins } from "../plugins.js";
import { cliConfig } from "../preset.js";
import { reportError } from "../report-error.js";
import { cliVersion } from "../version.js";

export const DOCTOR_HELP = `Usage: stigmer doctor [--json] [--config FILE]

Checks the setup and prints one line per check, with what to do when one is not ok:
  node             Node.js is recent enough
  config           the configuration (flags, STIGMER_* variables, config file) is valid, and so
                   are the settings of every configured plugin (DAYTONA_*, plugins.<name>, …)
  sandbox-backend  the sandbox backend loads and answers (Docker engine, or the Daytona API)
  then the sandbox backend's own checks, for example:
    sandbox-image  the sandbox image is present locally (docker; daytona builds it remotely)
    daytona        the Daytona key and API (MODE=cloud)
  sandbox-environment  what sandboxes get from the host: network, CAs, proxy settings (warns
                   about STIGMER_SANDBOX_NETWORK=host)
  detector         the auto-mode detector loads and answers

A check fails when something the configured mode needs is broken; a sandbox problem in local
mode is a warning. Exit status: 0 when no check failed, 1 when one did, 2 for a bad option.

Options:
  --json           print the checks as a JSON array ({id, status, message, fix?, details?})
  --config FILE    config file to check (default: STIGMER_CONFIG, else ./stigmer.config.json)`;

const SPECS: Record<string, OptionSpec> = {
  json: { type: "boolean" },
  config: { type: "string" },
  help: { type: "boolean", short: "h" },
};

const LABELS: Record<DiagnosisCheck["status"], string> = { ok: "ok", warn: "warn", fail: "FAIL", skip: "skip" };

/** One line per check (status, id, message, fix), then a summary. */
export function formatChecks(checks: readonly DiagnosisCheck[], version?: string): string {
  const width = Math.max(...checks.map((c) => c.id.length));
  const lines = checks.map((c) => {
    const fix = c.fix && c.status !== "ok" ? ` — fix: ${c.fix}` : "";
    return `${LABELS[c.status].padEnd(6)}${c.id.padEnd(width + 2)}${c.message}${fix}`;
  });
  const count = (s: DiagnosisCheck["status"]) => checks.filter((c) => c.status === s).length;
  const failed = count("fail");
  const warned = count("warn");
  const tally = `${count("ok")} ok, ${warned} warning${warned === 1 ? "" : "s"}, ${failed} failed, ${count("skip")} skipped`;
  const verdict =
    failed > 0
      ? `${failed === 1 ? "a check" : `${failed} checks`} failed: apply the fix and run stigmer doctor again`
      : warned > 0
        ? "ready, with warnings"
        : "ready";
  lines.push("", `stigmer${version ? ` ${version}` : ""}: ${tally} — ${verdict}.`);
  return lines.join("\n");
}

export async function doctorCommand(argv: readonly string[]): Promise<number> {
  let json = false;
  try {
    const { options, rest } = parseArgs(argv, SPECS, "doctor");
    json = options.json === true;
    if (options.help) {
      process.stdout.write(`${DOCTOR_HELP}\n`);
      return 0;
    }
    if (rest.length > 0) {
      process.stderr.write(
        `stigmer: INVALID_REQUEST: stigmer doctor takes no arguments (got "${rest.join(" ")}"): see stigmer doctor --help.\n`,
      );
      return 2;
    }
    let config: StigmerConfig | undefined;
    let configError: unknown;
    try {
      config = cliConfig({ flags: options.config ? { config: options.config as string } : {}, defaults: { logLevel: "error" } });
    } catch (error) {
      // A bad setting is what doctor is for: report it as a failed check rather than exiting.
      configError = error;
    }
    let executor: Executor | undefined;
    const version = cliVersion();
    try {
      if (config) executor = createExecutor({ config, modules: bundledPlugins });
      const checks = await diagnose({
        ...(config ? { config } : {}),
        ...(configError !== undefined ? { configError } : {}),
        ...(executor ? { executor } : {}),
        ...(version ? { version } : {}),
      });
      process.stdout.write(json ? `${JSON.stringify(checks, null, 2)}\n` : `${formatChecks(checks, version)}\n`);
      return checks.some((c) => c.status === "fail") ? 1 : 0;
    } finally {
      // A backend still waiting on an engine or API that never answered must not hold the exit.
      if (executor) await within(executor.dispose(), 5000);
    }
  } catch (error) {
    return reportError(error, json);
  }
}
