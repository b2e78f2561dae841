// No repeated logic: runs jscpd (a pinned devDependency) with .jscpd.json — packages, scripts and
// bench; tests, examples, rule data, dist and bench results left out; a clone is 6+ lines and 50+
// tokens — and exits 1 listing every clone not accepted below, as `lines  a.ts:10-16 ~ b.ts:40-46`.
//
// Usage: node scripts/check-dup.mjs   (pnpm check:dup)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
// jscpd's ES module build imports `colors/safe` without an extension, which Node refuses: use its CommonJS build.
const { detectClones } = createRequire(import.meta.url)("jscpd");

/**
 * Clones judged boilerplate rather than repeated logic, by the pair of files and why. They are
 * still printed, so a new clone between the same files is seen; keep this list short.
 */
const ACCEPTED = [
  {
    files: ["packages/detector-rules/src/handlers/media.ts", "packages/detector-rules/src/handlers/text.ts"],
    why: "the argument-loop header every handler starts with (`for (let i…) { const a = args[i] as Arg; const v = a.value; if (v === undefined)`), then different logic",
  },
];

const config = JSON.parse(readFileSync(join(root, ".jscpd.json"), "utf8"));
process.chdir(root);
const clones = await detectClones({ ...config, reporters: [], silent: true });

const where = (d) => `${relative(root, d.sourceId)}:${d.start.line}-${d.end.line}`;
const accepted = (c) => {
  const pair = [relative(root, c.duplicationA.sourceId), relative(root, c.duplicationB.sourceId)].sort().join(" ");
  return ACCEPTED.find((a) => [...a.files].sort().join(" ") === pair);
};
const rows = clones
  .map((c) => ({
    lines: c.duplicationA.end.line - c.duplicationA.start.line + 1,
    text: `${where(c.duplicationA)} ~ ${where(c.duplicationB)}`,
    ok: accepted(c),
  }))
  .sort((a, b) => b.lines - a.lines || a.text.localeCompare(b.text));
const bad = rows.filter((r) => !r.ok);
for (const r of rows.filter((r) => r.ok))
  process.stdout.write(`check-dup: accepted  ${String(r.lines).padStart(3)} lines  ${r.text} (${r.ok.why})\n`);
if (bad.length > 0) {
  process.stderr.write(
    `check-dup: ${bad.length} clone(s) of ${config.minLines}+ lines / ${config.minTokens}+ tokens — make one piece of code serve both places:\n`,
  );
  for (const r of bad) process.stderr.write(`  ${String(r.lines).padStart(3)} lines  ${r.text}\n`);
  process.exit(1);
}
process.stdout.write(
  `check-dup: no repeated logic (${config.minLines}+ lines / ${config.minTokens}+ tokens; see .jscpd.json for what is checked)\n`,
);
