// A backend that never ends a command it was told to stop must not hold the caller forever: the
// run gives up after the stop grace with a TIMEOUT or CANCELLED error saying so.
import { describe, expect, it } from "vitest";
import type { Backend } from "../src/backend.js";
import { StigmerError } from "../src/errors.js";
import { executeOn } from "../src/run-on-backend.js";
import type { BackendExit } from "../src/types.js";

/** Starts every command and never reports its end, whatever the signal says. */
function stuckBackend(): Backend & { started: number } {
  const backend = {
    specificationVersion: "v1" as const,
    name: "stuck",
    started: 0,
    capabilities: { stdin: false, env: true, cancel: true, separateStreams: true },
    exec(): Promise<BackendExit> {
      backend.started++;
      return new Promise<BackendExit>(() => {});
    },
    async dispose() {},
  };
  return backend;
}

async function failure(run: Promise<unknown>): Promise<StigmerError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!StigmerError.isInstance(error)) throw new Error(`expected a StigmerError, got ${String(error)}`);
  return error;
}

describe("stop grace", () => {
  it("a timed-out command whose backend never ends it is a TIMEOUT saying the backend did not stop it", async () => {
    const backend = stuckBackend();
    const error = await failure(executeOn(backend, { command: "sleep 1000", timeoutMs: 100 }, { stopGraceMs: 150 }));
    expect(backend.started).toBe(1);
    expect(error.code).toBe("TIMEOUT");
    expect(error.message).toMatch(/did not end the command within 150 ms/);
    expect(error.details.stuck).toBe(true);
  });

  it("a cancelled one is CANCELLED, the same way", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("stop")), 50);
    const error = await failure(executeOn(stuckBackend(), { command: "sleep 1000", signal: controller.signal }, { stopGraceMs: 100 }));
    expect(error.code).toBe("CANCELLED");
    expect(error.details.stuck).toBe(true);
  });

  it("a backend that ends the command in time is not cut short", async () => {
    const backend: Backend = {
      ...stuckBackend(),
      exec: (request) =>
        new Promise<BackendExit>((resolve) => {
          request.signal.addEventListener("abort", () => setTimeout(() => resolve({ exitCode: null, signal: "SIGTERM" }), 50));
        }),
    };
    const result = await executeOn(backend, { command: "sleep 1000", timeoutMs: 50 }, { stopGraceMs: 2000 });
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe("SIGTERM");
  });
});
