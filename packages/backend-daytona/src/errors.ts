import { BackendUnavailableError, ExecutionFailedError, ImageNotFoundError, StigmerError, TimeoutError } from "@stigmer/core";

/** What the SDK's errors carry (DaytonaError and its per-status subclasses). */
interface SdkError {
  name?: string;
  message?: string;
  statusCode?: number;
  code?: string;
  headers?: Record<string, unknown>;
}

export function statusOf(error: unknown): number | undefined {
  const status = (error as SdkError | undefined)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/** A connection that failed or timed out before Daytona answered (the SDK's DaytonaConnectionError family, or a raw socket error). */
export function isConnectionError(error: unknown): boolean {
  const e = error as SdkError & { cause?: unknown };
  if (!e || typeof e !== "object") return false;
  if (e.name === "DaytonaConnectionError" || e.name === "DaytonaConnectionTimeoutError") return true;
  if (
    typeof e.code === "string" &&
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNABORTED|ERR_SOCKET_CLOSED|UND_ERR_SOCKET)$/.test(
      e.code,
    )
  )
    return true;
  return e.cause !== undefined && e.cause !== error && isConnectionError(e.cause);
}

/** 429 and 5xx (and 408): Daytona did not do the work; asking again later may succeed. */
export function isRetryableStatus(status: number | undefined): boolean {
  return status === 408 || status === 429 || (status !== undefined && status >= 500 && status <= 599);
}

/** The delay Daytona asked for with `retry-after` (seconds or an HTTP date), in ms. */
export function retryAfterMs(error: unknown, now = Date.now()): number | undefined {
  const headers = (error as SdkError | undefined)?.headers;
  const value = headers && (headers["retry-after"] ?? headers["Retry-After"]);
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Daytona's own words, without anything that could be a credential. */
function daytonaSays(error: unknown): string {
  const message = String((error as SdkError | undefined)?.message ?? error).replace(/Bearer\s+\S+/gi, "Bearer [redacted]");
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}

/**
 * Turns whatever the SDK threw into a StigmerError with a stable code and a message that says what
 * to do. `what` names the operation ("creating a sandbox"). StigmerErrors pass through.
 */
export function toStigmerError(error: unknown, what: string, apiUrl: string): StigmerError {
  if (StigmerError.isInstance(error)) return error;
  const status = statusOf(error);
  const details = { apiUrl, ...(status !== undefined ? { status } : {}), operation: what };
  const says = daytonaSays(error);
  if (status === 401) {
    return new BackendUnavailableError(
      `Daytona rejected the API key while ${what} (401 ${says}): check DAYTONA_API_KEY — it may be mistyped, revoked or expired — and that DAYTONA_API_URL (${apiUrl}) is the API it belongs to.`,
      { cause: error, details: { ...details, reason: "unauthorized" } },
    );
  }
  if (status === 403) {
    return new BackendUnavailableError(
      `Daytona refused ${what} (403 ${says}): the API key lacks the permission or the organization has hit a quota; give the key sandbox permissions or free resources in the Daytona dashboard.`,
      { cause: error, details: { ...details, reason: "forbidden" } },
    );
  }
  if (status === 429 || (status !== undefined && status >= 500) || status === 408) {
    return new BackendUnavailableError(
      `Daytona is failing while ${what} (${status} ${says}; requests that were safe to repeat were retried with backoff): check Daytona's status page and try again later.`,
      { cause: error, details: { ...details, reason: status === 429 ? "rate-limited" : "server-error" } },
    );
  }
  if (isConnectionError(error) || (error as SdkError | undefined)?.name === "DaytonaTimeoutError") {
    return new BackendUnavailableError(
      `Cannot reach the Daytona API at ${apiUrl} while ${what} (${says}): check DAYTONA_API_URL and your network or proxy.`,
      { cause: error, details: { ...details, reason: "unreachable" } },
    );
  }
  if (status === 400 || status === 404 || status === 422) {
    if (/snapshot|image|build/i.test(says) && /creat/.test(what)) {
      return new ImageNotFoundError(
        `Daytona cannot create a sandbox from that image or snapshot (${status} ${says}): check STIGMER_SANDBOX_IMAGE or DAYTONA_SNAPSHOT, and that the snapshot exists and is active in your organization.`,
        { cause: error, details },
      );
    }
  }
  return new ExecutionFailedError(`Daytona failed while ${what} (${status ?? "no status"} ${says}).`, { cause: error, details });
}

/** Creation never reached `started`: say how far it got and Daytona's reason. */
export function creationFailed(
  state: string | undefined,
  errorReason: string | undefined,
  timeoutSeconds: number,
  source: string,
  cause: unknown,
): StigmerError {
  const reason = errorReason ? `: ${errorReason}` : "";
  if (state === "build_failed") {
    return new ImageNotFoundError(
      `Daytona could not build a sandbox from ${source}${reason}. Check STIGMER_SANDBOX_IMAGE (or DAYTONA_SNAPSHOT).`,
      {
        cause,
        details: { state, errorReason },
      },
    );
  }
  if (state === "error") {
    return new BackendUnavailableError(
      `The Daytona sandbox for ${source} failed to start${reason}. It was deleted; run the command again, and check the Daytona dashboard if it keeps failing.`,
      { cause, details: { state, errorReason } },
    );
  }
  return new TimeoutError(
    `The Daytona sandbox for ${source} did not reach "started" within ${timeoutSeconds} s (last state: ${state ?? "unknown"}${reason}). It was deleted; raise plugins.daytona.createTimeoutSeconds for slow image builds, or check the Daytona dashboard.`,
    { cause, details: { state, errorReason, timeoutSeconds } },
  );
}
