// Diagnostic, not run by `pnpm bench`: splits the per-run cost of Executor.run({ command: "true" })
// into layers by timing each layer on its own, all interleaved run by run (order rotating):
//
//   execa sh → execa bash → execa with the local backend's exact spawn options → LocalBackend.exec
//   → LocalBackend.exec after an fs.promises.stat (what request validation does), and after a
//   statSync instead (the proposed fix) → executeOn
//   (validation + runOnBackend) → Executor.run
//
// Besides wall time it reports this process's CPU time and minor page faults per run: node spawns
// with fork(), so every page the parent writes after a spawn takes a copy-on-write fault, and
// parent-side work competes with the starting shell for the CPUs.
//
// Usage: node bench/lib/attribute-inprocess.mjs [runs=400]
import { statSync } from "node:fs";
import { stat } from "node:fs/promises";
import { executeOn } from "@stigmer/core";
import { execa } from "execa";
import { benchExecutor } from "./executor.mjs";
import { fmtMs, summarize, table } from "./stats.mjs";

const RUNS = Number(process.argv[2] ?? 400);
const WARMUP = 30;
const executor = await benchExecutor();
const backend = await executor.backend("local");
const cwd = process.cwd();
const sink = { write() {}, progress() {} };
const backendRequest = () => ({ id: "bench", command: "true", cwd, env: {}, signal: new AbortController().signal });

const sides = [
  ["execa('sh', ['-c', 'true'])", () => execa("sh", ["-c", "true"])],
  ["execa('bash', ['-c', 'true'])", () => execa("bash", ["-c", "true"])],
  [
    "execa('/bin/bash', …) with the backend's options",
    () =>
      execa("/bin/bash", ["-c", "true"], {
        cwd,
        env: {},
        extendEnv: true,
        detached: true,
        buffer: false,
        encoding: "buffer",
        reject: false,
        stripFinalNewline: false,
        stdin: "ignore",
      }),
  ],
  ["LocalBackend.exec (no-op sink)", () => backend.exec(backendRequest(), sink)],
  [
    "await stat(cwd), then LocalBackend.exec",
    async () => {
      await stat(cwd);
      return backend.exec(backendRequest(), sink);
    },
  ],
  [
    "statSync(cwd), then LocalBackend.exec",
    () => {
      statSync(cwd);
      return backend.exec(backendRequest(), sink);
    },
  ],
  ["executeOn(backend, { command })", () => executeOn(backend, { command: "true" })],
  ["Executor.run({ command })", () => executor.run({ command: "true" })],
];

const samples = sides.map(() => []);
const totals = sides.map(() => ({ user: 0, system: 0, faults: 0 }));
for (let i = 0; i < WARMUP + RUNS; i++) {
  for (let k = 0; k < sides.length; k++) {
    const index = (i + k) % sides.length;
    const r0 = process.resourceUsage();
    const t0 = performance.now();
    await sides[index][1]();
    const dt = performance.now() - t0;
    const r1 = process.resourceUsage();
    if (i >= WARMUP) {
      samples[index].push(dt);
      totals[index].user += (r1.userCPUTime - r0.userCPUTime) / 1000;
      totals[index].system += (r1.systemCPUTime - r0.systemCPUTime) / 1000;
      totals[index].faults += r1.minorPageFault - r0.minorPageFault;
    }
  }
}
await executor.dispose();

const stats = samples.map(summarize);
process.stdout.write(
  `${RUNS} runs per layer, interleaved\n${table([
    ["layer", "median", "p90", "Δ median vs previous", "user CPU/run", "sys CPU/run", "minor faults/run"],
    ...sides.map(([name], i) => [
      name,
      fmtMs(stats[i].median),
      fmtMs(stats[i].p90),
      i === 0 ? "" : `${(stats[i].median - stats[i - 1].median).toFixed(3)} ms`,
      fmtMs(totals[i].user / RUNS),
      fmtMs(totals[i].system / RUNS),
      (totals[i].faults / RUNS).toFixed(0),
    ]),
  ])}\n`,
);
