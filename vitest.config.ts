import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/*/test/**/*.test.ts", "test/**/*.test.ts"],
    // Tests spawn real processes (and later real containers): keep parallelism modest on 2 cores.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ["default", "./test/summary-reporter.ts"],
    setupFiles: ["./test/setup-state-dir.ts"],
  },
});
