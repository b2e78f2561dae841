// Cloud-mode benchmarks, against the Daytona imitation of the test tree (test/daytona-imitation)
// driven by the real @daytonaio/sdk:
//
//   1. per-command overhead in a warm sandbox: `true` through the daytona backend (session command,
//      live log stream, exit code) vs a bare SDK `executeSessionCommand(sid, {command: "true"})`
//      round trip on the same sandbox. Target: ratio ≤ 1.2.
//   2. start time of `stigmer run --mode=local -- true` with cloud mode configured (MODE=cloud, a
//      key) vs without: the SDK must not load. Target: ratio ≤ 1.05. For scale, the time one
//      `import("@daytonaio/sdk")` costs in a fresh node process is printed too.
//
// Sides run interleaved, run by run. Targets are reported (PASS/MISS), not asserted.
// Figures also go to bench/results/daytona.json.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Daytona } from "@daytonaio/sdk";
import { DaytonaBackend } from "@stigmer/backend-daytona";
import { createLogger, executeOn, resolveConfig } from "@stigmer/core";
import { startDaytonaImitation } from "../test/daytona-imitation/server.mjs";
import { meta } from "./lib/meta.mjs";
import { fmtMs, fmtRatio, round, roundSummary, summarize, table, verdict } from "./lib/stats.mjs";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH_DIR, "..");
const RESULTS_FILE = join(BENCH_DIR, "results/daytona.json");
const CLI = join(ROOT, "packages/cli/dist/bundle/bin.js");
const WARM_RUNS = Number(process.env.BENCH_WARM_RUNS ?? 40);
const START_RUNS = Number(process.env.BENCH_START_RUNS ?? 20);
const TARGETS = { overheadRatio: 1.2, startRatio: 1.05 };

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function overhead() {
  const imitation = await startDaytonaImitation({ transitionMs: 20 });
  const workdir = mkdtempSync(join(tmpdir(), "stigmer-bench-"));
  const config = resolveConfig({
    env: { MODE: "cloud", DAYTONA_API_KEY: imitation.apiKey, DAYTONA_API_URL: imitation.apiUrl, STIGMER_SANDBOX_TTL: "600" },
    cwd: workdir,
  });
  const backend = new DaytonaBackend(config, createLogger({ level: "silent" }), {});
  const sdk = new Daytona({ apiKey: imitation.apiKey, apiUrl: imitation.apiUrl, requestTimeoutMs: 30_000 });
  try {
    const first = await executeOn(backend, { command: "true", cwd: workdir });
    if (first.exitCode !== 0) throw new Error(`true failed in the sandbox: ${first.stderr}`);
    const [record] = imitation.sandboxes();
    const sandbox = await sdk.get(record.id);
    await sandbox.process.createSession("bench-bare");
    const ours = [];
    const bare = [];
    const bareBash = [];
    for (let i = 0; i < WARM_RUNS + 5; i++) {
      const sides = [
        async () => {
          const r = await executeOn(backend, { command: "true", cwd: workdir });
          if (r.exitCode !== 0) throw new Error("true failed in the sandbox");
        },
        async () => {
          const r = await sandbox.process.executeSessionCommand("bench-bare", { command: "true" });
          if (r.exitCode !== 0) throw new Error("bare true failed");
        },
        async () => {
          const r = await sandbox.process.executeSessionCommand("bench-bare", { command: "bash -c true" });
          if (r.exitCode !== 0) throw new Error("bare bash -c true failed");
        },
      ];
      const orders = [
        [0, 1, 2],
        [1, 2, 0],
        [2, 0, 1],
      ];
      for (const side of orders[i % 3]) {
        const dt = await timed(sides[side]);
        if (i >= 5) [ours, bare, bareBash][side].push(dt);
      }
    }
    const a = summarize(ours);
    const b = summarize(bare);
    const c = summarize(bareBash);
    return { ours: a, bareSdk: b, bareSdkBash: c, ratio: a.median / b.median, ratioBash: a.median / c.median };
  } finally {
    await backend.dispose();
    await sdk[Symbol.asyncDispose]();
    await imitation.close();
    rmSync(workdir, { recursive: true, force: true });
  }
}

function cliStart(env) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, "run", "--mode=local", "--", "true"], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const dt = performance.now() - t0;
  if (r.status !== 0) throw new Error(`stigmer run failed: ${r.stderr}`);
  return dt;
}

function startTime() {
  const cloudEnv = { MODE: "cloud", DAYTONA_API_KEY: "dtn_bench_key", DAYTONA_API_URL: "http://127.0.0.1:9" };
  const plain = [];
  const cloud = [];
  for (let i = 0; i < START_RUNS + 2; i++) {
    for (const side of i % 2 === 0 ? [0, 1] : [1, 0]) {
      const dt = side === 0 ? cliStart({}) : cliStart(cloudEnv);
      if (i >= 2) (side === 0 ? plain : cloud).push(dt);
    }
  }
  const sdkImport = [];
  for (let i = 0; i < 3; i++) {
    const r = spawnSync(
      process.execPath,
      ["--input-type=module", "-e", 'const t = performance.now(); await import("@daytonaio/sdk"); console.log(performance.now() - t);'],
      { cwd: join(ROOT, "packages/backend-daytona"), encoding: "utf8" },
    );
    sdkImport.push(Number(r.stdout.trim()));
  }
  const a = summarize(cloud);
  const b = summarize(plain);
  return { cloudConfigured: a, plain: b, ratio: a.median / b.median, sdkImport: summarize(sdkImport) };
}

const o = await overhead();
console.log(
  `\n1. Per-command overhead, warm sandbox: \`true\` via the daytona backend vs a bare SDK executeSessionCommand (${WARM_RUNS} interleaved runs each)`,
);
console.log(
  table([
    ["side", "median", "p90", "min"],
    ["daytona backend (session + live logs + exit code)", fmtMs(o.ours.median), fmtMs(o.ours.p90), fmtMs(o.ours.min)],
    ["bare SDK executeSessionCommand `true` (a shell builtin)", fmtMs(o.bareSdk.median), fmtMs(o.bareSdk.p90), fmtMs(o.bareSdk.min)],
    ["bare SDK executeSessionCommand `bash -c true`", fmtMs(o.bareSdkBash.median), fmtMs(o.bareSdkBash.p90), fmtMs(o.bareSdkBash.min)],
  ]),
);
console.log(
  `  ratio vs bare \`true\` ${fmtRatio(o.ratio)} (target ≤ ${TARGETS.overheadRatio}): ${verdict(o.ratio, TARGETS.overheadRatio)}`,
);
console.log(
  `  ratio vs bare \`bash -c true\` (the same process work as the backend's \`bash -c\`) ${fmtRatio(o.ratioBash)}: ${verdict(o.ratioBash, TARGETS.overheadRatio)}`,
);

const s = startTime();
console.log(
  `\n2. \`stigmer run --mode=local -- true\` start to exit, with cloud mode configured vs without (${START_RUNS} interleaved runs each)`,
);
console.log(
  table([
    ["side", "median", "p90", "min"],
    ["MODE=cloud + DAYTONA_API_KEY", fmtMs(s.cloudConfigured.median), fmtMs(s.cloudConfigured.p90), fmtMs(s.cloudConfigured.min)],
    ["no cloud configuration", fmtMs(s.plain.median), fmtMs(s.plain.p90), fmtMs(s.plain.min)],
  ]),
);
console.log(`  ratio ${fmtRatio(s.ratio)} (target ≤ ${TARGETS.startRatio}): ${verdict(s.ratio, TARGETS.startRatio)}`);
console.log(`  for scale: import("@daytonaio/sdk") alone takes ${fmtMs(s.sdkImport.median)} in a fresh process (avoided in local mode)`);

mkdirSync(dirname(RESULTS_FILE), { recursive: true });
writeFileSync(
  RESULTS_FILE,
  `${JSON.stringify(
    {
      meta: meta(ROOT),
      targets: TARGETS,
      overhead: {
        ours: roundSummary(o.ours),
        bareSdk: roundSummary(o.bareSdk),
        bareSdkBash: roundSummary(o.bareSdkBash),
        ratio: round(o.ratio),
        ratioBash: round(o.ratioBash),
      },
      start: {
        cloudConfigured: roundSummary(s.cloudConfigured),
        plain: roundSummary(s.plain),
        ratio: round(s.ratio),
        sdkImport: roundSummary(s.sdkImport),
      },
    },
    null,
    2,
  )}\n`,
);
