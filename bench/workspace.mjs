// Workspace strategies of the Docker sandbox backend (scripts/docker-setup.sh prepares the engine):
// `sync` (the default: the project is copied into the sandbox, changes come back through core's
// host-side checks) against `mount` (the project is bind-mounted), on two generated projects:
//
//   src           600 source files (40 dirs × 15 files, 1–8 KiB) and a .git-like directory
//   node_modules  28,000 files shaped like node_modules (1,400 packages × 20 files in nested
//                 directories, 100 B–4 KiB) and a .git-like directory
//
//   1. cold: the first command of a fresh executor (container created and started, the project
//      copied in with `sync`), the two strategies alternating; for reference, `docker cp` of the
//      same project into the running sync container
//   2. warm: `true` in the reused sandbox vs `docker exec <that container> true` (docker CLI),
//      the four sides (sync, its docker exec, mount, its docker exec) interleaved, order rotating
//   3. 1,000 files of 4 KiB written by a command in the sandbox: from calling executor.run until it
//      resolved (the files are on the host then: checked), vs `docker cp` of the directory holding
//      the same files from the same container to the host. Two variants: the command creates 1,000
//      new files, or rewrites those 1,000 files with new content. `sync` first, then `mount`
//      (a mount-side write would otherwise be synced into the sync sandbox on its next command).
//
// Targets are reported (PASS/MISS), not asserted: only the warm ratio has one. Figures also go to
// bench/results/workspace.json. Where the sync time goes: bench/lib/workspace-profile.mjs.
// Containers are the executor's own (cleanup on, removed by dispose); the end checks that none of
// the ones made for this run's projects is left, and that the temp directories are gone.
//
// Environment: BENCH_WARM_RUNS (30), BENCH_COLD_RUNS (3 for src, 2 for node_modules), BENCH_WRITE_RUNS (5),
// BENCH_PROJECTS (src,node_modules).
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { sandboxExecutor } from "./lib/executor.mjs";
import { header, meta, resultsFile } from "./lib/meta.mjs";
import { fmtMs, fmtRatio, round, roundSummary, summarize, table, verdict } from "./lib/stats.mjs";
import { PROJECT_MAKERS, verifyFiles, WRITE_FILES, WRITE_SIZE, writeCommand } from "./lib/workspace-projects.mjs";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);
const RESULTS_FILE = resultsFile("workspace.json");
const IMAGE = "stigmer-test/sandbox-basic:ci";
const WORKSPACE_PATH = "/workspace"; // the docker plugin's default workspacePath
const STRATEGIES = ["sync", "mount"];
const WARM_RUNS = Number(process.env.BENCH_WARM_RUNS ?? 30);
const WARM_WARMUP = 5;
// Cold runs per strategy: fewer for the big project, whose sync copy-in alone takes seconds.
const COLD_RUNS = { src: 3, node_modules: 2 };
if (process.env.BENCH_COLD_RUNS) for (const k of Object.keys(COLD_RUNS)) COLD_RUNS[k] = Number(process.env.BENCH_COLD_RUNS);
const WRITE_RUNS = Number(process.env.BENCH_WRITE_RUNS ?? 5);
const WRITE_WARMUP = 1;
const PROJECTS = (process.env.BENCH_PROJECTS ?? "src,node_modules").split(",").filter(Boolean);
const TARGETS = { warmRatio: 0.5 };

const execFileP = promisify(execFile);
const docker = async (...args) => (await execFileP("docker", args, { maxBuffer: 16 * 1024 * 1024 })).stdout.trim();

// Everything this process creates, removed on the way out whatever happens.
const tempDirs = new Set();
const executors = new Set();
const projectRoots = new Set();
function tempDir(prefix) {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  tempDirs.add(dir);
  projectRoots.add(dir);
  return dir;
}
function removeTemp(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}
process.on("exit", () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, async () => {
    await Promise.allSettled([...executors].map((e) => e.dispose()));
    process.exit(130);
  });
}

// ------------------------------------------------------------------------------ helpers

function executorFor(strategy) {
  const executor = sandboxExecutor({ image: IMAGE, strategy });
  executors.add(executor);
  return executor;
}

async function dispose(executor) {
  executors.delete(executor);
  await executor.dispose();
}

async function run(executor, command, cwd) {
  const r = await executor.run({ command, cwd, mode: "sandbox" });
  if (r.exitCode !== 0) throw new Error(`${JSON.stringify(command.slice(0, 60))} exited ${r.exitCode} in the sandbox: ${r.stderr}`);
  return r;
}

async function timed(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** The one running container of this strategy for this project (there is exactly one at a time). */
async function containerOf(root, strategy) {
  const ids = (
    await docker(
      "ps",
      "-q",
      "--filter",
      "label=dev.stigmer.managed-by=stigmer",
      "--filter",
      `label=dev.stigmer.workspace=${root}`,
      "--filter",
      `label=dev.stigmer.workspace-strategy=${strategy}`,
    )
  )
    .split("\n")
    .filter(Boolean);
  if (ids.length !== 1) throw new Error(`expected one ${strategy} container for ${root}, found ${ids.length}`);
  return ids[0];
}

// ------------------------------------------------------------------------------ the measurements

/** Fresh executors, first command each, strategies alternating; the last round's executors are kept. */
async function cold(project) {
  const samples = { sync: [], mount: [], cpIn: [] };
  let kept;
  const runs = COLD_RUNS[project.name];
  for (let i = 0; i < runs; i++) {
    const round = {};
    const order = i % 2 === 0 ? STRATEGIES : [...STRATEGIES].reverse();
    for (const strategy of order) {
      const executor = executorFor(strategy);
      const { ms } = await timed(() => run(executor, "true", project.root));
      samples[strategy].push(ms);
      round[strategy] = executor;
    }
    // Reference: what copying the same project into the (already running) sync container costs with docker cp.
    const container = await containerOf(project.root, "sync");
    const { ms } = await timed(() => docker("cp", `${project.root}/.`, `${container}:/tmp/stigmer-bench-cp-in`));
    samples.cpIn.push(ms);
    await docker("exec", container, "rm", "-rf", "/tmp/stigmer-bench-cp-in");
    if (i < runs - 1) await Promise.all(Object.values(round).map(dispose));
    else kept = round;
  }
  return {
    executors: kept,
    stats: { sync: summarize(samples.sync), mount: summarize(samples.mount), dockerCpIn: summarize(samples.cpIn) },
    samples,
  };
}

/** `true` through each strategy's executor and through `docker exec` into the same container, all four interleaved. */
async function warm(project, executors) {
  const containers = {};
  for (const strategy of STRATEGIES) containers[strategy] = await containerOf(project.root, strategy);
  const sides = STRATEGIES.flatMap((strategy) => [
    { strategy, name: `${strategy}: executor.run`, fn: () => run(executors[strategy], "true", project.root) },
    { strategy, name: `${strategy}: docker exec`, fn: () => docker("exec", containers[strategy], "true") },
  ]);
  const samples = sides.map(() => []);
  for (let i = 0; i < WARM_WARMUP + WARM_RUNS; i++) {
    // Rotate which side goes first, and reverse every other cycle.
    let order = sides.map((_, k) => (k + i) % sides.length);
    if (Math.floor(i / sides.length) % 2 === 1) order = order.reverse();
    for (const k of order) {
      const { ms } = await timed(sides[k].fn);
      if (i >= WARM_WARMUP) samples[k].push(ms);
    }
  }
  const out = {};
  for (const strategy of STRATEGIES) {
    const ours = summarize(samples[sides.findIndex((s) => s.name === `${strategy}: executor.run`)]);
    const cli = summarize(samples[sides.findIndex((s) => s.name === `${strategy}: docker exec`)]);
    out[strategy] = { container: containers[strategy].slice(0, 12), ours, dockerExec: cli, ratio: ours.median / cli.median };
  }
  return out;
}

/**
 * Per round: the sandbox creates 1,000 files in a new directory (timed to executor.run's end), the
 * host copy is checked, `docker cp` copies that directory out of the same container (timed); then
 * the sandbox rewrites the same 1,000 files with new content, checked, copied out again.
 */
async function writes(project, strategy, executor) {
  const container = await containerOf(project.root, strategy);
  const tag = `${strategy}-${process.pid}`;
  const s = { create: [], rewrite: [], cp: [], createInside: [], rewriteInside: [] };
  let checked = 0;
  let applied = [];
  const cpBase = tempDir("stigmer-bench-ws-cp-");
  async function dockerCp(rel, n) {
    const target = join(cpBase, `cp-${n}`);
    const { ms } = await timed(() => docker("cp", `${container}:${WORKSPACE_PATH}/${rel}`, target));
    return { ms, target };
  }
  for (let i = 0; i < WRITE_WARMUP + WRITE_RUNS; i++) {
    const measured = i >= WRITE_WARMUP;
    const rel = `bench-out/${tag}-r${i}`;
    for (const variant of ["create", "rewrite"]) {
      const label = `${variant[0]}${i}`;
      const { ms, value } = await timed(() => run(executor, writeCommand(rel, label), project.root));
      checked += verifyFiles(join(project.root, rel), label);
      if (strategy === "sync" && value.workspace) applied.push(value.workspace.applied);
      const cp = await dockerCp(rel, `${variant}-${i}`);
      checked += verifyFiles(cp.target, label);
      rmSync(cp.target, { recursive: true, force: true });
      if (measured) {
        s[variant].push(ms);
        s[`${variant}Inside`].push(Number(value.stdout.trim()));
        s.cp.push(cp.ms);
      }
    }
  }
  removeTemp(cpBase);
  applied = [...new Set(applied)];
  return {
    container: container.slice(0, 12),
    create: summarize(s.create),
    rewrite: summarize(s.rewrite),
    dockerCp: summarize(s.cp),
    commandInside: { create: summarize(s.createInside), rewrite: summarize(s.rewriteInside) },
    filesChecked: checked,
    ...(strategy === "sync" ? { appliedPerRun: applied } : {}),
  };
}

// ------------------------------------------------------------------------------ main

const info = meta(ROOT);
process.stdout.write(
  `Stigmer workspace-strategy benchmarks (docker backend, ${IMAGE}) — node ${info.node}, ${info.platform}, ${info.cpu}\n` +
    `load average ${info.loadavg.join(" ")}, commit ${info.commit}, ${info.date}, engine ${await docker("version", "--format", "{{.Server.Version}}")}\n`,
);
const results = { meta: info, image: IMAGE, targets: TARGETS, projects: {} };
const listManaged = () => docker("ps", "-aq", "--filter", "label=dev.stigmer.managed-by=stigmer");
const before = (await listManaged()).split("\n").filter(Boolean);
const started = performance.now();

try {
  // Loads the plugins and warms the engine (image layers, network setup) outside the timings.
  {
    const dir = tempDir("stigmer-bench-ws-warmup-");
    writeFileSync(join(dir, "a.txt"), "warm-up\n");
    for (const strategy of STRATEGIES) {
      const executor = executorFor(strategy);
      await run(executor, "true", dir);
      await dispose(executor);
    }
    removeTemp(dir);
  }

  for (const name of PROJECTS) {
    const t0 = performance.now();
    const project = PROJECT_MAKERS[name](tempDir(`stigmer-bench-ws-${name === "src" ? "src" : "nm"}-`));
    const made = performance.now() - t0;
    header(`Project "${project.name}": ${project.files} files (generated in ${fmtMs(made)})`);
    const r = { files: project.files };
    results.projects[project.name] = r;

    const c = await cold(project);
    r.cold = { sync: roundSummary(c.stats.sync), mount: roundSummary(c.stats.mount), dockerCpIn: roundSummary(c.stats.dockerCpIn) };
    process.stdout.write(
      `\n  1. Cold: first command of a fresh executor (container create + start, and with sync the copy-in), ${COLD_RUNS[project.name]} runs each, alternating;\n` +
        "     reference: `docker cp <project>/. <running sync container>:/tmp/…` (copy-in alone, no container start)\n",
    );
    process.stdout.write(
      `${table([
        ["side", "median", "min", "max"],
        ...STRATEGIES.map((s) => [s, fmtMs(c.stats[s].median), fmtMs(c.stats[s].min), fmtMs(c.stats[s].max)]),
        ["docker cp in (reference)", fmtMs(c.stats.dockerCpIn.median), fmtMs(c.stats.dockerCpIn.min), fmtMs(c.stats.dockerCpIn.max)],
      ])}\n`,
    );

    const w = await warm(project, c.executors);
    r.warm = Object.fromEntries(
      STRATEGIES.map((s) => [
        s,
        {
          ours: roundSummary(w[s].ours),
          dockerExec: roundSummary(w[s].dockerExec),
          ratio: round(w[s].ratio),
          result: verdict(w[s].ratio, TARGETS.warmRatio),
        },
      ]),
    );
    process.stdout.write(
      `\n  2. Warm: \`true\` in the reused sandbox vs \`docker exec <same container> true\`, ${WARM_RUNS} runs per side after ${WARM_WARMUP} warm-ups, 4 sides interleaved\n`,
    );
    process.stdout.write(
      `${table([
        ["strategy", "executor.run median", "p90", "docker exec median", "p90", "ratio", "target", ""],
        ...STRATEGIES.map((s) => [
          s,
          fmtMs(w[s].ours.median),
          fmtMs(w[s].ours.p90),
          fmtMs(w[s].dockerExec.median),
          fmtMs(w[s].dockerExec.p90),
          fmtRatio(w[s].ratio),
          `≤ ${TARGETS.warmRatio}`,
          verdict(w[s].ratio, TARGETS.warmRatio),
        ]),
      ])}\n`,
    );

    // Sync first, its executor disposed before the mount writes (see the header comment).
    r.write = {};
    r.write.sync = await writes(project, "sync", c.executors.sync);
    await dispose(c.executors.sync);
    r.write.mount = await writes(project, "mount", c.executors.mount);
    await dispose(c.executors.mount);
    process.stdout.write(
      `\n  3. ${WRITE_FILES} files of ${WRITE_SIZE / 1024} KiB written in the sandbox: executor.run until resolved (files checked on the host) vs \`docker cp\` of their directory, ${WRITE_RUNS} runs after ${WRITE_WARMUP} warm-up\n`,
    );
    const rows = [["strategy", "variant", "executor.run median", "p90", "of which the command", "docker cp median", "ratio"]];
    for (const s of STRATEGIES) {
      const x = r.write[s];
      for (const variant of ["create", "rewrite"]) {
        rows.push([
          s,
          variant,
          fmtMs(x[variant].median),
          fmtMs(x[variant].p90),
          fmtMs(x.commandInside[variant].median),
          fmtMs(x.dockerCp.median),
          fmtRatio(x[variant].median / x.dockerCp.median),
        ]);
      }
    }
    process.stdout.write(`${table(rows)}\n`);
    process.stdout.write(
      `  files read back and compared: ${r.write.sync.filesChecked + r.write.mount.filesChecked}; sync reported applied per run: ${r.write.sync.appliedPerRun.join(", ")}\n`,
    );
    for (const s of STRATEGIES) {
      const x = r.write[s];
      r.write[s] = {
        ...x,
        create: roundSummary(x.create),
        rewrite: roundSummary(x.rewrite),
        dockerCp: roundSummary(x.dockerCp),
        commandInside: { create: roundSummary(x.commandInside.create), rewrite: roundSummary(x.commandInside.rewrite) },
        ratioCreate: round(x.create.median / x.dockerCp.median),
        ratioRewrite: round(x.rewrite.median / x.dockerCp.median),
      };
    }
    removeTemp(project.root);
  }
} finally {
  await Promise.allSettled([...executors].map(dispose));
  for (const dir of [...tempDirs]) removeTemp(dir);
}

header("Summary: strategy × project (medians)");
const summaryRows = [
  [
    "strategy",
    "project",
    "warm ratio vs docker exec",
    "target",
    "",
    "cold",
    "docker cp in (ref)",
    "1,000 files: create",
    "rewrite",
    "docker cp out",
    "create / cp",
    "rewrite / cp",
  ],
];
for (const s of STRATEGIES) {
  for (const [name, r] of Object.entries(results.projects)) {
    summaryRows.push([
      s,
      name,
      fmtRatio(r.warm[s].ratio),
      `≤ ${TARGETS.warmRatio}`,
      r.warm[s].result,
      fmtMs(r.cold[s].median),
      fmtMs(r.cold.dockerCpIn.median),
      fmtMs(r.write[s].create.median),
      fmtMs(r.write[s].rewrite.median),
      fmtMs(r.write[s].dockerCp.median),
      fmtRatio(r.write[s].ratioCreate),
      fmtRatio(r.write[s].ratioRewrite),
    ]);
  }
}
process.stdout.write(`${table(summaryRows)}\n`);

// Leftovers: containers of this run's projects (other processes may create and remove Stigmer containers meanwhile).
const after = (
  await docker("ps", "-a", "--filter", "label=dev.stigmer.managed-by=stigmer", "--format", '{{.ID}} {{.Label "dev.stigmer.workspace"}}')
)
  .split("\n")
  .filter(Boolean)
  .map((line) => line.split(" "));
const leftovers = after.filter(([, workspace]) => projectRoots.has(workspace)).map(([id]) => id);
results.leftoverContainers = leftovers;
results.seconds = round((performance.now() - started) / 1000, 1);
process.stdout.write(
  `\nStigmer containers on the engine before: ${before.length}, after: ${after.length}; of this run's: ${leftovers.length ? `LEFT BEHIND ${leftovers.join(" ")}` : "none left"}; ` +
    `temp dirs left: ${tempDirs.size}; ${results.seconds} s\n`,
);
mkdirSync(dirname(RESULTS_FILE), { recursive: true });
writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`Figures written to ${RESULTS_FILE.slice(ROOT.length + 1)}\n`);
if (leftovers.length) process.exitCode = 1;
