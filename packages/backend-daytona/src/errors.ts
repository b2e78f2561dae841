import { BackendUnavailableError, ExecutionFailedError, ImageNotFoundError, redactUrl, StigmerError, TimeoutError } from "@stigmer/core";

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

/**
 * What kind of connection failure an error is (undefined: not one). The SDK keeps only the
 * message of the network error (`connect ECONNREFUSED 127.0.0.1:9`, `getaddrinfo ENOTFOUND host`,
 * `write EPROTO …wrong version number`), so codes are looked for in the message too.
 * - `refused`: nothing listens at that host and port (permanent until someone starts it);
 * - `dns`: the host name does not resolve (`ENOTFOUND`; `EAI_AGAIN` is a transient `dns-retry`);
 * - `tls`: the TLS handshake or the certificate failed (a wrong scheme or port, an untrusted CA);
 * - `timeout`, `reset`, `unreachable`, `network`: transient network trouble.
 */
export type ConnectionFailure = "refused" | "dns" | "dns-retry" | "tls" | "timeout" | "reset" | "unreachable" | "network";

const TLS_FAILURE =
  /\b(EPROTO|ERR_SSL_[A-Z_]+|ERR_TLS_[A-Z_]+|CERT_[A-Z_]+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_[A-Z_]+|HOSTNAME_MISMATCH)\b|certificate|SSL routines|wrong version number|TLS/;

export function connectionFailureOf(error: unknown, depth = 0): ConnectionFailure | undefined {
  const e = error as (SdkError & { cause?: unknown }) | undefined;
  if (!e || typeof e !== "object" || depth > 4) return undefined;
  if (statusOf(e) !== undefined) return undefined;
  const text = `${typeof e.code === "string" ? e.code : ""} ${String(e.message ?? "")}`;
  if (/\bECONNREFUSED\b/.test(text)) return "refused";
  if (/\b(ENOTFOUND|EAI_NONAME|EAI_FAIL)\b/.test(text)) return "dns";
  if (/\bEAI_AGAIN\b/.test(text)) return "dns-retry";
  if (TLS_FAILURE.test(text)) return "tls";
  if (
    e.name === "DaytonaConnectionTimeoutError" ||
    e.name === "DaytonaTimeoutError" ||
    /\b(ETIMEDOUT|ECONNABORTED)\b|timed? ?out/i.test(text)
  )
    return "timeout";
  if (/\b(ECONNRESET|EPIPE|ERR_SOCKET_CLOSED|UND_ERR_SOCKET)\b|socket hang up/.test(text)) return "reset";
  if (/\b(EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL)\b/.test(text)) return "unreachable";
  const inner = e.cause !== undefined && e.cause !== error ? connectionFailureOf(e.cause, depth + 1) : undefined;
  if (inner) return inner;
  return isConnectionError(e) ? "network" : undefined;
}

/**
 * Connection failures that asking again will not fix: a refused connection, a name that does not
 * resolve, a failed TLS handshake. The SDK's transport already retries refused and DNS failures
 * twice within a second; Stigmer adds no retry of its own, so they are reported at once.
 */
export function isPermanentConnectionFailure(error: unknown): boolean {
  const kind = connectionFailureOf(error);
  return kind === "refused" || kind === "dns" || kind === "tls";
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

/**
 * Daytona's own words, without anything that could be a credential: bearer tokens, and the
 * userinfo, query and fragment of any URL in them. One line (OpenSSL's messages span several).
 */
function daytonaSays(error: unknown): string {
  const message = String((error as SdkError | undefined)?.message ?? error)
    .replace(/Bearer\s+\S+/gi, "Bearer [redacted]")
    .replace(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (url) => redactUrl(url))
    // OpenSSL: `802C…:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/…:350:`
    .replace(/[0-9A-F]{8,}:error:[0-9A-F]+:[^:]*routines:[^:]*:([^:\n]+):\S*/g, "$1")
    .replace(/\s*\n\s*/g, " ")
    .trim();
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}

/** What a connection failure means and what to check, after "Cannot reach the Daytona API at URL while …: ". */
function connectionAdvice(kind: ConnectionFailure, apiUrl: string, says: string): string {
  let host = apiUrl;
  try {
    host = new URL(apiUrl).host;
  } catch {}
  switch (kind) {
    case "refused":
      return `connection refused (${says}): nothing accepts connections at ${host}. Check the host and port in DAYTONA_API_URL (unset it for Daytona's cloud, https://app.daytona.io/api) and, for a self-hosted Daytona, that its API is running.`;
    case "dns":
      return `the host name does not resolve (${says}). Check the host name in DAYTONA_API_URL, and your DNS or network connection.`;
    case "dns-retry":
      return `the host name could not be looked up (${says}; retried). Check your DNS server and network connection.`;
    case "tls":
      return `the TLS connection failed (${says}). Check that DAYTONA_API_URL uses the right scheme and port (https for Daytona's cloud) and, behind a TLS-inspecting proxy, that Node.js trusts its certificate authority (NODE_EXTRA_CA_CERTS).`;
    case "timeout":
      return `no answer in time (${says}; retried). Check your network, proxy (HTTPS_PROXY) and firewall, or raise plugins.daytona.requestTimeoutMs.`;
    case "reset":
      return `the connection was dropped (${says}; retried when safe). Check your network or proxy, and try again.`;
    default:
      return `${says}. Check DAYTONA_API_URL and your network or proxy.`;
  }
}

/**
 * Turns whatever the SDK threw into a StigmerError with a stable code and a message that says what
 * to do. `what` names the operation ("creating a sandbox"). StigmerErrors pass through.
 */
export function toStigmerError(error: unknown, what: string, configuredUrl: string): StigmerError {
  if (StigmerError.isInstance(error)) return error;
  const apiUrl = redactUrl(configuredUrl);
  const status = statusOf(error);
  const says = daytonaSays(error);
  const details = { apiUrl, ...(status !== undefined ? { status } : {}), operation: what, error: says };
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
  const connection = connectionFailureOf(error);
  if (connection) {
    return new BackendUnavailableError(
      `Cannot reach the Daytona API at ${apiUrl} while ${what}: ${connectionAdvice(connection, apiUrl, says)}`,
      {
        cause: error,
        details: { ...details, reason: "unreachable", connection },
      },
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
