// HTTP server benchmarks (issues 6 and 12), on loopback, local mode:
//
//   1. overhead of one `POST /v1/exec` of `true` to a `stigmer server start` process (NDJSON
//      stream read to the end, keep-alive client) vs the same command through an in-process
//      `Executor.run`, measured side by side in one run. Target: ≤ 2 ms added at the median. A
//      third side, a request the server refuses (400, nothing runs), is HTTP's own round trip.
//   2. load: 200 requests at concurrency 16 from a bounded client loop. Targets: zero errors, no
//      leaked processes afterwards; p50/p99 latency and requests/s are reported.
//
// Sides run interleaved, run by run. Targets are reported (PASS/MISS), not asserted.
// Figures also go to bench/results/server.json.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import localPlugin from "@stigmer/backend-local";
import { createExecutor, createLogger, resolveConfig } from "@stigmer/core";
import { meta, resultsFile } from "./lib/meta.mjs";
import { fmtMs, fmtRatio, round, roundSummary, summarize, table, verdict } from "./lib/stats.mjs";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const RESULTS_FILE = resultsFile("server.json");
const CLI = join(BENCH_DIR, "../packages/cli/dist/bundle/bin.js");
const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const LOAD_REQUESTS = 200;
const LOAD_CONCURRENCY = 16;
const TOKEN = "bench-token-0123456789abcdef";
const TARGETS = { addedMedianMs: 2, loadErrors: 0, leakedProcesses: 0 };

/** Live processes whose parent is the server process (the commands' shells), zombies excluded. */
function children(parent) {
  let n = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === parent && fields[0] !== "Z") n++;
    } catch {}
  }
  return n;
}

const logger = createLogger({ level: "silent" });
const executor = createExecutor({
  config: resolveConfig({ env: {}, flags: { logLevel: "silent" } }),
  modules: { local: localPlugin },
  logger,
});
// The server is a real `stigmer server start` process, as in use: the agent is another process.
const stateDir = mkdtempSync(join(tmpdir(), "stigmer-bench-state-"));
const serverProcess = spawn(
  process.execPath,
  [CLI, "server", "start", "--port", "0", "--log-level", "silent", "--max-concurrency", String(LOAD_CONCURRENCY)],
  {
    env: { ...process.env, STIGMER_STATE_DIR: stateDir, STIGMER_SERVER_TOKEN: TOKEN, STIGMER_EXECUTION_MODE: "local" },
    stdio: ["ignore", "pipe", "inherit"],
  },
);
const server = await new Promise((resolve, reject) => {
  let out = "";
  serverProcess.stdout.on("data", (d) => {
    out += d;
    const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
    if (url) resolve({ url, pid: serverProcess.pid });
  });
  serverProcess.on("exit", (code) => reject(new Error(`stigmer server exited (${code}) before listening`)));
});

// A keep-alive node:http client, as an agent-runner would hold one.
const agent = new Agent({ keepAlive: true, maxSockets: LOAD_CONCURRENCY });
function viaHttp(command, { expect = 200 } = {}) {
  const body = JSON.stringify({ command });
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}/v1/exec`,
      {
        method: "POST",
        agent,
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          text += d;
        });
        res.on("end", () => {
          const ok = res.statusCode === expect && (expect !== 200 || /"type":"exit",.*"exitCode":0/.test(text));
          if (!ok) reject(new Error(`request failed: ${res.statusCode} ${text.slice(0, 200)}`));
          else resolve();
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function inProcess(command) {
  const r = await executor.run({ command });
  if (r.exitCode !== 0) throw new Error("true failed");
}

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

try {
  const http = [];
  const direct = [];
  const refused = [];
  const sides = [
    [http, () => viaHttp("true")],
    [direct, () => inProcess("true")],
    // A body the server refuses (400): HTTP, authentication and parsing, no command.
    [refused, () => viaHttp(5, { expect: 400 })],
  ];
  for (let i = 0; i < RUNS + 10; i++) {
    // Rotated, run by run: no side always follows the same one.
    for (let j = 0; j < sides.length; j++) {
      const [samples, run] = sides[(i + j) % sides.length];
      const dt = await timed(run);
      if (i >= 10) samples.push(dt);
    }
  }
  const a = summarize(http);
  const b = summarize(direct);
  const c = summarize(refused);
  const added = a.median - b.median;

  const before = children(server.pid);
  const latencies = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: LOAD_CONCURRENCY }, async () => {
      while (next < LOAD_REQUESTS) {
        next++;
        const t0 = performance.now();
        try {
          await viaHttp("echo load");
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 300));
  const leaked = children(server.pid) - before;
  const sorted = [...latencies].sort((x, y) => x - y);
  const p = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

  console.log(`\n1. POST /v1/exec of \`true\` vs in-process Executor.run (${RUNS} interleaved runs each)`);
  console.log(
    table([
      ["side", "median", "p90", "min"],
      ["HTTP (keep-alive node:http, NDJSON read to the end)", fmtMs(a.median), fmtMs(a.p90), fmtMs(a.min)],
      ["in-process Executor.run", fmtMs(b.median), fmtMs(b.p90), fmtMs(b.min)],
      ["HTTP round trip of a refused request (400, no command)", fmtMs(c.median), fmtMs(c.p90), fmtMs(c.min)],
    ]),
  );
  console.log(
    `  added at the median: ${fmtMs(added)} (target ≤ ${TARGETS.addedMedianMs} ms): ${verdict(added, TARGETS.addedMedianMs)}; ratio ${fmtRatio(a.median / b.median)}`,
  );
  console.log(`\n2. Load: ${LOAD_REQUESTS} requests of \`echo load\` at concurrency ${LOAD_CONCURRENCY}`);
  console.log(`  p50 ${fmtMs(p(0.5))}, p99 ${fmtMs(p(0.99))}, ${(LOAD_REQUESTS / seconds).toFixed(1)} requests/s`);
  console.log(`  errors: ${errors} (target 0): ${verdict(errors, 0)}; leaked processes: ${leaked} (target 0): ${verdict(leaked, 0)}`);

  mkdirSync(dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(
    RESULTS_FILE,
    `${JSON.stringify(
      {
        meta: meta(join(BENCH_DIR, "..")),
        targets: TARGETS,
        overhead: {
          http: roundSummary(a),
          inProcess: roundSummary(b),
          refusedRoundTrip: roundSummary(c),
          addedMedianMs: round(added),
          ratio: round(a.median / b.median),
        },
        load: {
          requests: LOAD_REQUESTS,
          concurrency: LOAD_CONCURRENCY,
          p50: round(p(0.5)),
          p99: round(p(0.99)),
          requestsPerSecond: round(LOAD_REQUESTS / seconds),
          errors,
          leakedProcesses: leaked,
        },
      },
      null,
      2,
    )}\n`,
  );
} finally {
  agent.destroy();
  serverProcess.kill("SIGTERM");
  await new Promise((resolve) => serverProcess.once("exit", resolve));
  await executor.dispose();
  rmSync(stateDir, { recursive: true, force: true });
}
