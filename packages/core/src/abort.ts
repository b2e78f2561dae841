import { setMaxListeners } from "node:events";
import { CancelledError } from "./errors.js";

/**
 * An AbortController whose signal takes any number of listeners: a shutdown signal that every
 * running command listens to (as many listeners as commands, by design).
 */
export function shutdownController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * Waits for `promise`, but rejects with CANCELLED as soon as `signal` aborts (the promise itself
 * runs on: a sandbox being prepared for several commands is not abandoned). For backends that
 * prepare something before a command starts.
 */
export function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new CancelledError("The command was cancelled before it started."));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError("The command was cancelled while its sandbox was being prepared."));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
