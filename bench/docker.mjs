// Sandbox-mode benchmarks against the real Docker engine (scripts/docker-setup.sh prepares it):
//
//   1. warm exec: `true` in a reused sandbox vs `docker exec <same container> true` (docker CLI),
//      for both paths: the in-sandbox agent (image with python3) and plain `docker exec` (busybox)
//   2. cold: the first command, container create and start included, vs `docker run --rm IMAGE true`
//   3. 32 concurrent commands against one sandbox: all succeed with unmixed output; throughput
//   4. memory: peak RSS growth of the host process while 1e9 bytes stream out of the sandbox
//   5. the CLI: `stigmer run --mode=sandbox -- true` against a kept, warm sandbox (a new process each
//      time, as an agent calls it) vs `docker exec <same container> true` through the Docker CLI
//
// Sides run interleaved, run by run. Targets are reported (PASS/MISS), not asserted.
// Figures also go to bench/results/docker.json.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import dockerPlugin from "@stigmer/backend-docker";
import { createExecutor, createLogger, resolveConfig } from "@stigmer/core";
import { resultsFile } from "./lib/meta.mjs";
import { fmtMiB, fmtMs, fmtRatio, MiB, round, roundSummary, summarize, table, verdict } from "./lib/stats.mjs";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const RESULTS_FILE = resultsFile("docker.json");
const AGENT_IMAGE = "stigmer-test/sandbox-basic:ci";
const EXEC_IMAGE = "stigmer-test/busybox:1";
const WARM_RUNS = Number(process.env.BENCH_WARM_RUNS ?? 40);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 8);
const TARGETS = { warmRatio: 0.5, coldRatio: 1.2, memoryGrowthBytes: 64 * MiB, cliWarmRatio: 2.0 };
const CLI_BIN = join(BENCH_DIR, "../packages/cli/dist/bundle/bin.js");
const CLI_RUNS = Number(process.env.BENCH_CLI_RUNS ?? 20);

function executorFor(image, workdir, env = {}) {
  const config = resolveConfig({
    env: {
      STIGMER_EXECUTION_MODE: "sandbox",
      STIGMER_SANDBOX_BACKEND: "docker",
      STIGMER_SANDBOX_IMAGE: image,
      STIGMER_SANDBOX_TTL: "600",
      ...env,
    },
    cwd: workdir,
    flags: { logLevel: "silent" },
  });
  return createExecutor({ config, logger: createLogger({ level: "silent" }), modules: { docker: dockerPlugin } });
}

function docker(args) {
  const r = spawnSync("docker", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`docker ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout.trim();
}

function containerFor(workdir) {
  return docker(["ps", "-q", "--filter", `label=dev.stigmer.workspace=${workdir}`]).split("\n")[0];
}

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function warm(image, label) {
  const workdir = mkdtempSync(join(tmpdir(), "stigmer-bench-"));
  const executor = executorFor(image, workdir);
  try {
    await executor.run({ command: "true", cwd: workdir });
    const container = containerFor(workdir);
    const ours = [];
    const cli = [];
    for (let i = 0; i < WARM_RUNS + 5; i++) {
      const sides = [
        async () => {
          const r = await executor.run({ command: "true", cwd: workdir });
          if (r.exitCode !== 0) throw new Error("true failed in the sandbox");
        },
        async () => docker(["exec", container, "true"]),
      ];
      const order = i % 2 === 0 ? [0, 1] : [1, 0];
      for (const side of order) {
        const dt = await timed(sides[side]);
        if (i >= 5) (side === 0 ? ours : cli).push(dt);
      }
    }
    const a = summarize(ours);
    const b = summarize(cli);
    return { label, image, ours: a, dockerCli: b, ratio: a.median / b.median };
  } finally {
    await executor.dispose();
    rmSync(workdir, { recursive: true, force: true });
  }
}

async function cold(image) {
  const ours = [];
  const run = [];
  for (let i = 0; i < COLD_RUNS + 1; i++) {
    const sides = [
      async () => {
        const workdir = mkdtempSync(join(tmpdir(), "stigmer-bench-"));
        const executor = executorFor(image, workdir);
        const dt = await timed(() => executor.run({ command: "true", cwd: workdir }));
        await executor.dispose();
        rmSync(workdir, { recursive: true, force: true });
        return dt;
      },
      async () => timed(async () => docker(["run", "--rm", image, "true"])),
    ];
    const order = i % 2 === 0 ? [0, 1] : [1, 0];
    for (const side of order) {
      const dt = await sides[side]();
      if (i >= 1) (side === 0 ? ours : run).push(dt);
    }
  }
  const a = summarize(ours);
  const b = summarize(run);
  return { image, ours: a, dockerRun: b, ratio: a.median / b.median };
}

/**
 * `stigmer run --mode=sandbox -- true` as a new process each time (kept sandbox, cleanup off, as an
 * agent runner calling the CLI per command would have it) vs `docker exec` of the same container,
 * interleaved; Node's own start-up (`node -e 0`) is shown beside them.
 */
function cliWarm() {
  const workdir = mkdtempSync(join(tmpdir(), "stigmer-bench-cli-"));
  const stateDir = mkdtempSync(join(tmpdir(), "stigmer-bench-state-"));
  const env = {
    ...process.env,
    STIGMER_SANDBOX_IMAGE: AGENT_IMAGE,
    STIGMER_SANDBOX_CLEANUP: "false",
    STIGMER_SANDBOX_TTL: "600",
    STIGMER_SANDBOX_AUTO_PULL: "false",
    STIGMER_STATE_DIR: stateDir,
  };
  const cli = () => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [CLI_BIN, "run", "--mode=sandbox", "--", "true"], { cwd: workdir, env, encoding: "utf8" });
    const dt = performance.now() - t0;
    if (r.status !== 0) throw new Error(`stigmer run failed (${r.status}): ${r.stderr}`);
    return dt;
  };
  try {
    cli(); // creates the sandbox
    const container = containerFor(workdir);
    const sides = {
      cli,
      exec: () => timedSync(() => docker(["exec", container, "true"])),
      node: () => timedSync(() => spawnSync(process.execPath, ["-e", "0"])),
    };
    const ms = { cli: [], exec: [], node: [] };
    const names = Object.keys(sides);
    for (let i = 0; i < CLI_RUNS + 2; i++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(i + k) % names.length];
        const dt = sides[name]();
        if (i >= 2) ms[name].push(dt);
      }
    }
    const a = summarize(ms.cli);
    const b = summarize(ms.exec);
    return { cli: a, dockerExec: b, node: summarize(ms.node), ratio: a.median / b.median };
  } finally {
    spawnSync(process.execPath, [CLI_BIN, "sandbox", "prune", "--all"], { cwd: workdir, env });
    rmSync(workdir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  }
}

function timedSync(fn) {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

async function concurrency() {
  const workdir = mkdtempSync(join(tmpdir(), "stigmer-bench-"));
  const executor = executorFor(AGENT_IMAGE, workdir);
  try {
    await executor.run({ command: "true", cwd: workdir });
    const n = 32;
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        executor.run({ command: `for j in $(seq 1 200); do echo "cmd${i}-line$j"; done; echo "err${i}" >&2; exit ${i % 7}`, cwd: workdir }),
      ),
    );
    const seconds = (performance.now() - t0) / 1000;
    let correct = 0;
    results.forEach((r, i) => {
      const expected = Array.from({ length: 200 }, (_, j) => `cmd${i}-line${j + 1}\n`).join("");
      if (r.exitCode === i % 7 && r.stdout === expected && r.stderr === `err${i}\n`) correct++;
    });
    return { commands: n, correct, seconds, commandsPerSecond: n / seconds };
  } finally {
    await executor.dispose();
    rmSync(workdir, { recursive: true, force: true });
  }
}

/** Runs the memory measurement in a fresh node process so earlier benches do not pollute RSS. */
function memory() {
  const script = `
    import dockerPlugin from "@stigmer/backend-docker";
    import { createExecutor, createLogger, resolveConfig } from "@stigmer/core";
    import { mkdtempSync } from "node:fs"; import { tmpdir } from "node:os"; import { join } from "node:path";
    const workdir = mkdtempSync(join(tmpdir(), "stigmer-bench-"));
    const config = resolveConfig({ env: { STIGMER_EXECUTION_MODE: "sandbox", STIGMER_SANDBOX_BACKEND: "docker", STIGMER_SANDBOX_IMAGE: "${AGENT_IMAGE}" }, cwd: workdir, flags: { logLevel: "silent" } });
    const executor = createExecutor({ config, logger: createLogger({ level: "silent" }), modules: { docker: dockerPlugin } });
    await executor.run({ command: "true", cwd: workdir });
    global.gc?.();
    const base = process.memoryUsage.rss();
    let peak = base, bytes = 0;
    const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 10);
    const t0 = performance.now();
    const r = await executor.run({ command: "head -c 1000000000 /dev/zero", cwd: workdir }, { onEvent: (e) => { if (e.type === "stdout") bytes += e.data.length; } });
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage.rss());
    await executor.dispose();
    console.log(JSON.stringify({ base, peak, bytes, seconds, exitCode: r.exitCode, truncated: r.truncated }));
  `;
  const r = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { cwd: BENCH_DIR, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`memory child failed: ${r.stderr}`);
  const m = JSON.parse(r.stdout.trim().split("\n").at(-1));
  return { ...m, growth: m.peak - m.base, mbPerSecond: m.bytes / 1e6 / m.seconds };
}

const out = { when: new Date().toISOString(), engine: docker(["version", "--format", "{{.Server.Version}}"]), targets: TARGETS };
const warmAgent = await warm(AGENT_IMAGE, "agent (python3 in image)");
const warmExec = await warm(EXEC_IMAGE, "docker exec (busybox)");
console.log(`\n1. Warm exec of \`true\` in a reused sandbox vs \`docker exec <container> true\` (${WARM_RUNS} interleaved runs each)`);
console.log(
  table([
    ["path", "stigmer median", "p90", "docker exec median", "ratio", "target", ""],
    ...[warmAgent, warmExec].map((w) => [
      w.label,
      fmtMs(w.ours.median),
      fmtMs(w.ours.p90),
      fmtMs(w.dockerCli.median),
      fmtRatio(w.ratio),
      `≤ ${TARGETS.warmRatio}`,
      verdict(w.ratio, TARGETS.warmRatio),
    ]),
  ]),
);
out.warm = [warmAgent, warmExec].map((w) => ({
  ...w,
  ours: roundSummary(w.ours),
  dockerCli: roundSummary(w.dockerCli),
  ratio: round(w.ratio),
}));

const coldAgent = await cold(AGENT_IMAGE);
console.log(
  `\n2. Cold: first command with container create and start vs \`docker run --rm IMAGE true\` (${COLD_RUNS} interleaved runs each)`,
);
console.log(
  table([
    ["image", "stigmer median", "docker run median", "ratio", "target", ""],
    [
      coldAgent.image,
      fmtMs(coldAgent.ours.median),
      fmtMs(coldAgent.dockerRun.median),
      fmtRatio(coldAgent.ratio),
      `≤ ${TARGETS.coldRatio}`,
      verdict(coldAgent.ratio, TARGETS.coldRatio),
    ],
  ]),
);
out.cold = {
  ...coldAgent,
  ours: roundSummary(coldAgent.ours),
  dockerRun: roundSummary(coldAgent.dockerRun),
  ratio: round(coldAgent.ratio),
};

const conc = await concurrency();
console.log("\n3. 32 concurrent commands against one sandbox (200 lines of stdout + 1 of stderr each)");
console.log(
  table([
    ["commands", "correct and unmixed", "wall time", "commands/s", ""],
    [
      String(conc.commands),
      String(conc.correct),
      fmtMs(conc.seconds * 1000),
      conc.commandsPerSecond.toFixed(1),
      conc.correct === conc.commands ? "PASS" : "MISS",
    ],
  ]),
);
out.concurrency = { ...conc, seconds: round(conc.seconds), commandsPerSecond: round(conc.commandsPerSecond) };

const mem = memory();
console.log("\n4. Memory: `head -c 1000000000 /dev/zero` in the sandbox, streamed through the executor");
console.log(
  table([
    ["bytes streamed", "RSS before", "peak RSS", "growth", "throughput", "target", ""],
    [
      String(mem.bytes),
      fmtMiB(mem.base),
      fmtMiB(mem.peak),
      fmtMiB(mem.growth),
      `${mem.mbPerSecond.toFixed(0)} MB/s`,
      `< ${fmtMiB(TARGETS.memoryGrowthBytes)}`,
      verdict(mem.growth, TARGETS.memoryGrowthBytes, true),
    ],
  ]),
);
out.memory = mem;

const cw = cliWarm();
console.log(
  `\n5. The CLI: \`stigmer run --mode=sandbox -- true\` (a new process each time) against a kept, warm sandbox vs \`docker exec <container> true\` (${CLI_RUNS} interleaved runs each)`,
);
console.log(
  table([
    ["side", "median", "p90", "ratio to docker exec", "target", ""],
    [
      "stigmer run --mode=sandbox",
      fmtMs(cw.cli.median),
      fmtMs(cw.cli.p90),
      fmtRatio(cw.ratio),
      `≤ ${TARGETS.cliWarmRatio}`,
      verdict(cw.ratio, TARGETS.cliWarmRatio),
    ],
    ["docker exec <container> true", fmtMs(cw.dockerExec.median), fmtMs(cw.dockerExec.p90), "1.00×", "", ""],
    [
      "node -e 0 (Node's start-up, for reference)",
      fmtMs(cw.node.median),
      fmtMs(cw.node.p90),
      fmtRatio(cw.node.median / cw.dockerExec.median),
      "",
      "",
    ],
  ]),
);
out.cliWarm = { cli: roundSummary(cw.cli), dockerExec: roundSummary(cw.dockerExec), node: roundSummary(cw.node), ratio: round(cw.ratio) };

mkdirSync(dirname(RESULTS_FILE), { recursive: true });
writeFileSync(RESULTS_FILE, `${JSON.stringify(out, null, 2)}\n`);
console.log(`\nfigures written to ${RESULTS_FILE}`);
