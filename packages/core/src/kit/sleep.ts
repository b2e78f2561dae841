import { CancelledError } from "../errors.js";

export interface SleepOptions {
  /** Ends the wait early: the promise then rejects with CANCELLED. */
  signal?: AbortSignal | undefined;
  /** The CANCELLED error's message; default "Cancelled while waiting.". */
  cancelled?: string;
}

/** Resolves after `ms`; rejects with CANCELLED as soon as `options.signal` aborts (already aborted: at once). */
export function sleep(ms: number, options: SleepOptions = {}): Promise<void> {
  const { signal, cancelled = "Cancelled while waiting." } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError(cancelled));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError(cancelled));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** `promise`'s value if it settles within `ms`, else undefined (the promise runs on); a rejection is passed on. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
