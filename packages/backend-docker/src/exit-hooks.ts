/**
 * Runs `release` synchronously when the process exits, or on SIGINT/SIGTERM that nobody else
 * handles (then re-raises the signal). `release` must be synchronous: it runs in an exit handler.
 * Returns a function that removes the hooks.
 */
export function onProcessExit(release: () => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    // Someone else (the CLI, the server) handles the signal and disposes us properly: do nothing.
    if (process.listenerCount(signal) > 1) return;
    release();
    remove();
    process.kill(process.pid, signal);
  };
  const remove = () => {
    process.removeListener("exit", release);
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  };
  process.once("exit", release);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return remove;
}
