// No logic file over 700 lines. Checks every source file git knows of (tracked, or new and not
// ignored) — TypeScript, JavaScript, Python, shell — except tests and the rule data listed below,
// and exits 1 listing the offenders with their line counts, largest first.
//
// Usage: node scripts/check-sizes.mjs   (pnpm check:size)
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const LIMIT = 700;

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

const SOURCE = /\.(ts|mts|cts|js|mjs|cjs|py|sh)$/;
/** Tests and what only tests run: `test/` folders anywhere, `*.test.*` files. */
const TEST = /(^|\/)test\/|\.test\.[a-z]+$/;

/**
 * Rule data: tables, not logic. Exempt from the limit, each by its exact path; a file listed here
 * must hold (almost) no control flow — see DATA_CONTROL_FLOW — so logic cannot hide in one.
 */
const RULE_DATA = new Set([
  // The detector's tool tables: names, verbs, options and examples of each program (tools/spec.ts
  // is their shape; tools/index.ts, the index over them, is logic and is checked).
  "packages/detector-rules/src/tools/cloud.ts",
  "packages/detector-rules/src/tools/containers.ts",
  "packages/detector-rules/src/tools/databases.ts",
  "packages/detector-rules/src/tools/environment.ts",
  "packages/detector-rules/src/tools/files.ts",
  "packages/detector-rules/src/tools/git.ts",
  "packages/detector-rules/src/tools/interpreters.ts",
  "packages/detector-rules/src/tools/javascript.ts",
  "packages/detector-rules/src/tools/languages.ts",
  "packages/detector-rules/src/tools/network.ts",
  "packages/detector-rules/src/tools/python.ts",
  "packages/detector-rules/src/tools/shells.ts",
  "packages/detector-rules/src/tools/system.ts",
  "packages/detector-rules/src/tools/utilities.ts",
  "packages/detector-rules/src/tools/wrappers.ts",
  // Names that make inline code of each language risky (code/analyse.ts is the logic that uses them).
  "packages/detector-rules/src/code/languages.ts",
]);

/** Control-flow statements a rule-data file may hold (small builders of table entries). */
const DATA_CONTROL_FLOW = 8;
const CONTROL_FLOW = /^\s*(\}\s*else\s+)?(if|for|while|switch)\s*\(|^\s*(do|try)\s*\{|^\s*(export\s+)?(async\s+)?(function\b|class\s)/;

const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: root, encoding: "utf8" })
  .split("\n")
  .filter((f) => SOURCE.test(f) && !TEST.test(f) && existsSync(join(root, f)));

const lineCount = (text) => text.split("\n").length - (text.endsWith("\n") ? 1 : 0);

const over = [];
const dataWithLogic = [];
let largest = { file: "", lines: 0 };
for (const file of files) {
  const text = readFileSync(join(root, file), "utf8");
  const lines = lineCount(text);
  if (RULE_DATA.has(file)) {
    const flow = text.split("\n").filter((l) => CONTROL_FLOW.test(l)).length;
    if (flow > DATA_CONTROL_FLOW) dataWithLogic.push({ file, lines, flow });
    continue;
  }
  if (lines > LIMIT) over.push({ file, lines });
  if (lines > largest.lines) largest = { file, lines };
}
const stale = [...RULE_DATA].filter((f) => !existsSync(join(root, f)));

let failed = false;
if (over.length > 0) {
  failed = true;
  process.stderr.write(`check-sizes: ${over.length} logic file(s) over ${LIMIT} lines — split them by responsibility:\n`);
  for (const { file, lines } of over.sort((a, b) => b.lines - a.lines)) process.stderr.write(`  ${String(lines).padStart(6)}  ${file}\n`);
}
if (dataWithLogic.length > 0) {
  failed = true;
  process.stderr.write(
    `check-sizes: ${dataWithLogic.length} file(s) exempt as rule data hold logic (over ${DATA_CONTROL_FLOW} control-flow statements) — move it out:\n`,
  );
  for (const { file, lines, flow } of dataWithLogic) process.stderr.write(`  ${String(lines).padStart(6)}  ${file} (${flow} statements)\n`);
}
if (stale.length > 0) {
  failed = true;
  process.stderr.write(`check-sizes: RULE_DATA in scripts/check-sizes.mjs names files that do not exist — remove them:\n`);
  for (const file of stale) process.stderr.write(`  ${file}\n`);
}
if (failed) process.exit(1);
process.stdout.write(
  `check-sizes: ${files.length - RULE_DATA.size} logic files, none over ${LIMIT} lines (largest ${largest.lines}: ${largest.file}); ${RULE_DATA.size} rule-data files exempt\n`,
);
