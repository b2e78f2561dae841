// The executor every bench uses: local mode, silent logger, configuration independent of the
// caller's STIGMER_* variables and config files, and the local plugin loaded by a warm-up run.
import { tmpdir } from "node:os";
import localPlugin from "@stigmer/backend-local";
import { createExecutor, createLogger, resolveConfig } from "@stigmer/core";

export async function benchExecutor() {
  const config = resolveConfig({ env: {}, cwd: tmpdir(), flags: { mode: "local", logLevel: "silent" } });
  const executor = createExecutor({ config, logger: createLogger({ level: "silent" }), modules: { local: localPlugin } });
  const warm = await executor.run({ command: "true" });
  if (warm.exitCode !== 0) throw new Error(`warm-up run of "true" exited ${warm.exitCode} (${warm.signal})`);
  return executor;
}

/** A sandbox-mode executor on the Docker backend (image, strategy), silent, with cleanup on. */
export function sandboxExecutor({ image, strategy = "sync", ttl = "900" }) {
  const config = resolveConfig({
    env: {
      STIGMER_EXECUTION_MODE: "sandbox",
      STIGMER_SANDBOX_BACKEND: "docker",
      STIGMER_SANDBOX_IMAGE: image,
      STIGMER_SANDBOX_TTL: ttl,
      STIGMER_SANDBOX_CLEANUP: "true",
      STIGMER_SANDBOX_WORKSPACE: strategy,
    },
    cwd: tmpdir(),
    flags: { logLevel: "silent" },
  });
  return createExecutor({
    config,
    logger: createLogger({ level: "silent" }),
    modules: { local: () => import("@stigmer/backend-local"), docker: () => import("@stigmer/backend-docker") },
  });
}
