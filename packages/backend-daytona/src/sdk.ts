import type { Daytona, Sandbox } from "@daytonaio/sdk";
import { BackendUnavailableError } from "@stigmer/core";
import type { ResolvedDaytonaOptions } from "./options.js";

export type { Daytona, Sandbox };

/**
 * Loads `@daytonaio/sdk` and makes a client. The SDK is large (~100 MB installed, most of a second
 * to import), so it is imported here, on the first cloud command, never when the package loads.
 * The key, URL and target are passed explicitly, so no `DAYTONA_*` variable or `.env` file of the
 * working directory can redirect the credential elsewhere.
 */
export async function createDaytonaClient(options: ResolvedDaytonaOptions): Promise<Daytona> {
  let sdk: typeof import("@daytonaio/sdk");
  try {
    sdk = await import("@daytonaio/sdk");
  } catch (cause) {
    throw new BackendUnavailableError(
      `Cannot load @daytonaio/sdk (${(cause as Error).message}): reinstall @stigmer/backend-daytona (it needs Node.js 20.16 or later).`,
      { cause },
    );
  }
  try {
    return new sdk.Daytona({
      apiKey: options.apiKey,
      apiUrl: options.apiUrl,
      ...(options.target ? { target: options.target } : {}),
      requestTimeoutMs: options.requestTimeoutMs,
      useDeprecatedPolling: !options.events,
    });
  } catch (cause) {
    throw new BackendUnavailableError(`The Daytona client cannot start: ${(cause as Error).message}`, { cause });
  }
}
