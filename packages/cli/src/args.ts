import { type ConfigFlags, InvalidRequestError } from "@stigmer/core";

export interface OptionSpec {
  /** `string` takes a value (`--x=v` or `--x v`); `boolean` does not; `list` may repeat. */
  type: "string" | "boolean" | "list";
  short?: string;
}

export interface ParsedArgs {
  options: Record<string, string | boolean | string[] | undefined>;
  /** Everything from the first positional argument, or after `--`, on. */
  rest: string[];
}

function usage(message: string): never {
  throw new InvalidRequestError(message, { details: { field: "arguments" } });
}

/**
 * Parses options up to the first positional argument (or `--`); the rest is the command, untouched.
 * So `stigmer run ls -la` runs `ls -la`, as `env` or `sudo` would.
 */
export function parseArgs(argv: readonly string[], specs: Record<string, OptionSpec>, command: string): ParsedArgs {
  const options: ParsedArgs["options"] = {};
  const byShort = new Map(Object.entries(specs).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
    } else {
      name = byShort.get(arg.slice(1)) ?? arg;
    }
    let spec = specs[name];
    if (!spec && name.startsWith("no-") && specs[name.slice(3)]?.type === "boolean") {
      options[name.slice(3)] = false;
      continue;
    }
    if (!spec) usage(`Unknown option ${arg} for "stigmer ${command}": see "stigmer ${command} --help" (put the command after --).`);
    spec = spec as OptionSpec;
    if (spec.type === "boolean") {
      if (inline !== undefined) usage(`Option --${name} takes no value.`);
      options[name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) usage(`Option --${name} needs a value.`);
    }
    if (spec.type === "list") options[name] = [...((options[name] as string[] | undefined) ?? []), value];
    else options[name] = value;
  }
  return { options, rest: argv.slice(i) };
}

/** The configuration flags (`--mode`, `--sandbox-image`, `--workspace`, `--allowed-root`, `--timeout`, `--log-level`, `--config`) a command was given. */
export function configFlags(options: ParsedArgs["options"]): ConfigFlags {
  const pick = (name: string) => (typeof options[name] === "string" ? (options[name] as string) : undefined);
  const flags: ConfigFlags = {};
  const mode = pick("mode");
  const sandboxImage = pick("sandbox-image");
  const timeout = pick("timeout");
  const logLevel = pick("log-level");
  const config = pick("config");
  const workspace = pick("workspace");
  const roots = options["allowed-root"];
  if (workspace !== undefined) flags.workspace = workspace;
  if (Array.isArray(roots) && roots.length > 0) flags.allowedRoots = roots;
  if (mode !== undefined) flags.mode = mode;
  if (sandboxImage !== undefined) flags.sandboxImage = sandboxImage;
  if (timeout !== undefined) flags.timeout = timeout;
  if (logLevel !== undefined) flags.logLevel = logLevel;
  if (config !== undefined) flags.config = config;
  return flags;
}

/** A numeric option from `min` to `max`; INVALID_REQUEST naming it otherwise. */
export function whole(options: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const raw = options[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(String(raw)) || !Number.isFinite(n) || n < min || n > max) {
    throw new InvalidRequestError(`--${name} ${String(raw)} is not valid: use a number from ${min} to ${max}.`, {
      details: { field: name },
    });
  }
  return n;
}
