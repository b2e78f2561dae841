import { createLogger, executeOn } from "@stigmer/core";
import { afterAll, describe, expect, it } from "vitest";
import { SpawnBackend } from "../src/spawn-backend.js";

// Draining after exit, which the conformance suite does not exercise.
describe("spawn: output after the shell exits", () => {
  const backend = new SpawnBackend(createLogger({ level: "silent" }), {});
  afterAll(() => backend.dispose());

  it("does not wait for a background process that keeps the pipes open", async () => {
    const started = performance.now();
    const result = await executeOn(backend, { command: "sleep 30 & echo $!", cwd: process.cwd() });
    const elapsed = performance.now() - started;
    process.kill(Number(result.stdout.trim()));
    expect(result.exitCode).toBe(0);
    expect(elapsed).toBeLessThan(2000);
  }, 10_000);

  it("gives a slow reader every byte written before the exit", async () => {
    const total = 400_000;
    let streamed = 0;
    const result = await executeOn(
      backend,
      { command: `head -c ${total} /dev/zero`, cwd: process.cwd() },
      {
        onEvent: async (event) => {
          if (event.type !== "stdout") return;
          streamed += event.data.length;
          await new Promise((resolve) => setTimeout(resolve, 250));
        },
      },
    );
    expect(result.exitCode).toBe(0);
    expect(streamed).toBe(total);
  });
});
