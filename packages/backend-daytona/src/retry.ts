import { sleep } from "@stigmer/core";
import { isConnectionError, isPermanentConnectionFailure, isRetryableStatus, retryAfterMs, statusOf } from "./errors.js";

export interface RetryPolicy {
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Full jitter over an exponential backoff, or Daytona's `retry-after` when it names one; capped. */
export function retryDelay(error: unknown, attempt: number, policy: RetryPolicy): number {
  const asked = retryAfterMs(error);
  if (asked !== undefined) return Math.min(policy.maxDelayMs, asked);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/**
 * Calls `fn` until it succeeds, retrying only what Daytona did not do: 429, 408, 5xx and failed
 * connections. `idempotent` says whether a 5xx other than 503 may be retried (the request may have
 * been carried out: only idempotent requests are). A refused connection, a host name that does
 * not resolve and a failed TLS handshake are not retried here: asking again does not change them,
 * and the SDK's transport has already retried the first two twice within a second. The last error
 * is rethrown as it is.
 */
export async function withRetry<T>(
  fn: () => Promise<T>,
  policy: RetryPolicy,
  options: { signal?: AbortSignal; idempotent: boolean },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const status = statusOf(error);
      const notDone =
        status === 429 ||
        status === 503 ||
        (status === undefined && isConnectionError(error) && !/ECONNRESET|timeout/i.test(String(error)));
      const retryable =
        !isPermanentConnectionFailure(error) && (options.idempotent ? isRetryableStatus(status) || isConnectionError(error) : notDone);
      if (!retryable || attempt >= policy.retries || options.signal?.aborted) throw error;
      await sleep(retryDelay(error, attempt, policy), {
        signal: options.signal,
        cancelled: "Cancelled while waiting to retry a Daytona request.",
      });
    }
  }
}
