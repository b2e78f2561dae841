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
