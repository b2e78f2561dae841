// Cloud-mode benchmarks, against the Daytona imitation of the test tree (test/daytona-imitation)
// driven by the real @daytonaio/sdk:
//
//   1. per-command overhead in a warm sandbox: `true` through the daytona backend (session command,
//      live log stream, exit code, and the `sync` workspace's collection of the command's changes:
//      one executeCommand running core's pull script) vs a bare SDK
//      `executeSessionCommand(sid, {command: "true"})` round trip on the same sandbox. Target: ratio ≤ 1.2.
//   2. start time of `stigmer run --mode=local -- true` with cloud mode configured (MODE=cloud, a
//      key) vs without: the SDK must not load. Target: ratio ≤ 1.05. For scale, the time one
//      `import("@daytonaio/sdk")` costs in a fresh node process is printed too.
//   3. the first command in a fresh sandbox (created, project copied in, command, changes
//      collected) with a 600-file project (60 directories × 10 files of 1–4 KiB) vs the same
//      command with an empty project: what the initial copy of the `sync` workspace costs.
//      Reported, no target (over real Daytona the upload's bandwidth and the round trips dominate).
//
// Sides run interleaved, run by run. Targets are reported (PASS/MISS), not asserted.
// Figures also go to bench/results/daytona.json.
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Daytona } from "@daytonaio/sdk";
import daytonaPlugin, { DaytonaBackend } from "@stigmer/backend-daytona";
import { createLogger, executeOn, resolveConfig, resolvePluginOptions } from "@stigmer/core";
import { startDaytonaImitation } from "../test/daytona-imitation/server.mjs";
import { meta, resultsFile } from "./lib/meta.mjs";
import { fmtMs, fmtRatio, round, roundSummary, summarize, table, verdict } from "./lib/stats.mjs";

/** The daytona plugin's own settings (key, URL) from the config's environment, as core resolves them when it loads the plugin. */
const daytonaOptions = (config) => resolvePluginOptions(daytonaPlugin, "daytona", "@stigmer/backend-daytona", config).options;

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH_DIR, "..");
const RESULTS_FILE = resultsFile("daytona.json");
const CLI = join(ROOT, "packages/cli/dist/bundle/bin.js");
const WARM_RUNS = Number(process.env.BENCH_WARM_RUNS ?? 40);
const START_RUNS = Number(process.env.BENCH_START_RUNS ?? 20);
const FIRST_RUNS = Number(process.env.BENCH_FIRST_RUNS ?? 9);

// The backend keeps the manifests of its sandboxes' copies in Stigmer's state directory: a
// private one for this run, never the user's.
const STATE_DIR = mkdtempSync(join(tmpdir(), "stigmer-bench-state-"));
process.env.STIGMER_STATE_DIR = STATE_DIR;
process.on("exit", () => rmSync(STATE_DIR, { recursive: true, force: true }));
const TARGETS = { overheadRatio: 1.2, startRatio: 1.05 };

/**
 * The imitation's sandboxes share this host's /tmp, where core's sync scripts keep their state
 * (`/tmp/.stigmer-sync/<hash of the sandbox id>`): removed with the imitation.
 */
async function closeImitation(imitation) {
  const ids = new Set(imitation.requests.flatMap((q) => /^\/toolbox\/([^/]+)\//.exec(q.path)?.[1] ?? []));
  await imitation.close();
  for (const id of ids) {
    rmSync(join("/tmp/.stigmer-sync", createHash("sha256").update(id).digest("hex").slice(0, 16)), { recursive: true, force: true });
  }
}

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
  const backend = new DaytonaBackend(config, createLogger({ level: "silent" }), daytonaOptions(config));
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
    await closeImitation(imitation);
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

/** 60 directories × 10 files of 1–4 KiB of text, plus a README: a small real-world project's shape. */
function projectWith600Files() {
  const dir = mkdtempSync(join(tmpdir(), "stigmer-bench-600-"));
  let bytes = 0;
  for (let d = 0; d < 60; d++) {
    mkdirSync(join(dir, `pkg${d}`));
    for (let f = 0; f < 10; f++) {
      const size = 1024 + (((d * 10 + f) * 2654435761) % (3 * 1024 + 1));
      const content = randomBytes(size).toString("base64").slice(0, size);
      writeFileSync(join(dir, `pkg${d}`, `mod${f}.py`), content);
      bytes += size;
    }
  }
  writeFileSync(join(dir, "README.md"), "# bench project\n");
  return { dir, files: 601, bytes };
}

async function firstCommand() {
  const imitation = await startDaytonaImitation({ transitionMs: 20 });
  const big = projectWith600Files();
  const empty = mkdtempSync(join(tmpdir(), "stigmer-bench-empty-"));
  const command = "ls > /dev/null";
  const once = async (cwd) => {
    const config = resolveConfig({
      env: { MODE: "cloud", DAYTONA_API_KEY: imitation.apiKey, DAYTONA_API_URL: imitation.apiUrl, STIGMER_SANDBOX_TTL: "600" },
      cwd,
    });
    const backend = new DaytonaBackend(config, createLogger({ level: "silent" }), daytonaOptions(config));
    try {
      const t0 = performance.now();
      const r = await executeOn(backend, { command, cwd });
      const dt = performance.now() - t0;
      if (r.exitCode !== 0) throw new Error(`${command} failed in the sandbox: ${r.stderr}`);
      return dt;
    } finally {
      // Deletes the sandbox it created (cleanup on): the next run gets a fresh one.
      await backend.dispose();
    }
  };
  try {
    const withFiles = [];
    const without = [];
    for (let i = 0; i < FIRST_RUNS + 1; i++) {
      for (const side of i % 2 === 0 ? [0, 1] : [1, 0]) {
        const dt = await once(side === 0 ? big.dir : empty);
        if (i >= 1) (side === 0 ? withFiles : without).push(dt);
      }
    }
    const uploads = imitation.requests
      .filter((q) => q.method === "POST" && q.route.endsWith("/files/bulk-upload"))
      .map((q) => q.body?.files?.[0]?.bytes ?? 0);
    const a = summarize(withFiles);
    const b = summarize(without);
    return { withFiles: a, empty: b, ratio: a.median / b.median, project: big, uploadBytes: summarize(uploads) };
  } finally {
    await closeImitation(imitation);
    rmSync(big.dir, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  }
}

const o = await overhead();
console.log(
  `\n1. Per-command overhead, warm sandbox: \`true\` via the daytona backend vs a bare SDK executeSessionCommand (${WARM_RUNS} interleaved runs each)`,
);
console.log(
  table([
    ["side", "median", "p90", "min"],
    ["daytona backend (session + live logs + exit code + sync out)", fmtMs(o.ours.median), fmtMs(o.ours.p90), fmtMs(o.ours.min)],
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

const f = await firstCommand();
console.log(
  `\n3. First command (\`ls\`) in a fresh sandbox: create, copy the project in, run, collect changes — ${f.project.files}-file project (${(f.project.bytes / 1024).toFixed(0)} KiB) vs an empty one (${FIRST_RUNS} interleaved runs each)`,
);
console.log(
  table([
    ["side", "median", "p90", "min"],
    [
      `${f.project.files}-file project (60 dirs × 10 files of 1–4 KiB)`,
      fmtMs(f.withFiles.median),
      fmtMs(f.withFiles.p90),
      fmtMs(f.withFiles.min),
    ],
    ["empty project", fmtMs(f.empty.median), fmtMs(f.empty.p90), fmtMs(f.empty.min)],
  ]),
);
console.log(
  `  ratio ${fmtRatio(f.ratio)}; the initial copy adds ${fmtMs(f.withFiles.median - f.empty.median)} (one upload of ${(f.uploadBytes.median / 1024).toFixed(0)} KiB, tar)`,
);

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
      firstCommand: {
        project: { files: f.project.files, bytes: f.project.bytes },
        withFiles: roundSummary(f.withFiles),
        empty: roundSummary(f.empty),
        ratio: round(f.ratio),
        uploadBytes: roundSummary(f.uploadBytes),
      },
    },
    null,
    2,
  )}\n`,
);
