// Detector benchmarks: how fast the rule-based detector (@stigmer/detector-rules) classifies commands.
//
//   1. in-process throughput on the labelled corpus (packages/detector-rules/corpus/commands.jsonl),
//      one thread: commands/s and the per-command latency distribution (p50, p99, max)
//   2. CLI bulk mode: `stigmer detect --jsonl` over 10,000 lines vs an in-process loop over the same
//      commands plus node start-up
//   3. corpus agreement (decision === label) and unsafe misses (labelled sandbox, decided local)
//
// Targets are reported (PASS/MISS), not asserted: this exits non-zero only if a bench crashes.
// Figures also go to bench/results/detector.json. Run with `pnpm bench` (builds first).
//
// Environment: BENCH_DETECTOR_SECONDS (3, per side of section 1), BENCH_DETECTOR_CLI_RUNS (5),
// BENCH_DETECTOR_CLI_LINES (10000).

import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RulesDetector } from "@stigmer/detector-rules";
import { header, meta } from "./lib/meta.mjs";
import { fmtMs, fmtRatio, round, roundSummary, summarize, table, verdict } from "./lib/stats.mjs";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);
const CLI_BIN = join(ROOT, "packages/cli/dist/bundle/bin.js");
const CORPUS_FILE = join(ROOT, "packages/detector-rules/corpus/commands.jsonl");
const RESULTS_FILE = join(BENCH_DIR, "results/detector.json");

const CWD = "/home/dev/project";
const SECONDS = Number(process.env.BENCH_DETECTOR_SECONDS ?? 3);
const WARMUP_PASSES = 20;
const CLI_RUNS = Number(process.env.BENCH_DETECTOR_CLI_RUNS ?? 5);
const CLI_WARMUP = 1;
const CLI_LINES = Number(process.env.BENCH_DETECTOR_CLI_LINES ?? 10_000);

const TARGETS = {
  commandsPerSecond: 20_000,
  p99Ms: 1,
  cliRatio: 3,
};

/** Nearest-rank percentile of an ascending array (the same rule as summarize()). */
function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** PASS or MISS for a measured value that must reach a floor (verdict() checks a ceiling). */
const atLeast = (measured, floor) => (measured >= floor ? "PASS" : "MISS");
const fmtUs = (ms) => `${(ms * 1000).toFixed(1)} µs`;
const fmtInt = (x) => Math.round(x).toLocaleString("en-US");
const clip = (text, width = 70) => (text.length > width ? `${text.slice(0, width - 1)}…` : text);

const corpus = readFileSync(CORPUS_FILE, "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line, i) => {
    const entry = JSON.parse(line);
    if (typeof entry.command !== "string" || (entry.expected !== "local" && entry.expected !== "sandbox")) {
      throw new Error(`${CORPUS_FILE}:${i + 1}: expected {"command": string, "expected": "local"|"sandbox"}`);
    }
    return entry;
  });
const commands = corpus.map((entry) => entry.command);
const context = { cwd: CWD };
const detector = new RulesDetector({});

// ---------------------------------------------------------------------------------------------
// 1. In-process throughput and latency
// ---------------------------------------------------------------------------------------------
function inProcess() {
  header(
    `1. In-process: RulesDetector.detect(command, { cwd: "${CWD}" }) over the corpus (${commands.length} commands), main thread\n` +
      `   ${WARMUP_PASSES} warm-up passes, then passes alternate for ~${SECONDS} s per side: one side times every call with\n` +
      "   performance.now(), the other times only the whole pass (total time / count, no per-call timer overhead).",
  );
  const n = commands.length;
  for (let pass = 0; pass < WARMUP_PASSES; pass++) for (let i = 0; i < n; i++) detector.detect(commands[i], context);

  const budgetMs = SECONDS * 1000;
  const latencies = [];
  const perCommandMs = new Float64Array(n);
  let timedMs = 0;
  let timedCount = 0;
  let bulkMs = 0;
  let bulkCount = 0;
  let timedPasses = 0;
  let bulkPasses = 0;
  let sink = 0;
  while (timedMs < budgetMs || bulkMs < budgetMs) {
    if (timedMs < budgetMs) {
      const passStart = performance.now();
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const decision = detector.detect(commands[i], context);
        const dt = performance.now() - t0;
        sink += decision.rules.length;
        latencies.push(dt);
        perCommandMs[i] += dt;
      }
      timedMs += performance.now() - passStart;
      timedCount += n;
      timedPasses++;
    }
    if (bulkMs < budgetMs) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) sink += detector.detect(commands[i], context).rules.length;
      bulkMs += performance.now() - t0;
      bulkCount += n;
      bulkPasses++;
    }
  }
  if (sink === 0) throw new Error("no decisions");

  const sorted = Float64Array.from(latencies).sort();
  const stats = summarize(latencies);
  const p50 = percentile(sorted, 0.5);
  const p99 = percentile(sorted, 0.99);
  const p999 = percentile(sorted, 0.999);
  const sumOfCalls = latencies.reduce((sum, x) => sum + x, 0);
  const timedRate = timedCount / (sumOfCalls / 1000);
  const bulkRate = bulkCount / (bulkMs / 1000);
  const rateResult = atLeast(bulkRate, TARGETS.commandsPerSecond);
  const p99Result = verdict(p99, TARGETS.p99Ms);

  process.stdout.write(
    `${table([
      ["measure", "passes", "calls", "time", "commands/s", "mean per command", "target", ""],
      [
        "no per-call timers (total time / count)",
        String(bulkPasses),
        fmtInt(bulkCount),
        fmtMs(bulkMs),
        fmtInt(bulkRate),
        fmtUs(bulkMs / bulkCount),
        `≥ ${fmtInt(TARGETS.commandsPerSecond)}`,
        rateResult,
      ],
      [
        "per-call performance.now() (sum of calls)",
        String(timedPasses),
        fmtInt(timedCount),
        fmtMs(sumOfCalls),
        fmtInt(timedRate),
        fmtUs(sumOfCalls / timedCount),
        `≥ ${fmtInt(TARGETS.commandsPerSecond)}`,
        atLeast(timedRate, TARGETS.commandsPerSecond),
      ],
    ])}\n`,
  );
  process.stdout.write(
    `${table([
      ["per-command latency (timed side)", "min", "p50", "p90", "p99", "p99.9", "max", "target", ""],
      [
        `${fmtInt(latencies.length)} calls`,
        fmtUs(stats.min),
        fmtUs(p50),
        fmtUs(stats.p90),
        fmtUs(p99),
        fmtUs(p999),
        fmtUs(stats.max),
        `p99 ≤ ${TARGETS.p99Ms} ms`,
        p99Result,
      ],
    ])}\n`,
  );
  const slowest = [...perCommandMs.keys()].sort((a, b) => perCommandMs[b] - perCommandMs[a]).slice(0, 5);
  process.stdout.write(
    `  the verdict on throughput uses the timer-free figure; per-call timers add ${fmtUs(sumOfCalls / timedCount - bulkMs / bulkCount)} per call\n` +
      "  slowest corpus commands (mean over the timed passes):\n" +
      `${table([["command", "mean"], ...slowest.map((i) => [clip(JSON.stringify(commands[i])), fmtUs(perCommandMs[i] / timedPasses)])], {
        indent: "    ",
      })}\n`,
  );
  return {
    corpusCommands: n,
    cwd: CWD,
    warmupPasses: WARMUP_PASSES,
    secondsPerSide: SECONDS,
    withoutTimers: {
      passes: bulkPasses,
      calls: bulkCount,
      ms: round(bulkMs),
      commandsPerSecond: round(bulkRate, 0),
      meanUs: round((bulkMs / bulkCount) * 1000),
    },
    withTimers: {
      passes: timedPasses,
      calls: timedCount,
      ms: round(sumOfCalls),
      commandsPerSecond: round(timedRate, 0),
      meanUs: round((sumOfCalls / timedCount) * 1000),
    },
    latencyMs: { ...roundSummary(stats, 4), p50: round(p50, 4), p99: round(p99, 4), p999: round(p999, 4) },
    slowest: slowest.map((i) => ({ command: commands[i], meanUs: round((perCommandMs[i] / timedPasses) * 1000) })),
    throughput: { target: `>= ${TARGETS.commandsPerSecond} commands/s (timer-free)`, result: rateResult },
    p99: { target: `<= ${TARGETS.p99Ms} ms`, result: p99Result },
  };
}

// ---------------------------------------------------------------------------------------------
// 2. CLI bulk mode
// ---------------------------------------------------------------------------------------------
function cliBulk() {
  const args = [CLI_BIN, "detect", "--jsonl", "--cwd", CWD];
  header(
    `2. CLI bulk mode: node bin.js detect --jsonl --cwd ${CWD} < ${fmtInt(CLI_LINES)} lines (the corpus, cycled)\n` +
      `   spawnSync with the lines as stdin; ${CLI_RUNS} runs after ${CLI_WARMUP} warm-up, median. Baseline: the in-process loop over the\n` +
      `   same commands (warm detector, median of ${CLI_RUNS}) + node start-up (\`node -e 0\`, median of ${CLI_RUNS}, interleaved with the CLI runs).`,
  );
  const inputs = Array.from({ length: CLI_LINES }, (_, i) => commands[i % commands.length]);
  const input = inputs.map((command) => `${JSON.stringify({ command })}\n`).join("");
  const expected = inputs.map((command) => detector.detect(command, context));
  // The caller's STIGMER_* settings must not change what is measured.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("STIGMER_")));

  const spawn = (argv, stdin) => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, argv, { cwd: ROOT, env, input: stdin, maxBuffer: 256 * 1024 * 1024, timeout: 120_000 });
    const ms = performance.now() - t0;
    if (r.error) throw r.error;
    if (r.status !== 0 || r.stderr.length > 0) {
      throw new Error(`node ${argv.join(" ")} failed: status ${r.status}, signal ${r.signal}, stderr: ${r.stderr.toString().trim()}`);
    }
    return { ms, stdout: r.stdout.toString() };
  };

  const cliMs = [];
  const nodeMs = [];
  let lastOutput = "";
  for (let i = 0; i < CLI_WARMUP + CLI_RUNS; i++) {
    const order = i % 2 === 0 ? ["cli", "node"] : ["node", "cli"];
    for (const side of order) {
      if (side === "cli") {
        const r = spawn(args, input);
        lastOutput = r.stdout;
        if (i >= CLI_WARMUP) cliMs.push(r.ms);
      } else {
        const r = spawn(["-e", "0"], "");
        if (i >= CLI_WARMUP) nodeMs.push(r.ms);
      }
    }
  }

  const loopMs = [];
  let sink = 0;
  for (let run = 0; run < CLI_RUNS; run++) {
    const t0 = performance.now();
    for (const command of inputs) sink += detector.detect(command, context).rules.length;
    loopMs.push(performance.now() - t0);
  }
  if (sink === 0) throw new Error("no decisions");

  // Output check: one line per input, in order, each parsing, same mode as in-process.
  const lines = lastOutput.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let unparsable = 0;
  let errors = 0;
  let modeMismatches = 0;
  let rulesMismatches = 0;
  const firstMismatches = [];
  for (let i = 0; i < lines.length; i++) {
    let record;
    try {
      record = JSON.parse(lines[i]);
    } catch {
      unparsable++;
      continue;
    }
    if (record.error) {
      errors++;
      continue;
    }
    if (i >= expected.length) continue;
    if (record.mode !== expected[i].target) {
      modeMismatches++;
      if (firstMismatches.length < 5)
        firstMismatches.push({ line: i + 1, command: inputs[i], cli: record.mode, inProcess: expected[i].target });
    }
    if (JSON.stringify(record.rules) !== JSON.stringify(expected[i].rules)) rulesMismatches++;
  }
  const outputOk = lines.length === CLI_LINES && unparsable === 0 && errors === 0 && modeMismatches === 0;

  const cli = summarize(cliMs);
  const node = summarize(nodeMs);
  const loop = summarize(loopMs);
  const baseline = loop.median + node.median;
  const ratio = cli.median / baseline;
  const result = outputOk ? verdict(ratio, TARGETS.cliRatio) : "MISS";
  process.stdout.write(
    `${table([
      ["side", "median", "min", "max", "per command", "median vs baseline"],
      [
        `node bin.js detect --jsonl (${fmtInt(CLI_LINES)} lines)`,
        fmtMs(cli.median),
        fmtMs(cli.min),
        fmtMs(cli.max),
        fmtUs(cli.median / CLI_LINES),
        fmtRatio(ratio),
      ],
      [
        `in-process loop over the same ${fmtInt(CLI_LINES)} commands`,
        fmtMs(loop.median),
        fmtMs(loop.min),
        fmtMs(loop.max),
        fmtUs(loop.median / CLI_LINES),
        "",
      ],
      ["node -e 0 (node start-up)", fmtMs(node.median), fmtMs(node.min), fmtMs(node.max), "", ""],
      ["baseline = loop median + node start-up median", fmtMs(baseline), "", "", fmtUs(baseline / CLI_LINES), "1.000× (baseline)"],
    ])}\n`,
  );
  process.stdout.write(
    `  output: ${fmtInt(lines.length)} lines for ${fmtInt(CLI_LINES)} inputs, ${unparsable} unparsable, ${errors} error records, ` +
      `${modeMismatches} whose mode differs from the in-process decision for the same input (${rulesMismatches} whose rules differ) → ` +
      `${outputOk ? "complete and in order" : "WRONG"}\n` +
      firstMismatches
        .map((m) => `    line ${m.line}: ${clip(JSON.stringify(m.command))} cli=${m.cli} in-process=${m.inProcess}\n`)
        .join("") +
      `  target: CLI median / baseline ≤ ${TARGETS.cliRatio.toFixed(2)} → ${ratio.toFixed(3)}  ${result}\n` +
      `  the CLI's cost above the baseline: ${fmtMs(cli.median - baseline)} (${fmtUs((cli.median - baseline) / CLI_LINES)} per line)\n`,
  );
  return {
    lines: CLI_LINES,
    runs: CLI_RUNS,
    warmup: CLI_WARMUP,
    argv: ["node", "packages/cli/dist/bundle/bin.js", ...args.slice(1)],
    cli: roundSummary(cli),
    inProcessLoop: roundSummary(loop),
    nodeStartup: roundSummary(node),
    baselineMs: round(baseline),
    ratio: round(ratio),
    output: { lines: lines.length, unparsable, errors, modeMismatches, rulesMismatches, firstMismatches, ok: outputOk },
    target: `<= ${TARGETS.cliRatio}`,
    result,
    samplesMs: { cli: cliMs.map((x) => round(x)), nodeStartup: nodeMs.map((x) => round(x)), inProcessLoop: loopMs.map((x) => round(x)) },
  };
}

// ---------------------------------------------------------------------------------------------
// 3. Corpus agreement
// ---------------------------------------------------------------------------------------------
function agreement() {
  header(`3. Corpus agreement: decision (cwd "${CWD}") vs the label, ${commands.length} lines of ${CORPUS_FILE.slice(ROOT.length + 1)}`);
  const disagreements = [];
  for (const entry of corpus) {
    const decision = detector.detect(entry.command, context);
    if (decision.target !== entry.expected) disagreements.push({ ...entry, got: decision.target, rules: decision.rules });
  }
  const agree = corpus.length - disagreements.length;
  const unsafe = disagreements.filter((d) => d.expected === "sandbox");
  const cautious = disagreements.filter((d) => d.expected === "local");
  const byLabel = (label) => corpus.filter((e) => e.expected === label).length;
  process.stdout.write(
    `${table([
      ["lines", "agree", "agreement", "unsafe misses (expected sandbox, got local)", "over-cautious (expected local, got sandbox)"],
      [
        String(corpus.length),
        String(agree),
        `${((100 * agree) / corpus.length).toFixed(2)} %`,
        String(unsafe.length),
        String(cautious.length),
      ],
    ])}\n` +
      `  labels: ${byLabel("local")} local, ${byLabel("sandbox")} sandbox\n` +
      (disagreements.length > 0
        ? `  disagreements:\n${table(
            [
              ["command", "expected", "got", "rules"],
              ...disagreements.map((d) => [clip(JSON.stringify(d.command), 60), d.expected, d.got, clip(d.rules.join(", "), 50)]),
            ],
            { indent: "    ", align: ["left", "left", "left", "left"] },
          )}\n`
        : ""),
  );
  return {
    lines: corpus.length,
    agree,
    agreementPercent: round((100 * agree) / corpus.length, 2),
    unsafeMisses: unsafe.length,
    overCautious: cautious.length,
    disagreements: disagreements.map(({ command, expected, got, rules }) => ({ command, expected, got, rules })),
  };
}

// ---------------------------------------------------------------------------------------------
const info = meta(ROOT);
process.stdout.write(
  `Stigmer detector benchmarks — node ${info.node}, ${info.platform}, ${info.cpu}\n` +
    `load average ${info.loadavg.join(" ")}, commit ${info.commit}, ${info.date}\n`,
);
const results = { meta: info, targets: TARGETS };
results.inProcess = inProcess();
results.cli = cliBulk();
results.agreement = agreement();

header("Summary");
process.stdout.write(
  `${table([
    ["target", "measured", "limit", "result"],
    [
      "in-process: commands/s on the corpus (timer-free)",
      fmtInt(results.inProcess.withoutTimers.commandsPerSecond),
      `≥ ${fmtInt(TARGETS.commandsPerSecond)}`,
      results.inProcess.throughput.result,
    ],
    ["in-process: per-command latency p99", fmtUs(results.inProcess.latencyMs.p99), `≤ ${TARGETS.p99Ms} ms`, results.inProcess.p99.result],
    [
      `CLI: detect --jsonl (${fmtInt(CLI_LINES)} lines) / (loop + node start-up)`,
      results.cli.ratio.toFixed(3),
      `≤ ${TARGETS.cliRatio.toFixed(2)}`,
      results.cli.result,
    ],
  ])}\n` +
    `  corpus agreement ${results.agreement.agreementPercent.toFixed(2)} % (${results.agreement.agree}/${results.agreement.lines}), ` +
    `unsafe misses ${results.agreement.unsafeMisses}\n`,
);

mkdirSync(dirname(RESULTS_FILE), { recursive: true });
writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`\nFigures written to ${RESULTS_FILE.slice(ROOT.length + 1)}\n`);
