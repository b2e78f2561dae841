import { CapabilityUnsupportedError, createExecutor, InvalidRequestError, type SandboxInfo } from "@stigmer/core";
import { type OptionSpec, parseArgs } from "../args.js";
import { bundledPlugins, importBackend } from "../plugins.js";
import { cliConfig } from "../preset.js";
import { EXIT_USAGE, reportError } from "../report-error.js";

export const SANDBOX_HELP = `Usage: stigmer sandbox <command>

  build [--full] [-t TAG] [--build-arg NAME=value]... [--no-cache] [--pull]
        build a sandbox image from the Dockerfiles Stigmer ships (Dockerfile.sandbox, or
        Dockerfile.sandbox.full with --full), showing Docker's progress, then its size;
        --no-cache builds every layer again, --pull pulls newer base images first
  ls [--json]            list the sandboxes Stigmer manages, with owner, state and expiry
  rm <id|name>...        remove sandboxes
  prune [--all]          remove expired, stopped and orphaned sandboxes (--all: also the ones kept
                         for reuse; never one another running stigmer is using)

The sandbox backend is the configured one (STIGMER_SANDBOX_BACKEND, docker by default).`;

const SPECS: Record<string, OptionSpec> = {
  full: { type: "boolean" },
  tag: { type: "string", short: "t" },
  "build-arg": { type: "list" },
  "no-cache": { type: "boolean" },
  pull: { type: "boolean" },
  json: { type: "boolean" },
  all: { type: "boolean" },
  config: { type: "string" },
  help: { type: "boolean", short: "h" },
};

function ago(iso: string | undefined): string {
  if (!iso) return "-";
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  const abs = Math.abs(seconds);
  const text = abs < 90 ? `${abs}s` : abs < 5400 ? `${Math.round(abs / 60)}m` : `${Math.round(abs / 3600)}h`;
  return seconds >= 0 ? `${text} ago` : `in ${text}`;
}

function table(rows: SandboxInfo[]): string {
  const head = ["NAME", "STATE", "IMAGE", "WORKSPACE", "OWNER", "LAST USED", "EXPIRES"];
  const body = rows.map((r) => [
    r.name,
    r.state,
    r.image,
    r.workspace ?? "-",
    `${r.owner ?? "-"}${r.ownedByThisProcess ? " (this)" : ""}`,
    ago(r.lastUsedAt),
    ago(r.expiresAt),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] as string).length)));
  return [head, ...body]
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] as number))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export async function sandboxCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  let json = false;
  try {
    const { options, rest: args } = parseArgs(rest, SPECS, `sandbox ${sub ?? ""}`.trim());
    json = options.json === true;
    if (options.help || sub === undefined || sub === "help" || sub === "--help" || sub === "-h") {
      process.stdout.write(`${SANDBOX_HELP}\n`);
      return sub === undefined ? EXIT_USAGE : 0;
    }
    if (sub === "build") {
      const { buildSandboxImage, BASIC_SIZE_TARGET } = await importBackend("docker");
      const buildArgs = Object.fromEntries(
        ((options["build-arg"] as string[] | undefined) ?? []).map((a) => {
          const eq = a.indexOf("=");
          if (eq <= 0) throw new InvalidRequestError(`--build-arg ${a} is not NAME=value.`);
          return [a.slice(0, eq), a.slice(eq + 1)];
        }),
      );
      const result = await buildSandboxImage({
        full: options.full === true,
        ...(options.tag ? { tag: options.tag as string } : {}),
        buildArgs,
        noCache: options["no-cache"] === true,
        pull: options.pull === true,
        onLine: (line) => process.stderr.write(`${line}\n`),
      });
      const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
      const { size: baseSize, image: base } = result.base;
      const parts = baseSize === undefined ? [] : [`${base} ${mb(baseSize)} + ${mb(result.size - baseSize)} added`];
      if (options.full !== true) parts.push(`target ≈ ${BASIC_SIZE_TARGET.totalMB} MB, ≤ ${BASIC_SIZE_TARGET.addedMB} MB added`);
      process.stdout.write(`built ${result.tag}: ${mb(result.size)}${parts.length ? ` (${parts.join("; ")})` : ""}\n`);
      return 0;
    }
    const config = cliConfig({ flags: options.config ? { config: options.config as string } : {}, defaults: { logLevel: "error" } });
    const executor = createExecutor({ config, modules: bundledPlugins });
    try {
      const backend = await executor.backend("sandbox");
      const manager = backend.sandboxes;
      if (!manager)
        throw new CapabilityUnsupportedError(`The sandbox backend "${config.sandbox.backend}" does not keep sandboxes to list or remove.`);
      switch (sub) {
        case "ls": {
          const rows = await manager.list();
          if (json) process.stdout.write(`${JSON.stringify(rows)}\n`);
          else process.stdout.write(rows.length ? `${table(rows)}\n` : "no sandboxes\n");
          return 0;
        }
        case "rm": {
          if (args.length === 0) {
            process.stderr.write("stigmer: INVALID_REQUEST: name the sandboxes to remove: stigmer sandbox rm <id|name>...\n");
            return EXIT_USAGE;
          }
          for (const id of args) {
            await manager.remove(id);
            process.stdout.write(`removed ${id}\n`);
          }
          return 0;
        }
        case "prune": {
          const removed = await manager.prune({ all: options.all === true });
          for (const r of removed) process.stdout.write(`removed ${r.name} (${r.state})\n`);
          process.stdout.write(`${removed.length} sandbox(es) removed\n`);
          return 0;
        }
        default:
          process.stderr.write(`stigmer: INVALID_REQUEST: unknown sandbox command "${sub}": build, ls, rm or prune.\n`);
          return EXIT_USAGE;
      }
    } finally {
      await executor.dispose();
    }
  } catch (error) {
    return reportError(error, json);
  }
}
