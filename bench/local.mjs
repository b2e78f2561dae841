// Local-mode benchmarks: what Stigmer adds on top of spawning the shell yourself.
//
//   1. in-process: `true` through Executor.run vs bare execa('sh' | 'bash', ['-c', 'true'])
//   2. CLI: `stigmer run --mode=local -- true` vs node spawning `sh -c true`
//   3. streaming latency: child's first write → caller's onEvent
//   4. memory: peak RSS growth while streaming 1e9 bytes
//
// The sides of each comparison run interleaved, run by run, so machine noise hits them equally.
// Targets are reported (PASS/MISS), not asserted: this exits non-zero only if a bench crashes.
// Figures also go to bench/results/local.json. Run with `pnpm bench` (builds first).
//
// Environment: BENCH_INPROCESS_RUNS (500), BENCH_CLI_RUNS (30), BENCH_LATENCY_RUNS (10).
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { benchExecutor } from "./lib/executor.mjs";
import { header, meta, resultsFile } from "./lib/meta.mjs";
import { fmtMiB, fmtMs, fmtRatio, MiB, round, roundSummary, summarize, table, verdict } from "./lib/stats.mjs";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);
const CLI_BIN = join(ROOT, "packages/cli/dist/bundle/bin.js");
const RESULTS_FILE = resultsFile("local.json");

const INPROCESS_RUNS = Number(process.env.BENCH_INPROCESS_RUNS ?? 500);
const INPROCESS_WARMUP = 30;
const CLI_RUNS = Number(process.env.BENCH_CLI_RUNS ?? 30);
const CLI_WARMUP = 3;

const TARGETS = {
  inProcessRatio: 1.1,
  cliRatio: 2.0,
  latencyMs: 50,
  memoryGrowthBytes: 64 * MiB,
};

// All orders of three sides; round i uses PERMUTATIONS[i % 6], so each side goes first, second
// and third equally often.
const PERMUTATIONS = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
];

/** Prints the sides' summaries as a table against side 1 (the baseline); returns them. */
function printSides(sides, samples, baselineName) {
  const stats = samples.map(summarize);
  const base = stats[1].median;
  process.stdout.write(
    `${table([
      ["side", "median", "p90", "mean", "min", `median vs ${baselineName}`],
      ...sides.map((side, i) => [
        side.name,
        fmtMs(stats[i].median),
        fmtMs(stats[i].p90),
        fmtMs(stats[i].mean),
        fmtMs(stats[i].min),
        i === 1 ? "1.000× (baseline)" : fmtRatio(stats[i].median / base),
      ]),
    ])}\n`,
  );
  return { stats, base };
}

/** Runs `sides` (async functions) interleaved for `runs` rounds; returns each side's durations in ms. */
async function interleave(sides, runs, warmup) {
  const samples = sides.map(() => []);
  for (let i = 0; i < warmup + runs; i++) {
    const order = sides.length === 3 ? PERMUTATIONS[i % PERMUTATIONS.length] : i % 2 === 0 ? [0, 1] : [1, 0];
    for (const index of order) {
      const t0 = performance.now();
      await sides[index].run();
      const dt = performance.now() - t0;
      if (i >= warmup) samples[index].push(dt);
    }
  }
  return samples;
}

// ---------------------------------------------------------------------------------------------
// 1. In-process overhead
// ---------------------------------------------------------------------------------------------
async function inProcess() {
  header(
    `1. In-process: \`true\` through Executor.run (local mode, silent logger, executor created once) vs bare execa\n` +
      `   ${INPROCESS_RUNS} runs per side after ${INPROCESS_WARMUP} warm-up rounds; the three sides interleaved run by run, order rotating.`,
  );
  const executor = await benchExecutor();
  const sides = [
    {
      name: "Executor.run({ command: 'true' })  [bash -c]",
      key: "executor",
      async run() {
        const result = await executor.run({ command: "true" });
        if (result.exitCode !== 0) throw new Error(`Executor.run("true") exited ${result.exitCode} (${result.signal}): ${result.stderr}`);
      },
    },
    {
      name: "execa('sh', ['-c', 'true'])",
      key: "execaSh",
      async run() {
        await execa("sh", ["-c", "true"]);
      },
    },
    {
      name: "execa('bash', ['-c', 'true'])",
      key: "execaBash",
      async run() {
        await execa("bash", ["-c", "true"]);
      },
    },
  ];
  const samples = await interleave(sides, INPROCESS_RUNS, INPROCESS_WARMUP);
  await executor.dispose();
  const { stats, base } = printSides(sides, samples, "execa sh");
  const ratio = stats[0].median / base;
  const overBash = stats[0].median / stats[2].median;
  const shellShare = stats[2].median / base;
  const result = verdict(ratio, TARGETS.inProcessRatio);
  process.stdout.write(
    `  target: Executor.run median / execa sh median ≤ ${TARGETS.inProcessRatio.toFixed(2)} → ${ratio.toFixed(3)}  ${result}\n` +
      `  shell's share: execa bash / execa sh = ${fmtRatio(shellShare)} (${fmtMs(stats[2].median - base)}); ` +
      `Stigmer's own share: Executor.run / execa bash = ${fmtRatio(overBash)} (${fmtMs(stats[0].median - stats[2].median)} per run)\n`,
  );
  return {
    runs: INPROCESS_RUNS,
    warmup: INPROCESS_WARMUP,
    sides: Object.fromEntries(sides.map((side, i) => [side.key, { label: side.name, ...roundSummary(stats[i]) }])),
    ratioVsExecaSh: round(ratio),
    ratioVsExecaBash: round(overBash),
    bashOverSh: round(shellShare),
    target: `<= ${TARGETS.inProcessRatio}`,
    result,
    samplesMs: Object.fromEntries(sides.map((side, i) => [side.key, samples[i].map((x) => round(x))])),
  };
}

// ---------------------------------------------------------------------------------------------
// 2. CLI wall time
// ---------------------------------------------------------------------------------------------
function cli() {
  header(
    `2. CLI: wall time of a whole process, each started with child_process.spawnSync (stdin ignored, output piped)\n` +
      `   ${CLI_RUNS} runs per side after ${CLI_WARMUP} warm-up rounds, interleaved run by run.`,
  );
  // The caller's STIGMER_* settings must not change what is measured.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("STIGMER_")));
  const spawnSide = (name, key, args) => ({
    name,
    key,
    run() {
      const r = spawnSync(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
      if (r.error) throw r.error;
      if (r.status !== 0 || r.stderr.length > 0) {
        throw new Error(`${name} failed: status ${r.status}, signal ${r.signal}, stderr: ${r.stderr.toString().trim()}`);
      }
    },
  });
  const sides = [
    spawnSide("node bin.js run --mode=local -- true", "cli", [CLI_BIN, "run", "--mode=local", "--", "true"]),
    spawnSide(`node -e "require('child_process').spawnSync('sh',['-c','true'])"`, "nodeSpawnSh", [
      "-e",
      "require('child_process').spawnSync('sh',['-c','true'])",
    ]),
    spawnSide(`node -e "0"  (node start-up alone, for reference)`, "nodeOnly", ["-e", "0"]),
  ];
  // The same rotation as interleave(), synchronously: spawnSync blocks until the process has exited.
  const samples = sides.map(() => []);
  for (let i = 0; i < CLI_WARMUP + CLI_RUNS; i++) {
    for (const index of PERMUTATIONS[i % PERMUTATIONS.length]) {
      const t0 = performance.now();
      sides[index].run();
      const dt = performance.now() - t0;
      if (i >= CLI_WARMUP) samples[index].push(dt);
    }
  }
  const { stats, base } = printSides(sides, samples, "node+sh");
  const ratio = stats[0].median / base;
  const result = verdict(ratio, TARGETS.cliRatio);
  process.stdout.write(
    `  target: CLI median / node+sh median ≤ ${TARGETS.cliRatio.toFixed(2)} → ${ratio.toFixed(3)}  ${result}\n` +
      `  the CLI's own cost above node start-up: ${fmtMs(stats[0].median - stats[2].median)}; spawning sh from node -e: ${fmtMs(base - stats[2].median)}\n`,
  );
  return {
    runs: CLI_RUNS,
    warmup: CLI_WARMUP,
    sides: Object.fromEntries(sides.map((side, i) => [side.key, { label: side.name, ...roundSummary(stats[i]) }])),
    ratioVsNodeSpawnSh: round(ratio),
    target: `<= ${TARGETS.cliRatio}`,
    result,
    samplesMs: Object.fromEntries(sides.map((side, i) => [side.key, samples[i].map((x) => round(x))])),
  };
}

/** Runs a helper in a fresh node process and parses the JSON line it prints. */
function child(script, args = [], timeout = 180_000) {
  const r = spawnSync(process.execPath, [join(BENCH_DIR, "lib", script), ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
    timeout,
    killSignal: "SIGKILL",
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`bench/lib/${script} ${args.join(" ")} failed: status ${r.status}, signal ${r.signal}`);
  return JSON.parse(r.stdout.toString().trim().split("\n").pop());
}

// ---------------------------------------------------------------------------------------------
// 3. Streaming latency
// ---------------------------------------------------------------------------------------------
function latency() {
  const runs = Number(process.env.BENCH_LATENCY_RUNS ?? 10);
  header(
    `3. Streaming latency: child's write → caller's onEvent, in a fresh process\n` +
      `   command: bash -c 'echo $EPOCHREALTIME; sleep 1; echo $EPOCHREALTIME' (each line is the wall-clock time of its write, µs);\n` +
      `   each chunk is stamped on arrival with performance.timeOrigin + performance.now(). ${runs} runs per side, interleaved.`,
  );
  const data = child("latency-child.mjs", [], 120_000 + runs * 5_000);
  const rows = [
    ["Executor.run onEvent", data.executor],
    ["bare execa('bash', ['-c', …]) stdout 'data'", data.execa],
  ];
  const summaries = rows.map(([, side]) => ({ first: summarize(side.firstChunkMs), second: summarize(side.secondChunkMs) }));
  process.stdout.write(
    `${table([
      ["side", "1st chunk median", "1st chunk p90", "1st chunk max", "2nd chunk median", "2nd chunk max"],
      ...rows.map(([name], i) => [
        name,
        fmtMs(summaries[i].first.median),
        fmtMs(summaries[i].first.p90),
        fmtMs(summaries[i].first.max),
        fmtMs(summaries[i].second.median),
        fmtMs(summaries[i].second.max),
      ]),
    ])}\n`,
  );
  const worst = summaries[0].first.max;
  const result = verdict(worst, TARGETS.latencyMs);
  const separate = data.executor.chunks.every((n) => n === 2);
  process.stdout.write(
    `  target: first-chunk latency ≤ ${TARGETS.latencyMs} ms in every run (worst of ${runs}) → ${fmtMs(worst)}  ${result}\n` +
      `  the two lines arrived as ${separate ? "separate chunks in every run (streamed, not buffered)" : "ONE chunk in some run: output was buffered"}; ` +
      `clock check: wall-clock offset of the stamp ${data.clockOffsetMs.map((x) => `${x.toFixed(3)} ms`).join(" / ")} (before / after)\n`,
  );
  return {
    runs,
    command: data.command,
    executor: { firstChunk: roundSummary(summaries[0].first), secondChunk: roundSummary(summaries[0].second) },
    execa: { firstChunk: roundSummary(summaries[1].first), secondChunk: roundSummary(summaries[1].second) },
    clockOffsetMs: data.clockOffsetMs.map((x) => round(x)),
    streamedAsSeparateChunks: separate,
    target: `max <= ${TARGETS.latencyMs} ms`,
    result: separate ? result : "MISS",
    samplesMs: {
      executorFirst: data.executor.firstChunkMs.map((x) => round(x)),
      executorSecond: data.executor.secondChunkMs.map((x) => round(x)),
      execaFirst: data.execa.firstChunkMs.map((x) => round(x)),
      execaSecond: data.execa.secondChunkMs.map((x) => round(x)),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 4. Memory while streaming 1 GB
// ---------------------------------------------------------------------------------------------
function memory() {
  header(
    `4. Memory: head -c 1000000000 /dev/zero, onEvent only counting bytes; each side in a fresh process,\n` +
      `   RSS sampled every 10 ms from a worker thread, plus the kernel's high-water mark (resourceUsage().maxRSS).`,
  );
  const executor = child("memory-child.mjs", ["executor"]);
  const bare = child("memory-child.mjs", ["execa"]);
  const growthOf = (m) => Math.max(m.growth, m.maxRssGrowth);
  const rows = [
    ["Executor.run, onEvent counting", executor],
    ["bare execa('bash', …) { buffer: false } (reference)", bare],
  ];
  process.stdout.write(
    `${table([
      ["side", "baseline RSS", "peak RSS", "growth", "maxRSS before → after", "bytes streamed", "time", "throughput", "samples"],
      ...rows.map(([name, m]) => [
        name,
        fmtMiB(m.baselineRss),
        fmtMiB(m.peakRss),
        fmtMiB(growthOf(m)),
        `${fmtMiB(m.maxRssBefore)} → ${fmtMiB(m.maxRssAfter)}`,
        m.bytesStreamed.toLocaleString("en-US"),
        `${m.seconds.toFixed(2)} s`,
        `${m.throughputMBps.toFixed(0)} MB/s`,
        `${m.samples} (every ${m.sampleIntervalMs.toFixed(1)} ms)`,
      ]),
    ])}\n`,
  );
  const growth = growthOf(executor);
  const complete = executor.bytesStreamed === executor.bytesExpected && executor.bytesInResult === executor.bytesExpected;
  const result = complete && executor.exitCode === 0 ? verdict(growth, TARGETS.memoryGrowthBytes, true) : "MISS";
  process.stdout.write(
    `  target: peak RSS growth < ${fmtMiB(TARGETS.memoryGrowthBytes)} → ${fmtMiB(growth)} (${(growth / 1e6).toFixed(1)} MB)  ${result}\n` +
      `  growth = max(sampled peak, kernel high-water mark) − idle baseline; bytes streamed ${complete ? "= 1e9 (result.stdoutBytes agrees)" : "≠ 1e9: INCOMPLETE"}, ` +
      `exit code ${executor.exitCode}, ${executor.chunks} chunks\n`,
  );
  return {
    executor: { ...executor, growthBytes: growth },
    execa: { ...bare, growthBytes: growthOf(bare) },
    bytesComplete: complete,
    target: `growth < ${TARGETS.memoryGrowthBytes} bytes (64 MiB)`,
    result,
  };
}

// ---------------------------------------------------------------------------------------------
const info = meta(ROOT);
process.stdout.write(
  `Stigmer local-mode benchmarks — node ${info.node}, ${info.platform}, ${info.cpu}\n` +
    `load average ${info.loadavg.join(" ")}, commit ${info.commit}, ${info.date}\n`,
);
const results = { meta: info, targets: TARGETS };
results.inProcess = await inProcess();
results.cli = cli();
results.latency = latency();
results.memory = memory();

header("Summary");
const summaryRows = [
  ["target", "measured", "limit", "result"],
  [
    "in-process: Executor.run median / execa sh median",
    results.inProcess.ratioVsExecaSh.toFixed(3),
    `≤ ${TARGETS.inProcessRatio.toFixed(2)}`,
    results.inProcess.result,
  ],
  [
    "CLI: stigmer run median / node+sh median",
    results.cli.ratioVsNodeSpawnSh.toFixed(3),
    `≤ ${TARGETS.cliRatio.toFixed(2)}`,
    results.cli.result,
  ],
  [
    "streaming: first-chunk latency, worst run",
    fmtMs(results.latency.executor.firstChunk.max),
    `≤ ${TARGETS.latencyMs} ms`,
    results.latency.result,
  ],
  [
    "memory: peak RSS growth streaming 1e9 bytes",
    fmtMiB(results.memory.executor.growthBytes),
    `< ${fmtMiB(TARGETS.memoryGrowthBytes)}`,
    results.memory.result,
  ],
];
process.stdout.write(`${table(summaryRows)}\n`);

mkdirSync(dirname(RESULTS_FILE), { recursive: true });
writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`\nFigures written to ${RESULTS_FILE.slice(ROOT.length + 1)}\n`);
