import { type DestinationStream, type Logger as PinoLogger, pino } from "pino";
import type { LogLevel } from "./config.js";

export type Logger = PinoLogger;

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

/** The one way Stigmer makes a logger: pino, JSON lines, secrets censored. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? "stigmer",
      level: options.level ?? "info",
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      base: { pid: process.pid },
    },
    options.destination ?? pino.destination({ dest: 2, sync: true }),
  );
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
