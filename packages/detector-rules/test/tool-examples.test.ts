import { describe, expect, it } from "vitest";
import { RulesDetector } from "../src/rules-detector.js";
import { BUILTIN_TOOLS, ToolIndex } from "../src/tools/index.js";

// Every tool's examples are tests: a contributor adds a tool with its examples, and this proves them.
const detector = new RulesDetector({});
const context = { cwd: "/home/dev/project" };

describe("tool examples", () => {
  it("every name belongs to one tool and every tool has examples", () => {
    expect(() => new ToolIndex(BUILTIN_TOOLS)).not.toThrow();
    for (const tool of BUILTIN_TOOLS) expect(tool.examples.local.length + tool.examples.sandbox.length, tool.about).toBeGreaterThan(0);
  });

  for (const tool of BUILTIN_TOOLS) {
    describe(tool.names.slice(0, 3).join(", "), () => {
      for (const example of tool.examples.local) {
        it(`local: ${example}`, () => {
          const decision = detector.detect(example, context);
          expect(decision.target, `${JSON.stringify(example)} → ${decision.reason}`).toBe("local");
        });
      }
      for (const example of tool.examples.sandbox) {
        it(`sandbox: ${example}`, () => {
          const decision = detector.detect(example, context);
          expect(decision.target, `${JSON.stringify(example)} → ${decision.reason}`).toBe("sandbox");
        });
      }
    });
  }
});
