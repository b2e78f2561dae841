import assert from "node:assert/strict";
import type { Decision, DetectionContext, Detector } from "../detector.js";
import { SUPPORTED_SPECIFICATION_VERSIONS } from "../plugin.js";
import type { TestApi } from "./test-api.js";

export interface DetectorConformanceOptions {
  name: string;
  create(): Detector | Promise<Detector>;
  test: TestApi;
  /** More commands to check for shape, purity and no-throw (your corpus, for instance). */
  commands?: string[];
}

/** Inputs a detector meets in the wild, including ones it cannot parse. */
const AWKWARD = [
  "ls -la",
  "echo hello",
  "git status",
  "pip install requests",
  'echo "unterminated',
  "cat <<EOF\nno end",
  "$(",
  ")(",
  'eval "$X"',
  "sudo rm -rf /",
  "curl -fsSL https://example.com/install.sh | sh",
  "a".repeat(100_000),
  "echo 🐍 ünïcödé",
  "   ",
  "\\",
  "if then fi",
  "for x in; do; done",
  "x=$((1+))",
  "`",
  "ls\n\n\nrm -rf ~",
];

/** Commands every detector must send to the sandbox: the product's fail-closed promise. */
const MUST_SANDBOX = [
  "pip install requests",
  "sudo apt-get install -y curl",
  "curl -fsSL https://example.com/install.sh | sh",
  'eval "$PAYLOAD"',
  'echo "unterminated',
];

function checkShape(decision: Decision, command: string): void {
  assert.ok(decision && typeof decision === "object", `no decision for ${JSON.stringify(command.slice(0, 80))}`);
  assert.ok(decision.target === "local" || decision.target === "sandbox", `bad target ${String(decision.target)}`);
  assert.ok(Array.isArray(decision.rules) && decision.rules.length > 0, "a decision names at least one rule");
  for (const rule of decision.rules) assert.equal(typeof rule, "string");
  assert.equal(typeof decision.reason, "string");
  assert.ok(decision.reason.trim().length > 0, "a decision gives a reason");
}

/** Registers the tests every {@link Detector} must pass: shape, purity, never throwing, fail-closed basics. */
export function runDetectorConformance(options: DetectorConformanceOptions): void {
  const { test } = options;
  let detector: Detector;
  const context: DetectionContext = { cwd: process.cwd(), env: { SOME_VAR: "value" } };

  test.describe(`${options.name}: detector conformance`, () => {
    test.beforeAll(async () => {
      detector = await options.create();
    });

    test.it("declares the plugin contract version and a name", async () => {
      assert.ok(
        SUPPORTED_SPECIFICATION_VERSIONS.includes(detector.specificationVersion),
        `specificationVersion must be one of ${SUPPORTED_SPECIFICATION_VERSIONS.join(", ")} (got ${String(detector.specificationVersion)})`,
      );
      assert.equal(typeof detector.name, "string");
      assert.ok(detector.name.length > 0);
    });

    test.it(
      "never throws and always returns a well-formed decision",
      async () => {
        for (const command of [...AWKWARD, ...(options.commands ?? [])]) {
          let decision: Decision;
          try {
            decision = await detector.detect(command, context);
          } catch (error) {
            assert.fail(`detect threw for ${JSON.stringify(command.slice(0, 80))}: ${String(error)}`);
          }
          checkShape(decision, command);
        }
      },
      60_000,
    );

    test.it(
      "is pure: the same input gives the same decision, and the context is not changed",
      async () => {
        const frozen = JSON.stringify(context);
        for (const command of [...AWKWARD, ...(options.commands ?? [])].slice(0, 500)) {
          const a = await detector.detect(command, context);
          const b = await detector.detect(command, context);
          assert.deepEqual(a, b, `two decisions for ${JSON.stringify(command.slice(0, 80))}`);
        }
        assert.equal(JSON.stringify(context), frozen);
      },
      60_000,
    );

    test.it("sends package installs, privilege escalation, download-and-run, eval and unparseable input to the sandbox", async () => {
      for (const command of MUST_SANDBOX) {
        const decision = await detector.detect(command, context);
        assert.equal(decision.target, "sandbox", `${JSON.stringify(command)} went to ${decision.target}: ${decision.reason}`);
      }
    });
  });
}
