import { describe, expect, it } from "vitest";
import { BUILTIN_RULES } from "../src/rules/index.js";
import { RulesDetector } from "../src/rules-detector.js";

// Every rule's examples are tests: contributors add a rule with its examples, and this proves them.
const detector = new RulesDetector({});
const context = { cwd: "/home/dev/project" };

describe("rule examples", () => {
  it("rule ids are unique and every rule has examples", () => {
    const ids = BUILTIN_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const rule of BUILTIN_RULES) expect(rule.examples.match.length, rule.id).toBeGreaterThan(0);
  });

  for (const rule of BUILTIN_RULES) {
    describe(rule.id, () => {
      for (const example of rule.examples.match) {
        it(`fires on: ${example}`, () => {
          const ids = detector.findings(example, context).map((f) => f.id);
          expect(ids, `${rule.id} should fire on ${JSON.stringify(example)}`).toContain(rule.id);
          const decision = detector.detect(example, context);
          if (rule.verdict === "sandbox") expect(decision.target).toBe("sandbox");
        });
      }
      for (const example of rule.examples.noMatch ?? []) {
        it(`does not fire on: ${example}`, () => {
          const ids = detector.findings(example, context).map((f) => f.id);
          expect(ids, `${rule.id} should not fire on ${JSON.stringify(example)}`).not.toContain(rule.id);
        });
      }
    });
  }
});
