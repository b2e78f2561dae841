import type { BackendHealth, HealthCheck } from "@stigmer/core";

/**
 * What went wrong reaching the Daytona API, from the failure's details (`connection`: refused,
 * dns, tls, timeout, …; `status`: the HTTP answer), in a few words.
 */
export function apiProblem(details: Record<string, unknown> | undefined): string | undefined {
  const connection = details?.connection;
  const status = typeof details?.status === "number" ? details.status : undefined;
  switch (connection) {
    case "refused":
      return "connection refused";
    case "dns":
      return "DNS failure: the host name does not resolve";
    case "dns-retry":
      return "DNS failure: the host name could not be looked up";
    case "tls":
      return "TLS failure: the secure connection could not be set up";
    case "timeout":
      return "timeout: no answer in time";
    case "reset":
      return "the connection was reset";
    case "unreachable":
      return "host or network unreachable";
    case "network":
      return "network error";
  }
  if (status === 401) return "HTTP 401: the API key is rejected";
  if (status === 403) return "HTTP 403: the key lacks permission, or a quota is used up";
  if (status !== undefined) return `HTTP error ${status}`;
  return undefined;
}

/** What to do about the Daytona API at `apiUrl` (shown redacted), from the failure's message and details. */
export function apiFix(apiUrl: string, message: string, details: Record<string, unknown> | undefined): string {
  let host = apiUrl;
  try {
    host = new URL(apiUrl).host;
  } catch {}
  const status = typeof details?.status === "number" ? details.status : undefined;
  switch (details?.connection) {
    case "refused":
      return `Nothing accepts connections at ${host}: check the host and port in DAYTONA_API_URL (${apiUrl}; unset it for Daytona's cloud) and, for a self-hosted Daytona, that its API is running.`;
    case "dns":
    case "dns-retry":
      return `Check the host name in DAYTONA_API_URL (${apiUrl}) for a typo, and your DNS server and network connection.`;
    case "tls":
      return `Check the scheme and port in DAYTONA_API_URL (${apiUrl}; https for Daytona's cloud); behind a TLS-inspecting proxy, give Node.js its certificate authority with NODE_EXTRA_CA_CERTS.`;
    case "timeout":
      return `Check your network, proxy (HTTPS_PROXY) and firewall: the API at ${apiUrl} (DAYTONA_API_URL) did not answer in time.`;
  }
  if (status === 401 || /\b401\b|rejected the API key/.test(message)) {
    return `Check DAYTONA_API_KEY: it is mistyped, revoked or expired, or belongs to another API than ${apiUrl} (DAYTONA_API_URL).`;
  }
  if (status === 403 || /\b403\b/.test(message))
    return "Give the DAYTONA_API_KEY key sandbox permissions, or free quota in the Daytona dashboard.";
  if ((status !== undefined && (status === 408 || status === 429 || status >= 500)) || /\b(429|5\d\d|408)\b/.test(message)) {
    return "Daytona is rate limiting or failing: check Daytona's status page and try again later.";
  }
  if (status === 404) {
    return `${apiUrl} answers, but not as Daytona's API: DAYTONA_API_URL must be the API's base URL, such as https://app.daytona.io/api.`;
  }
  return `Check DAYTONA_API_URL (${apiUrl}), your network and proxy settings.`;
}

/** The `sandbox-image` line: Daytona builds sandboxes on its side, so there is nothing to check locally. */
function sourceCheck(source: { snapshot: string } | { image: string }): HealthCheck {
  const what = "snapshot" in source ? `snapshot ${source.snapshot}` : `image ${source.image}`;
  return {
    name: "sandbox-image",
    ok: true,
    status: "skip",
    message: `Daytona builds sandboxes from ${what} on its side: nothing to check locally`,
  };
}

/**
 * The backend's health from the outcome of one API call: ok, or what failed (`failure` with the
 * message and details of the StigmerError the call gave), with the `daytona` and `sandbox-image` checks.
 */
export function daytonaHealth(
  apiUrl: string,
  source: { snapshot: string } | { image: string },
  failure?: { message: string; details: Record<string, unknown> },
): BackendHealth {
  const base = { apiUrl, keySet: true, ...("snapshot" in source ? { snapshot: source.snapshot } : {}) };
  if (!failure) {
    return {
      ok: true,
      message: `The Daytona API answers at ${apiUrl} and accepts the key.`,
      checks: [
        sourceCheck(source),
        { name: "daytona", ok: true, message: `DAYTONA_API_KEY is set and the API at ${apiUrl} answers`, details: base },
      ],
      details: { apiUrl },
    };
  }
  const { reason, connection, status, error: says } = failure.details;
  const details = {
    apiUrl,
    ...(reason !== undefined ? { reason } : {}),
    ...(connection !== undefined ? { connection } : {}),
    ...(status !== undefined ? { status } : {}),
    ...(says !== undefined ? { error: says } : {}),
  };
  const problem = apiProblem(details);
  const fix = apiFix(apiUrl, failure.message, details);
  // The failure's own message ends with what to do, which `fix` says in full.
  const message =
    problem && connection !== undefined
      ? `Cannot reach the Daytona API at ${apiUrl}: ${problem}${typeof says === "string" ? ` (${says})` : ""}`
      : failure.message;
  const keyLine = /rejected the API key|\b401\b/.test(failure.message)
    ? `DAYTONA_API_KEY is set, but the API at ${apiUrl} rejects it (see sandbox-backend)`
    : problem
      ? `DAYTONA_API_KEY is set, but the API at ${apiUrl} ${connection !== undefined ? "cannot be reached" : "does not answer as it should"}: ${problem} (see sandbox-backend)`
      : `DAYTONA_API_KEY is set, but the API at ${apiUrl} does not answer as it should (see sandbox-backend)`;
  return {
    ok: false,
    message,
    fix,
    checks: [
      sourceCheck(source),
      { name: "daytona", ok: false, message: keyLine, fix, details: { ...base, ...(connection !== undefined ? { connection } : {}) } },
    ],
    details,
  };
}
