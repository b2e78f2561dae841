// Detector benchmarks: how fast the rule-based detector (@stigmer/detector-rules) classifies commands.
//
//   1. in-process throughput on the labelled corpus (every packages/detector-rules/corpus/*.jsonl),
//      one thread: commands/s and the per-command latency distribution (p50, p99, max)
//   2. CLI bulk mode: `stigmer detect --jsonl` over 10,000 lines vs an in-process loop over the same
//      commands plus node start-up; a fresh process running the detector alone shows which part of
//      the gap is the CLI's
//   3. pathological inputs through the CLI: `stigmer detect --json -- '<command>'` for huge or
//      deeply nested commands vs the same for `ls`
//   4. corpus agreement (decision === label) and unsafe misses (labelled sandbox, decided local)
//
// Targets are reported (PASS/MISS), not asserted: this exits non-zero only if a bench crashes.
// Figures also go to bench/results/detector.json. Run with `pnpm bench detector` (builds first).
//
// Environment: BENCH_DETECTOR_SECONDS (3, per side of section 1), BENCH_DETECTOR_CLI_RUNS (5),
// BENCH_DETECTOR_CLI_LINES (10000), BENCH_DETECTOR_PATHOLOGICAL_RUNS (7).

import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RulesDetector } from "@stigmer/detector-rules";
import { header, meta, resultsFile } from "./lib/meta.mjs";
import { fmtMs, fmtRatio, round, roundSummary, summarize, table, verdict } from "./lib/stats.mjs";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);
const CLI_BIN = join(ROOT, "packages/cli/dist/bundle/bin.js");
const CORPUS_DIR = join(ROOT, "packages/detector-rules/corpus");
const FLOOR_CHILD = join(BENCH_DIR, "lib/detector-bulk-child.mjs");
const RESULTS_FILE = resultsFile("detector.json");

const CWD = "/home/dev/project";
const SECONDS = Number(process.env.BENCH_DETECTOR_SECONDS ?? 3);
const WARMUP_PASSES = 20;
const CLI_RUNS = Number(process.env.BENCH_DETECTOR_CLI_RUNS ?? 5);
const CLI_WARMUP = 1;
const CLI_LINES = Number(process.env.BENCH_DETECTOR_CLI_LINES ?? 10_000);
const PATHOLOGICAL_RUNS = Number(process.env.BENCH_DETECTOR_PATHOLOGICAL_RUNS ?? 7);
const PATHOLOGICAL_TIMEOUT_MS = 60_000;
const IN_PROCESS_RUNS = 5;
const IN_PROCESS_BUDGET_MS = 3000;
const SHOWN_DISAGREEMENTS = 40;

const TARGETS = {
  commandsPerSecond: 20_000,
  p99Ms: 1,
  cliRatio: 3,
  pathologicalRatio: 3,
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

/** Every corpus file (new ones are added beside commands.jsonl), entries tagged with their file. */
const corpusFiles = readdirSync(CORPUS_DIR)
  .filter((name) => name.endsWith(".jsonl"))
  .sort();
const corpus = corpusFiles.flatMap((file) =>
  readFileSync(join(CORPUS_DIR, file), "utf8")
    .split("\n")
    .map((line, i) => ({ line, at: `${file}:${i + 1}` }))
    .filter(({ line }) => line.trim() !== "")
    .map(({ line, at }) => {
      const entry = JSON.parse(line);
      if (typeof entry.command !== "string" || (entry.expected !== "local" && entry.expected !== "sandbox")) {
        throw new Error(`${CORPUS_DIR}/${at}: expected {"command": string, "expected": "local"|"sandbox"}`);
      }
      return { command: entry.command, expected: entry.expected, file };
    }),
);
if (corpus.length === 0) throw new Error(`${CORPUS_DIR}: no *.jsonl lines`);
const CORPUS_NAME = `${CORPUS_DIR.slice(ROOT.length + 1)}/${corpusFiles.length === 1 ? corpusFiles[0] : `{${corpusFiles.join(",")}}`}`;
const commands = corpus.map((entry) => entry.command);
const context = { cwd: CWD };
const detector = new RulesDetector({});
// The caller's STIGMER_* settings must not change what the CLI runs are measuring.
const childEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("STIGMER_")));

/** Runs `node <argv>` with `stdin`; its wall time, output and how it ended (no throw: the caller judges). */
function spawnNode(argv, { stdin = "", timeout = 120_000 } = {}) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, argv, { cwd: ROOT, env: childEnv, input: stdin, maxBuffer: 256 * 1024 * 1024, timeout });
  const ms = performance.now() - t0;
  const stderr = r.stderr?.toString().trim() ?? "";
  const failure = r.error
    ? r.error.code === "ETIMEDOUT"
      ? `timed out after ${timeout / 1000} s`
      : r.error.message
    : r.status !== 0 || stderr !== ""
      ? `status ${r.status}, signal ${r.signal}${stderr ? `, stderr: ${clip(stderr, 200)}` : ""}`
      : undefined;
  return { ms, stdout: r.stdout?.toString() ?? "", failure };
}

/** As spawnNode, but a run that fails is a crash. */
function spawnNodeOrThrow(argv, stdin) {
  const r = spawnNode(argv, { stdin });
  if (r.failure) throw new Error(`node ${argv.map((a) => clip(a, 60)).join(" ")} failed: ${r.failure}`);
  return r;
}

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
      "   The CLI decides each distinct command once per run and repeats the answer for a repeated one (detectors are pure).\n" +
      `   spawnSync with the lines as stdin; ${CLI_RUNS} runs after ${CLI_WARMUP} warm-up, median. Baseline: the in-process loop over the\n` +
      `   same commands (warm detector, median of ${CLI_RUNS}) + node start-up (\`node -e 0\`, median of ${CLI_RUNS}, interleaved with the CLI runs).\n` +
      "   Also interleaved, not part of the target: a fresh node process that loads the detector alone and does the same\n" +
      `   lines (${FLOOR_CHILD.slice(ROOT.length + 1)}: no config, executor or plugin loader): what the detector itself costs there.`,
  );
  const inputs = Array.from({ length: CLI_LINES }, (_, i) => commands[i % commands.length]);
  const input = inputs.map((command) => `${JSON.stringify({ command })}\n`).join("");
  const expected = inputs.map((command) => detector.detect(command, context));

  const sides = {
    cli: { argv: args, stdin: input, ms: [] },
    floor: { argv: [FLOOR_CHILD, CWD], stdin: input, ms: [] },
    node: { argv: ["-e", "0"], stdin: "", ms: [] },
  };
  const names = Object.keys(sides);
  let lastOutput = "";
  let floorOutput = "";
  for (let i = 0; i < CLI_WARMUP + CLI_RUNS; i++) {
    // A different side first on each run, so no side always follows the same one.
    const order = names.map((_, k) => names[(i + k) % names.length]);
    for (const name of order) {
      const side = sides[name];
      const r = spawnNodeOrThrow(side.argv, side.stdin);
      if (name === "cli") lastOutput = r.stdout;
      if (name === "floor") floorOutput = r.stdout;
      if (i >= CLI_WARMUP) side.ms.push(r.ms);
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
  // The floor writes what the CLI writes (a detector that throws would differ: the CLI fails closed).
  const floorSameOutput = floorOutput === lastOutput;

  const cli = summarize(sides.cli.ms);
  const floor = summarize(sides.floor.ms);
  const node = summarize(sides.node.ms);
  const loop = summarize(loopMs);
  const baseline = loop.median + node.median;
  const ratio = cli.median / baseline;
  const floorRatio = floor.median / baseline;
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
      [
        "detector alone, fresh process (not in the target)",
        fmtMs(floor.median),
        fmtMs(floor.min),
        fmtMs(floor.max),
        fmtUs(floor.median / CLI_LINES),
        fmtRatio(floorRatio),
      ],
    ])}\n`,
  );
  process.stdout.write(
    `  output: ${fmtInt(lines.length)} lines for ${fmtInt(CLI_LINES)} inputs, ${unparsable} unparsable, ${errors} error records, ` +
      `${modeMismatches} whose mode differs from the in-process decision for the same input (${rulesMismatches} whose rules differ) → ` +
      `${outputOk ? "complete and in order" : "WRONG"}; the detector-alone process wrote ${floorSameOutput ? "the same bytes" : "DIFFERENT output"}\n` +
      firstMismatches
        .map((m) => `    line ${m.line}: ${clip(JSON.stringify(m.command))} cli=${m.cli} in-process=${m.inProcess}\n`)
        .join("") +
      `  target: CLI median / baseline ≤ ${TARGETS.cliRatio.toFixed(2)} → ${ratio.toFixed(3)}  ${result}\n` +
      `  the CLI's cost above the baseline: ${fmtMs(cli.median - baseline)} (${fmtUs((cli.median - baseline) / CLI_LINES)} per line), of which\n` +
      `    ${fmtMs(floor.median - baseline)} a fresh process pays for the detector alone (module load, cold JIT, JSON in and out), and\n` +
      `    ${fmtMs(cli.median - floor.median)} the CLI's own (config, executor, plugin loader, stdin, output)\n`,
  );
  // Not the target, for honesty: the CLI remembers a command it already decided in the run (detectors are
  // pure), so the cycled input above repeats; here every line is a different command.
  const unique = [...new Set(commands)];
  const uniqueInput = unique.map((command) => `${JSON.stringify({ command })}\n`).join("");
  const uniqueCli = [];
  const uniqueNode = [];
  for (let i = 0; i < CLI_WARMUP + CLI_RUNS; i++) {
    const a = spawnNodeOrThrow(args, uniqueInput);
    const b = spawnNodeOrThrow(["-e", "0"], "");
    if (i >= CLI_WARMUP) {
      uniqueCli.push(a.ms);
      uniqueNode.push(b.ms);
    }
  }
  const uniqueLoop = [];
  for (let run = 0; run < CLI_RUNS; run++) {
    const t0 = performance.now();
    for (const command of unique) sink += detector.detect(command, context).rules.length;
    uniqueLoop.push(performance.now() - t0);
  }
  const uCli = summarize(uniqueCli);
  const uBaseline = summarize(uniqueLoop).median + summarize(uniqueNode).median;
  process.stdout.write(
    `  not the target: the ${fmtInt(unique.length)} different commands once each (nothing repeats, so nothing is remembered): ` +
      `CLI ${fmtMs(uCli.median)} vs loop + start-up ${fmtMs(uBaseline)} = ${fmtRatio(uCli.median / uBaseline)}\n`,
  );
  return {
    lines: CLI_LINES,
    runs: CLI_RUNS,
    warmup: CLI_WARMUP,
    uniqueCommands: { lines: unique.length, cli: roundSummary(uCli), baselineMs: round(uBaseline), ratio: round(uCli.median / uBaseline) },
    argv: ["node", "packages/cli/dist/bundle/bin.js", ...args.slice(1)],
    cli: roundSummary(cli),
    inProcessLoop: roundSummary(loop),
    nodeStartup: roundSummary(node),
    baselineMs: round(baseline),
    ratio: round(ratio),
    detectorAloneFreshProcess: {
      argv: ["node", FLOOR_CHILD.slice(ROOT.length + 1), CWD],
      ...roundSummary(floor),
      ratio: round(floorRatio),
      sameOutput: floorSameOutput,
    },
    cliOwnMs: round(cli.median - floor.median),
    output: { lines: lines.length, unparsable, errors, modeMismatches, rulesMismatches, firstMismatches, ok: outputOk },
    target: `<= ${TARGETS.cliRatio}`,
    result,
    samplesMs: {
      cli: sides.cli.ms.map((x) => round(x)),
      detectorAloneFreshProcess: sides.floor.ms.map((x) => round(x)),
      nodeStartup: sides.node.ms.map((x) => round(x)),
      inProcessLoop: loopMs.map((x) => round(x)),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 3. Pathological inputs through the CLI
// ---------------------------------------------------------------------------------------------
/** Linux refuses a single argument longer than this (MAX_ARG_STRLEN), and each input is one argument. */
const MAX_ARG_BYTES = 128 * 1024 - 1;
const LOREM = "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor ";

/** `sed -e 's/a1/b1/g;s/a2/b2/g;…'`: substitutions added until the script is `bytes` long. */
function sedScript(bytes) {
  const substitutions = [];
  for (let i = 1, length = 0; length < bytes; i++) {
    substitutions.push(`s/a${i}/b${i}/g`);
    length += substitutions.at(-1).length + 1;
  }
  return `sed -e '${substitutions.join(";")}'`;
}

/** `count` substitutions `s/x/y/;s|x|y|g;s#x#y#2;…`, delimiters and flags varied: the shape that made a sed regex backtrack. */
function sedDelimiters(count) {
  const delimiters = ["/", "|", "#", ",", ":", "@", "!", "%", "_"];
  const flags = ["", "g", "2", "gI", "p", "3g"];
  const substitutions = Array.from({ length: count }, (_, i) => {
    const d = delimiters[i % delimiters.length];
    return `s${d}x${d}y${d}${flags[i % flags.length]};`;
  });
  return `sed -e '${substitutions.join("")}'`;
}

/** The inputs of section 3; `target`: counted in the slowest-input ratio (the others are reported only). */
function pathologicalInputs() {
  const text = (bytes) => LOREM.repeat(Math.ceil(bytes / LOREM.length)).slice(0, bytes);
  const heredocLines = [];
  for (let i = 0, length = 0; length < 100 * 1024; i++) {
    heredocLines.push(`line ${i}: ${LOREM}`);
    length += heredocLines.at(-1).length + 1;
  }
  return [
    { name: "sed script, 6 KB of s/aN/bN/g", command: sedScript(6 * 1024), target: true },
    { name: "sed script, 800 × s?x?y?flags;", command: sedDelimiters(800), target: true },
    { name: "cd chain, 4,000 links", command: Array.from({ length: 4000 }, (_, i) => `cd d${i}`).join(" && "), target: true },
    { name: "unterminated $( + 80 KB", command: `echo $(${text(80 * 1024)}`, target: true },
    { name: "$( nested 2,000 deep", command: `echo ${"$( ".repeat(2000)}true${" )".repeat(2000)}`, target: false },
    { name: "heredoc, 100 KB", command: `cat > notes.txt <<EOF\n${heredocLines.join("\n")}\nEOF`, target: false },
  ];
}

function pathological() {
  const argsFor = (command) => [CLI_BIN, "detect", "--json", "--cwd", CWD, "--", command];
  const inputs = [{ name: "ls (the reference)", command: "ls", target: false }, ...pathologicalInputs()];
  header(
    `3. Pathological inputs through the CLI: node bin.js detect --json --cwd ${CWD} -- '<command>' (the command as one argument)\n` +
      `   vs the same for \`ls\`. ${PATHOLOGICAL_RUNS} rounds after 1 warm-up; each round runs every input once, in alternating order;\n` +
      `   medians. An input that times out (${PATHOLOGICAL_TIMEOUT_MS / 1000} s) or fails is not run again. Target: the slowest input marked\n` +
      `   "target" ≤ ${TARGETS.pathologicalRatio}× \`ls\`; the others are reported only. In-process: RulesDetector.detect on the same command after one\n` +
      `   warm-up call, median of up to ${IN_PROCESS_RUNS} calls (fewer when they take over ${IN_PROCESS_BUDGET_MS / 1000} s in all).`,
  );
  for (const input of inputs) {
    input.bytes = Buffer.byteLength(input.command);
    if (input.bytes > MAX_ARG_BYTES) throw new Error(`${input.name}: ${input.bytes} bytes, over the ${MAX_ARG_BYTES}-byte argument limit`);
    input.ms = [];
  }

  for (let round = 0; round < 1 + PATHOLOGICAL_RUNS; round++) {
    const order = round % 2 === 0 ? inputs : [...inputs].reverse();
    for (const input of order) {
      if (input.failure) continue;
      const r = spawnNode(argsFor(input.command), { timeout: PATHOLOGICAL_TIMEOUT_MS });
      if (r.failure) {
        input.failure = r.failure;
        continue;
      }
      if (round > 0) input.ms.push(r.ms);
      try {
        const record = JSON.parse(r.stdout);
        input.decision = { mode: record.mode, rules: record.rules };
      } catch {
        input.failure = `output is not one JSON object: ${clip(JSON.stringify(r.stdout), 80)}`;
      }
    }
  }
  const reference = inputs[0];
  if (reference.failure) throw new Error(`node bin.js detect --json -- ls failed: ${reference.failure}`);
  const lsMs = summarize(reference.ms).median;

  for (const input of inputs) {
    input.cli = summarize(input.ms);
    input.ratio = input.failure ? Number.NaN : input.cli.median / lsMs;
    if (input.failure?.startsWith("timed out")) continue; // in-process would take as long
    // One warm-up, then up to IN_PROCESS_RUNS runs while they take less than IN_PROCESS_BUDGET_MS in all.
    detector.detect(input.command, context);
    const ms = [];
    for (let spent = 0; ms.length < IN_PROCESS_RUNS && (ms.length === 0 || spent < IN_PROCESS_BUDGET_MS); spent += ms.at(-1)) {
      const t0 = performance.now();
      detector.detect(input.command, context);
      ms.push(performance.now() - t0);
    }
    input.inProcessMs = summarize(ms).median;
    input.inProcessRuns = ms.length;
  }
  const targets = inputs.filter((input) => input.target);
  const slowest = targets.reduce((a, b) => (b.failure || b.ratio > a.ratio ? b : a));
  const ratio = slowest.failure ? Number.NaN : slowest.ratio;
  const result = targets.some((input) => input.failure) ? "MISS" : verdict(ratio, TARGETS.pathologicalRatio);

  process.stdout.write(
    `${table(
      [
        ["input", "bytes", "target", "median", "min", "max", "vs ls", "in-process", "decision"],
        ...inputs.map((input) => [
          input.name,
          fmtInt(input.bytes),
          input.target ? "yes" : "",
          input.failure ? "—" : fmtMs(input.cli.median),
          input.failure ? "—" : fmtMs(input.cli.min),
          input.failure ? "—" : fmtMs(input.cli.max),
          input.failure ? "—" : fmtRatio(input.ratio),
          input.inProcessMs === undefined ? "—" : fmtMs(input.inProcessMs),
          input.failure ? `FAILED: ${input.failure}` : clip(`${input.decision.mode} [${input.decision.rules.join(", ")}]`, 50),
        ]),
      ],
      { align: ["left", "right", "left", "right", "right", "right", "right", "right", "left"] },
    )}\n` +
      `  target: slowest of the target inputs (${slowest.name}) / ls ≤ ${TARGETS.pathologicalRatio.toFixed(2)} → ` +
      `${slowest.failure ? `failed (${slowest.failure})` : ratio.toFixed(3)}  ${result}\n`,
  );
  return {
    runs: PATHOLOGICAL_RUNS,
    warmup: 1,
    argv: ["node", "packages/cli/dist/bundle/bin.js", ...argsFor("<command>").slice(1)],
    lsMs: roundSummary(reference.cli),
    inputs: inputs.slice(1).map((input) => ({
      name: input.name,
      bytes: input.bytes,
      target: input.target,
      head: clip(input.command, 80),
      ...(input.failure
        ? { failure: input.failure }
        : { cliMs: roundSummary(input.cli), ratio: round(input.ratio), decision: input.decision }),
      ...(input.inProcessMs === undefined ? {} : { inProcessMs: round(input.inProcessMs, 4), inProcessRuns: input.inProcessRuns }),
      samplesMs: input.ms.map((x) => round(x)),
    })),
    slowest: slowest.name,
    ratio: round(ratio),
    target: `slowest target input <= ${TARGETS.pathologicalRatio} x ls`,
    result,
  };
}

// ---------------------------------------------------------------------------------------------
// 4. Corpus agreement
// ---------------------------------------------------------------------------------------------
function agreement() {
  header(`4. Corpus agreement: decision (cwd "${CWD}") vs the label, ${commands.length} lines of ${CORPUS_NAME}`);
  const disagreements = [];
  for (const entry of corpus) {
    const decision = detector.detect(entry.command, context);
    if (decision.target !== entry.expected) disagreements.push({ ...entry, got: decision.target, rules: decision.rules });
  }
  const agree = corpus.length - disagreements.length;
  const unsafe = disagreements.filter((d) => d.expected === "sandbox");
  const cautious = disagreements.filter((d) => d.expected === "local");
  const byLabel = (label) => corpus.filter((e) => e.expected === label).length;
  const row = (name, file) => {
    const lines = corpus.filter((e) => file === undefined || e.file === file).length;
    const missed = disagreements.filter((d) => file === undefined || d.file === file);
    return [
      name,
      String(lines),
      String(lines - missed.length),
      `${((100 * (lines - missed.length)) / lines).toFixed(2)} %`,
      String(missed.filter((d) => d.expected === "sandbox").length),
      String(missed.filter((d) => d.expected === "local").length),
    ];
  };
  const several = corpusFiles.length > 1;
  const shown = [...unsafe, ...cautious].slice(0, SHOWN_DISAGREEMENTS);
  process.stdout.write(
    `${table([
      ["file", "lines", "agree", "agreement", "unsafe misses (expected sandbox, got local)", "over-cautious (expected local, got sandbox)"],
      ...(several ? corpusFiles.map((file) => row(file, file)) : []),
      row(several ? "all" : corpusFiles[0]),
    ])}\n` +
      `  labels: ${byLabel("local")} local, ${byLabel("sandbox")} sandbox\n` +
      (disagreements.length > 0
        ? `  disagreements${shown.length < disagreements.length ? ` (the first ${shown.length}, unsafe misses first; all of them are in the JSON)` : ""}:\n${table(
            [
              ["command", ...(several ? ["file"] : []), "expected", "got", "rules"],
              ...shown.map((d) => [
                clip(JSON.stringify(d.command), 60),
                ...(several ? [d.file] : []),
                d.expected,
                d.got,
                clip(d.rules.join(", "), 50),
              ]),
            ],
            { indent: "    ", align: ["left", "left", "left", "left", "left"] },
          )}\n`
        : ""),
  );
  return {
    files: corpusFiles,
    lines: corpus.length,
    agree,
    agreementPercent: round((100 * agree) / corpus.length, 2),
    unsafeMisses: unsafe.length,
    overCautious: cautious.length,
    disagreements: disagreements.map(({ command, file, expected, got, rules }) => ({ command, file, expected, got, rules })),
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
results.pathological = pathological();
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
    [
      `CLI: slowest pathological input (${results.pathological.slowest}) / ls`,
      Number.isNaN(results.pathological.ratio) ? "failed" : results.pathological.ratio.toFixed(3),
      `≤ ${TARGETS.pathologicalRatio.toFixed(2)}`,
      results.pathological.result,
    ],
  ])}\n` +
    `  corpus agreement ${results.agreement.agreementPercent.toFixed(2)} % (${results.agreement.agree}/${results.agreement.lines}), ` +
    `unsafe misses ${results.agreement.unsafeMisses}\n`,
);

mkdirSync(dirname(RESULTS_FILE), { recursive: true });
writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`\nFigures written to ${RESULTS_FILE.slice(ROOT.length + 1)}\n`);
