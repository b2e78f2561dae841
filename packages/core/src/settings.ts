import { InvalidConfigError } from "./errors.js";
import { redactUrl } from "./host-trust.js";

/**
 * Parsers for settings, shared by core's own configuration and every plugin's settings schema
 * ({@link PluginSettings}): each takes the raw value (a string from a flag or the environment, any
 * JSON value from the config file) and where it came from, and returns the value or throws
 * `INVALID_CONFIG` naming the source exactly (`STIGMER_SANDBOX_TTL=abc`, `--timeout=x`,
 * `/path/stigmer.config.json: plugins.acme.region = 3`), the value and what is accepted.
 */

/** Where a raw setting value came from: a flag, an environment variable or a config-file key. */
export type SettingSource = { kind: "flag" | "env" | "file"; name: string };
/** Validates one raw value from `where`; throws `INVALID_CONFIG` (see {@link invalidSetting}). */
export type SettingParser<T> = (raw: unknown, where: SettingSource) => T;

function describe(where: SettingSource, raw: unknown): string {
  const shown = typeof raw === "string" ? raw : JSON.stringify(raw);
  if (where.kind === "file") return `${where.name} = ${shown}`;
  return `${where.name}=${shown}`;
}

/** Throws `INVALID_CONFIG`: "`<source>=<value>` is not valid: `<expected>`." with `details: { source, name, value }`. */
export function invalidSetting(where: SettingSource, raw: unknown, expected: string): never {
  throw new InvalidConfigError(`${describe(where, raw)} is not valid: ${expected}.`, {
    details: { source: where.kind, name: where.name, value: raw },
  });
}

/**
 * The value a setting is given and where, by precedence: a flag (any value given), else an
 * environment variable (not empty), else a config-file value; undefined when it is given nowhere.
 * Core's settings and every plugin's are read by this one rule.
 */
export function givenSetting(sources: {
  flag?: { name: string; value: unknown } | undefined;
  env?: { name: string; value: string | undefined } | undefined;
  file?: { name: string; value: unknown } | undefined;
}): { raw: unknown; where: SettingSource } | undefined {
  const { flag, env, file } = sources;
  if (flag && flag.value !== undefined) return { raw: flag.value, where: { kind: "flag", name: flag.name } };
  if (env && env.value !== undefined && env.value !== "") return { raw: env.value, where: { kind: "env", name: env.name } };
  if (file && file.value !== undefined) return { raw: file.value, where: { kind: "file", name: file.name } };
  return undefined;
}

/** One of `values` (case-insensitive); `what` names the setting in the message. */
export const oneOf =
  <T extends string>(values: readonly T[], what: string): SettingParser<T> =>
  (raw, where) => {
    const text = typeof raw === "string" ? raw.trim().toLowerCase() : raw;
    if (typeof text === "string" && (values as readonly string[]).includes(text)) return text as T;
    return invalidSetting(where, raw, `${what} must be one of ${values.join(", ")}`);
  };

/** `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off` from the environment). */
export const bool: SettingParser<boolean> = (raw, where) => {
  if (typeof raw === "boolean") return raw;
  if (typeof raw === "string") {
    const t = raw.trim().toLowerCase();
    if (["true", "1", "yes", "on"].includes(t)) return true;
    if (["false", "0", "no", "off"].includes(t)) return false;
  }
  return invalidSetting(where, raw, "use true or false");
};

const number = (raw: unknown): number => {
  if (typeof raw === "number") return raw;
  if (typeof raw === "string" && /^\s*\d+(\.\d+)?\s*$/.test(raw)) return Number(raw);
  return Number.NaN;
};

/** A whole number of seconds, 0 or more. */
export const wholeSeconds: SettingParser<number> = (raw, where) => {
  const n = number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 315_360_000) {
    return invalidSetting(where, raw, "use a whole number of seconds, 0 or more (for example 3600)");
  }
  return n;
};

/** Seconds (fractions allowed) to milliseconds; 0 means no timeout. */
export const timeoutSeconds: SettingParser<number | undefined> = (raw, where) => {
  const n = number(raw);
  const maxSeconds = 2_147_483; // setTimeout's limit
  if (!Number.isFinite(n) || n < 0 || n > maxSeconds) {
    return invalidSetting(where, raw, `use a number of seconds from 0 (no timeout) to ${maxSeconds}, for example 30 or 0.5`);
  }
  return n === 0 ? undefined : Math.max(1, Math.round(n * 1000));
};

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** A memory size in bytes (`512m`, `2g`, a number of bytes), at least 6 MiB, or 0 for no limit. */
export const memorySize: SettingParser<number> = (raw, where) => {
  const match =
    typeof raw === "number"
      ? [String(raw), String(raw), ""]
      : typeof raw === "string"
        ? /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw)
        : null;
  const unit = SIZE_UNITS[(match?.[2] ?? "").toLowerCase()];
  const bytes = match && unit !== undefined ? Math.round(Number(match[1]) * unit) : Number.NaN;
  if (!Number.isFinite(bytes) || (bytes !== 0 && bytes < 6 * 1024 ** 2)) {
    return invalidSetting(where, raw, "use a size such as 512m or 2g (at least 6m), or 0 for no limit");
  }
  return bytes;
};

/** A number of CPUs (fractions allowed), or 0 for no limit. */
export const cpuCount: SettingParser<number> = (raw, where) => {
  const n = number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 1024)
    return invalidSetting(where, raw, "use a number of CPUs such as 1, 2 or 0.5, or 0 for no limit");
  return n;
};

/** A whole number, or 0 for no limit. */
export const wholeCount: SettingParser<number> = (raw, where) => {
  const n = number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 4_194_304) return invalidSetting(where, raw, "use a whole number, or 0 for no limit");
  return n;
};

/** A whole number of bytes from 1024 to 1 GiB. */
export const byteCount: SettingParser<number> = (raw, where) => {
  const n = number(raw);
  if (!Number.isInteger(n) || n < 1024 || n > 1024 ** 3) {
    return invalidSetting(where, raw, "use a whole number of bytes from 1024 to 1073741824");
  }
  return n;
};

/** A whole number of bytes, at least 1 MiB. */
export const syncBytes: SettingParser<number> = (raw, where) => {
  const n = number(raw);
  if (!Number.isInteger(n) || n < 1024 * 1024) return invalidSetting(where, raw, "use a whole number of bytes, at least 1048576");
  return n;
};

/** A non-empty string (trimmed). */
export const text: SettingParser<string> = (raw, where) => {
  if (typeof raw === "string" && raw.trim() !== "") return raw.trim();
  return invalidSetting(where, raw, "expected a non-empty string");
};

/**
 * An http(s) URL with nothing a key could hide in (userinfo, query, fragment), trailing slashes
 * removed; a refused value is shown redacted. `example` ends the message (`such as https://…`).
 */
export const httpUrl =
  (example: string): SettingParser<string> =>
  (raw, where) => {
    if (typeof raw === "string") {
      const value = raw.trim();
      try {
        const url = new URL(value);
        if (
          (url.protocol === "http:" || url.protocol === "https:") &&
          !url.username &&
          !url.password &&
          !value.includes("?") &&
          !value.includes("#")
        )
          return value.replace(/\/+$/, "");
      } catch {}
    }
    return invalidSetting(
      where,
      typeof raw === "string" ? redactUrl(raw) : raw,
      `expected an http(s) URL without credentials, query or fragment, ${example}`,
    );
  };
