// Runs every bench file in bench/ (bench/*.mjs except this one), one after the other, each in its
// own node process. Targets are reported by the benches, not asserted: this exits non-zero only
// when a bench crashes. `pnpm bench` builds first, then runs this.
//
// `--smoke` runs each bench end to end with one or two runs per side (its figures mean nothing):
// CI uses it so that a bench broken by a change fails there, not in the next measurement.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const dir = dirname(fileURLToPath(import.meta.url));
const smoke = process.argv.includes("--smoke");
const only = process.argv.slice(2).filter((arg) => arg !== "--smoke");
/** The fewest runs each bench takes and still goes through every section. */
const SMOKE_RUNS = {
  BENCH_WARM_RUNS: "2",
  BENCH_COLD_RUNS: "1",
  BENCH_CLI_RUNS: "2",
  BENCH_START_RUNS: "1",
  BENCH_FIRST_RUNS: "1",
  BENCH_WRITE_RUNS: "1",
  BENCH_PROJECTS: "src",
  BENCH_RUNS: "4",
  BENCH_INPROCESS_RUNS: "4",
  BENCH_LATENCY_RUNS: "1",
  BENCH_DETECTOR_SECONDS: "0.2",
  BENCH_DETECTOR_CLI_RUNS: "1",
  BENCH_DETECTOR_CLI_LINES: "200",
  BENCH_DETECTOR_PATHOLOGICAL_RUNS: "1",
};
// A smoke run's figures go to a scratch directory, never over bench/results.
const scratch = smoke ? mkdtempSync(join(tmpdir(), "stigmer-bench-smoke-")) : undefined;
const env = smoke ? { ...SMOKE_RUNS, ...process.env, BENCH_RESULTS_DIR: scratch } : process.env;
const files = readdirSync(dir)
  .filter((name) => name.endsWith(".mjs") && name !== "run.mjs")
  .filter((name) => only.length === 0 || only.some((wanted) => name === wanted || name === `${wanted}.mjs`))
  .sort();

if (files.length === 0) {
  process.stderr.write(`bench: no bench files${only.length ? ` matching ${only.join(", ")}` : ""} in ${dir}\n`);
  process.exit(1);
}

const crashed = [];
for (const file of files) {
  process.stdout.write(`\n=== bench/${file} ===\n`);
  const started = performance.now();
  const r = spawnSync(process.execPath, [join(dir, file)], { stdio: "inherit", env });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (r.error || r.status !== 0) {
    crashed.push(file);
    process.stdout.write(
      `=== bench/${file} CRASHED (${r.error?.message ?? `status ${r.status}, signal ${r.signal}`}) after ${seconds} s ===\n`,
    );
  } else {
    process.stdout.write(`=== bench/${file} done in ${seconds} s ===\n`);
  }
}

if (scratch) rmSync(scratch, { recursive: true, force: true });
if (crashed.length > 0) {
  process.stderr.write(`\nbench: ${crashed.length} of ${files.length} bench file(s) crashed: ${crashed.join(", ")}\n`);
  process.exit(1);
}
