/**
 * Every error Stigmer raises on purpose is a {@link StigmerError} with a stable {@link ErrorCode}.
 * Callers branch on `code`, never on the message; the message says what happened and what to do.
 */

/** Stable error codes. Adding a code is a minor change; renaming or removing one is a major change. */
export const ErrorCode = {
  /** A configuration value (flag, environment variable or config file key) is invalid. */
  INVALID_CONFIG: "INVALID_CONFIG",
  /** The execution request itself is invalid (empty command, missing cwd, bad env name, …). */
  INVALID_REQUEST: "INVALID_REQUEST",
  /** A backend cannot run commands right now (daemon unreachable, API failing, disposed). */
  BACKEND_UNAVAILABLE: "BACKEND_UNAVAILABLE",
  /** The sandbox image is missing and cannot be pulled. */
  IMAGE_NOT_FOUND: "IMAGE_NOT_FOUND",
  /** A command needs the sandbox, but no sandbox backend is installed or configured. Never falls back to the host. */
  SANDBOX_UNAVAILABLE: "SANDBOX_UNAVAILABLE",
  /** An operation (other than the command itself, whose timeout is reported in the exit event) timed out. */
  TIMEOUT: "TIMEOUT",
  /** The request was cancelled before the command started. */
  CANCELLED: "CANCELLED",
  /** A plugin package is missing, failed to import, or exports the wrong shape. */
  PLUGIN_LOAD_FAILED: "PLUGIN_LOAD_FAILED",
  /** The request needs a capability the chosen backend does not declare. */
  CAPABILITY_UNSUPPORTED: "CAPABILITY_UNSUPPORTED",
  /** The backend failed while the command was running (container killed from outside, connection lost). */
  EXECUTION_FAILED: "EXECUTION_FAILED",
  /** A named thing (a sandbox) does not exist. */
  NOT_FOUND: "NOT_FOUND",
  /** As many commands run as allowed (the server's concurrency limit): retry later. */
  BUSY: "BUSY",
  /**
   * A config file or plugin module lies where a sandboxed command could have written it (the project
   * directory) and the user has not trusted its current content: review it, then `stigmer trust`.
   */
  UNTRUSTED_CONFIG: "UNTRUSTED_CONFIG",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

// A Symbol.for marker instead of `instanceof`: a plugin may load its own copy of @stigmer/core,
// and its errors must still be recognised by ours.
const marker = Symbol.for("stigmer.error");

export interface StigmerErrorOptions {
  cause?: unknown;
  /** Extra machine-readable facts (the variable name, the image, the socket path, …). No secrets. */
  details?: Record<string, unknown>;
}

export class StigmerError extends Error {
  readonly [marker] = true;
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: StigmerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StigmerError";
    this.code = code;
    this.details = options.details ?? {};
  }

  /** True for any StigmerError, including one created by another installed copy of @stigmer/core. */
  static isInstance(error: unknown): error is StigmerError {
    return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }

  /** A plain object for JSON output (CLI `--json`, HTTP bodies). */
  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

function subclass(code: ErrorCode, name: string) {
  const Class = class extends StigmerError {
    constructor(message: string, options?: StigmerErrorOptions) {
      super(code, message, options);
      this.name = name;
    }
    static override isInstance(error: unknown): error is StigmerError {
      return StigmerError.isInstance(error) && error.code === code;
    }
  };
  Object.defineProperty(Class, "name", { value: name });
  return Class;
}

export const InvalidConfigError = subclass(ErrorCode.INVALID_CONFIG, "InvalidConfigError");
export const InvalidRequestError = subclass(ErrorCode.INVALID_REQUEST, "InvalidRequestError");
export const BackendUnavailableError = subclass(ErrorCode.BACKEND_UNAVAILABLE, "BackendUnavailableError");
export const ImageNotFoundError = subclass(ErrorCode.IMAGE_NOT_FOUND, "ImageNotFoundError");
export const SandboxUnavailableError = subclass(ErrorCode.SANDBOX_UNAVAILABLE, "SandboxUnavailableError");
export const TimeoutError = subclass(ErrorCode.TIMEOUT, "TimeoutError");
export const CancelledError = subclass(ErrorCode.CANCELLED, "CancelledError");
export const PluginLoadError = subclass(ErrorCode.PLUGIN_LOAD_FAILED, "PluginLoadError");
export const CapabilityUnsupportedError = subclass(ErrorCode.CAPABILITY_UNSUPPORTED, "CapabilityUnsupportedError");
export const ExecutionFailedError = subclass(ErrorCode.EXECUTION_FAILED, "ExecutionFailedError");
export const NotFoundError = subclass(ErrorCode.NOT_FOUND, "NotFoundError");
export const BusyError = subclass(ErrorCode.BUSY, "BusyError");
export const UntrustedConfigError = subclass(ErrorCode.UNTRUSTED_CONFIG, "UntrustedConfigError");

/** Codes that mean "the input was wrong": the CLI exits 2 for these, the server answers 400. */
export function isUsageError(error: unknown): boolean {
  return (
    StigmerError.isInstance(error) &&
    (error.code === ErrorCode.INVALID_CONFIG || error.code === ErrorCode.INVALID_REQUEST || error.code === ErrorCode.UNTRUSTED_CONFIG)
  );
}
