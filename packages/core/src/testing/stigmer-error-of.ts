import { StigmerError } from "../errors.js";

/**
 * Resolves with the StigmerError that `promise` rejects with; rejects (failing the test) when it
 * resolves, or rejects with anything else. For tests: `expect((await stigmerErrorOf(p)).code)…`.
 */
export async function stigmerErrorOf(promise: Promise<unknown>): Promise<StigmerError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if ("value" in outcome) throw new Error(`expected a StigmerError, but it resolved with ${JSON.stringify(outcome.value)?.slice(0, 200)}`);
  if (!StigmerError.isInstance(outcome.error)) throw new Error(`expected a StigmerError, got ${String(outcome.error)}`);
  return outcome.error;
}
