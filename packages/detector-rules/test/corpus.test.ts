import { readdirSync, readFileSync } from "node:fs";
import { runDetectorConformance } from "@stigmer/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RulesDetector } from "../src/rules-detector.js";

// The labelled corpus (corpus/*.jsonl, labelled from docs/auto-mode-policy.md alone, sources cited
// in corpus/README.md): the detector must agree on at least 97% and never send to the host a
// command the policy sends to the sandbox.
interface Line {
  command: string;
  expected: "local" | "sandbox";
  why: string;
}
const corpusDir = new URL("../corpus/", import.meta.url);
const lines = readdirSync(corpusDir)
  .filter((f) => f.endsWith(".jsonl"))
  .sort()
  .flatMap((f) =>
    readFileSync(new URL(f, corpusDir), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Line),
  );
const detector = new RulesDetector({});
const context = { cwd: "/home/dev/project" };

describe("labelled corpus", () => {
  const results = lines.map((line) => ({ line, decision: detector.detect(line.command, context) }));
  const unsafe = results.filter((r) => r.line.expected === "sandbox" && r.decision.target === "local");
  const agree = results.filter((r) => r.line.expected === r.decision.target).length;

  it("has at least 300 labelled commands", () => {
    expect(lines.length).toBeGreaterThanOrEqual(300);
  });

  it("sends no command to the host that the policy sends to the sandbox", () => {
    expect(unsafe.map((r) => `${r.line.command}  (${r.line.why})`)).toEqual([]);
  });

  it("agrees with at least 97% of the labels", () => {
    const share = agree / lines.length;
    console.log(`corpus: ${agree}/${lines.length} agree (${(share * 100).toFixed(1)}%), ${unsafe.length} unsafe misses`);
    expect(share).toBeGreaterThanOrEqual(0.97);
  });

  it("names a rule and the triggering part of the command in every decision", () => {
    for (const { line, decision } of results) {
      expect(decision.rules.length, line.command).toBeGreaterThan(0);
      expect(decision.reason.length, line.command).toBeGreaterThan(10);
      if (decision.target === "sandbox") expect(decision.reason, line.command).toMatch(/`.+`/);
    }
  });
});

runDetectorConformance({
  name: "rules",
  create: () => new RulesDetector({}),
  test: { describe, it, beforeAll, afterAll },
  commands: lines.map((l) => l.command),
});
