// Runs every bench file in bench/ (bench/*.mjs except this one), one after the other, each in its
// own node process. Targets are reported by the benches, not asserted: this exits non-zero only
// when a bench crashes. `pnpm bench` builds first, then runs this.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const dir = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((name) => name.endsWith(".mjs") && name !== "run.mjs")
  .filter((name) => only.length === 0 || only.some((wanted) => name === wanted || name === `${wanted}.mjs`))
  .sort();

if (files.length === 0) {
  process.stderr.write(`bench: no bench files${only.length ? ` matching ${only.join(", ")}` : ""} in ${dir}\n`);
  process.exit(1);
}

const crashed = [];
for (const file of files) {
  process.stdout.write(`\n=== bench/${file} ===\n`);
  const started = performance.now();
  const r = spawnSync(process.execPath, [join(dir, file)], { stdio: "inherit" });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (r.error || r.status !== 0) {
    crashed.push(file);
    process.stdout.write(
      `=== bench/${file} CRASHED (${r.error?.message ?? `status ${r.status}, signal ${r.signal}`}) after ${seconds} s ===\n`,
    );
  } else {
    process.stdout.write(`=== bench/${file} done in ${seconds} s ===\n`);
  }
}

if (crashed.length > 0) {
  process.stderr.write(`\nbench: ${crashed.length} of ${files.length} bench file(s) crashed: ${crashed.join(", ")}\n`);
  process.exit(1);
}
