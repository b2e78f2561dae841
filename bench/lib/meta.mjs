// Run metadata and headings shared by the bench files.
import { execFileSync } from "node:child_process";
import { arch, cpus, loadavg, platform } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { round } from "./stats.mjs";

export function header(text) {
  process.stdout.write(`\n${text}\n`);
}

/** Where and on what a bench ran: node, CPU, load, commit (marked when packages/ has uncommitted changes). */
export function meta(root) {
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "packages"], { cwd: root, encoding: "utf8" }).trim();
    if (dirty) commit += " (packages/ has uncommitted changes)";
  } catch {
    // not a git checkout
  }
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${platform()} ${arch()}`,
    cpu: `${cpu.length} × ${cpu[0]?.model ?? "unknown"}`,
    loadavg: loadavg().map((x) => round(x, 2)),
    commit,
  };
}

/** Where a bench writes its figures: bench/results/<name>, or BENCH_RESULTS_DIR (a smoke run's scratch directory). */
export function resultsFile(name) {
  return join(process.env.BENCH_RESULTS_DIR || join(dirname(fileURLToPath(import.meta.url)), "..", "results"), name);
}
