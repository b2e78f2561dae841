// The floor for `stigmer detect --jsonl` (bench/detector.mjs, section 2): a fresh node process
// that does only what any bulk classifier must, with the detector the CLI bundles and nothing else
// (no config, executor or plugin loader): load it, read {"command": …} lines from stdin, decide
// each, write one {"mode", "rules", "reason"} line per input, as the CLI writes them.
//
// Usage: node bench/lib/detector-bulk-child.mjs <cwd> < commands.jsonl
import { readFileSync } from "node:fs";
import { RulesDetector } from "@stigmer/detector-rules";

const context = { cwd: process.argv[2] ?? process.cwd() };
const detector = new RulesDetector({});
let out = "";
for (const line of readFileSync(0, "utf8").split("\n")) {
  if (line.trim() === "") continue;
  const decision = detector.detect(JSON.parse(line).command, context);
  out += `${JSON.stringify({ mode: decision.target, rules: [...decision.rules], reason: decision.reason })}\n`;
}
process.stdout.write(out);
