// Diagnostic, not run by `pnpm bench`: Stigmer's own per-run cost with a backend that spawns
// nothing, so no process start-up hides it. Compare with the per-run cost of a real spawn
// (bench/local.mjs, bench/lib/attribute-inprocess.mjs).
//
// Usage: node bench/lib/overhead-probe.mjs [runs=20000]
import { randomUUID } from "node:crypto";
import { statSync } from "node:fs";
import { stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { BackendToken, createExecutor, createLogger, definePlugin, executeOn, resolveConfig } from "@stigmer/core";

const RUNS = Number(process.argv[2] ?? 20_000);
const fake = {
  name: "fake",
  capabilities: { stdin: true, env: true, cancel: true, separateStreams: true },
  async exec() {
    return { exitCode: 0, signal: null };
  },
  async dispose() {},
};
const plugin = definePlugin({
  name: "fake",
  kind: "backend",
  register(container) {
    container.register(BackendToken, { useValue: fake });
  },
});
const config = resolveConfig({ env: {}, cwd: tmpdir(), flags: { mode: "local", logLevel: "silent" } });
const executor = createExecutor({ config, logger: createLogger({ level: "silent" }), modules: { local: plugin } });
await executor.run({ command: "true" });

async function time(name, fn) {
  for (let i = 0; i < 2000; i++) await fn();
  const t0 = performance.now();
  for (let i = 0; i < RUNS; i++) await fn();
  process.stdout.write(`  ${name.padEnd(44)} ${(((performance.now() - t0) / RUNS) * 1000).toFixed(1).padStart(7)} µs/run\n`);
}

const cwd = process.cwd();
process.stdout.write(`${RUNS} runs each, sequential\n`);
await time("fs.promises.stat(cwd)", () => stat(cwd));
await time("fs.statSync(cwd)", async () => statSync(cwd));
await time("crypto.randomUUID()", async () => randomUUID());
await time("executeOn(fake backend, { command })", () => executeOn(fake, { command: "true" }));
await time("Executor.run({ command }) on the fake backend", () => executor.run({ command: "true" }));
await time("… with an onEvent listener", () => executor.run({ command: "true" }, { onEvent() {} }));
await executor.dispose();
