import { createRequire } from "node:module";
import type { DestinationStream, Logger as PinoLogger } from "pino";
import type { LogLevel } from "./config.js";

type LogFn = {
  (object: object, message?: string): void;
  (message: string): void;
};

/**
 * The logger every part of Stigmer receives (`@inject(LoggerToken)`): the subset of pino's API that
 * plugins may rely on. Records are pino JSON lines; secrets are censored (see {@link REDACTED_PATHS}).
 */
export interface Logger {
  readonly level: string;
  isLevelEnabled(level: string): boolean;
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

/** Paths pino censors in every log record, whatever a plugin logs. */
export const REDACTED_PATHS = [
  "env",
  "*.env",
  "apiKey",
  "*.apiKey",
  "*.*.apiKey",
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
];

export interface CreateLoggerOptions {
  level?: LogLevel;
  /** Where lines go; defaults to standard error so command output on stdout stays clean. */
  destination?: DestinationStream;
  name?: string;
}

const LEVEL_VALUES: Record<string, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};
const METHODS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;

/**
 * A logger that loads pino only when it first writes a record. The CLI logs at `error` by
 * default, so an ordinary run never pays pino's ~15-25 ms of start-up.
 */
class LazyLogger implements Logger {
  declare fatal: LogFn;
  declare error: LogFn;
  declare warn: LogFn;
  declare info: LogFn;
  declare debug: LogFn;
  declare trace: LogFn;
  private instance: PinoLogger | undefined;

  constructor(
    readonly level: LogLevel,
    private readonly make: () => PinoLogger,
  ) {
    for (const method of METHODS) {
      const enabled = LEVEL_VALUES[method]! >= LEVEL_VALUES[level]!;
      this[method] = enabled ? (...args: unknown[]) => (this.pino()[method] as (...a: unknown[]) => void)(...args) : () => {};
    }
  }

  private pino(): PinoLogger {
    this.instance ??= this.make();
    return this.instance;
  }

  isLevelEnabled(level: string): boolean {
    return (LEVEL_VALUES[level] ?? 0) >= LEVEL_VALUES[this.level]!;
  }

  child(bindings: Record<string, unknown>): Logger {
    return new LazyLogger(this.level, () => this.pino().child(bindings));
  }
}

/** The one way Stigmer makes a logger: pino, JSON lines, secrets censored, loaded on first use. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  return new LazyLogger(level, () => {
    // Synchronous on purpose: a log call cannot wait for an import.
    const { pino } = createRequire(import.meta.url)("pino") as typeof import("pino");
    return pino(
      {
        name: options.name ?? "stigmer",
        level,
        redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
        base: { pid: process.pid },
      },
      options.destination ?? pino.destination({ dest: 2, sync: true }),
    );
  });
}

/**
 * Replaces every occurrence of each secret in `text` with `[redacted]`. Used for command lines in
 * log records: a request's env values (and configured API keys) may be spelled inside the command.
 * Secrets shorter than 4 characters are left alone (they would censor ordinary words).
 */
export function scrubSecrets(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join("[redacted]");
  }
  return out;
}
