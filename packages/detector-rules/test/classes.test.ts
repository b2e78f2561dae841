import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { afterAll, describe, it } from "vitest";
import { RulesDetector } from "../src/index.js";
import {
  type Case,
  class1Lookalike,
  class1Risky,
  class2HarmlessInlineCode,
  class2HarmlessValue,
  class2Lookalike,
  class2Risky,
  class3Lookalike,
  class3Risky,
  class4Lookalike,
  class4Risky,
  class5Lookalike,
  class5Risky,
  class6AnyDecision,
  class6Sandbox,
  pbtRuns,
  pbtSeed,
  type Stress,
  visible,
} from "./generators/index.js";

// Whole classes of commands, generated with the label docs/auto-mode-policy.md gives them: a
// sandbox-side property counts unsafe misses (policy sandbox, detector local), a local-side property
// counts over-sandboxing. Each property first decides a fixed-seed sample of the class and reports
// how much of it the detector gets wrong, then lets fast-check shrink one counterexample.
//
//   STIGMER_PBT_SEED=<int>          seed (default in generators/common.ts), printed on failure
//   STIGMER_PBT_RUNS=<int>          commands per class property (default 300)
//   STIGMER_PBT_STRESS_RUNS=<int>   inputs per pathological property (default 40)

const detector = new RulesDetector({});
const context = { cwd: "/home/dev/project" };
const SEED = pbtSeed();
const RUNS = pbtRuns(300);
const STRESS_RUNS = (() => {
  const n = Number(process.env.STIGMER_PBT_STRESS_RUNS);
  return Number.isInteger(n) && n > 0 ? n : 40;
})();

interface Verdict {
  readonly ok: boolean;
  readonly detail: string;
}

function decide(command: string, accept: (target: string, rules: readonly string[]) => boolean): Verdict {
  try {
    const d = detector.detect(command, context);
    return { ok: accept(d.target, d.rules), detail: `${d.target} [rules: ${d.rules.join(", ") || "none"}] ${d.reason}` };
  } catch (error) {
    return { ok: false, detail: `threw ${error instanceof Error ? (error.stack ?? error.message) : String(error)}` };
  }
}

const judge = (c: Case): Verdict => decide(c.command, (target) => target === c.expected);

const summary: string[] = [];

function describeCase(c: Case, v: Verdict, indent = "  "): string[] {
  return [
    `${indent}command:  ${c.command.length > 400 ? `${c.command.slice(0, 400)}… (${c.command.length} chars)` : c.command}`,
    `${indent}escaped:  ${visible(c.command.length > 400 ? c.command.slice(0, 400) : c.command)}`,
    `${indent}policy:   ${c.expected} (${c.why})`,
    `${indent}detector: ${v.detail}`,
  ];
}

/**
 * Every case of `arb` must get the policy's decision. On failure the message gives the share of a
 * fixed-seed sample that is wrong, a shrunk counterexample with the detector's decision, a few
 * other failing samples with different reasons, and how to reproduce.
 */
function assertClass(title: string, arb: fc.Arbitrary<Case>, numRuns = RUNS): void {
  const sample = fc.sample(arb, { seed: SEED, numRuns });
  const wrong = sample.map((c) => ({ c, v: judge(c) })).filter((x) => !x.v.ok);
  const details = fc.check(
    fc.property(arb, (c) => judge(c).ok),
    { seed: SEED, numRuns },
  );
  summary.push(`${title}: ${wrong.length}/${numRuns} wrong`);
  if (!details.failed && wrong.length === 0) return;

  const lines = [
    `${title}: ${wrong.length}/${numRuns} sampled commands (${((100 * wrong.length) / numRuns).toFixed(1)}%) decided against the policy.`,
  ];
  if (details.failed && details.counterexample !== null) {
    const [c] = details.counterexample;
    lines.push("Shrunk counterexample:", ...describeCase(c, judge(c)));
    lines.push(`  replay:   fc.assert(..., { seed: ${details.seed}, path: "${details.counterexamplePath}" })`);
  }
  const seen = new Set<string>();
  const others = wrong.filter(({ c }) => {
    const key = c.why.replace(/\[wrapped:.*\]$/, "").slice(0, 70);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (others.length > 0) {
    lines.push(`Other failing samples (${others.length} distinct reasons, first 8):`);
    for (const { c, v } of others.slice(0, 8)) lines.push(...describeCase(c, v), "");
  }
  lines.push(
    `Reproduce: STIGMER_PBT_SEED=${SEED} STIGMER_PBT_RUNS=${numRuns} npx vitest run packages/detector-rules/test/classes.test.ts -t "${title}"`,
  );
  throw new Error(lines.join("\n"));
}

/** Pathological inputs: every one decided without throwing, with rules; forced decisions respected. */
function assertStress(title: string, arb: fc.Arbitrary<Stress>): void {
  const sample = fc.sample(arb, { seed: SEED, numRuns: STRESS_RUNS });
  let slowest = { ms: 0, why: "" };
  const wrong: Array<{ s: Stress; v: Verdict; ms: number }> = [];
  for (const s of sample) {
    const start = performance.now();
    const v = decide(
      s.command,
      (target, rules) => (target === "local" || target === "sandbox") && rules.length > 0 && (s.mustBe === null || target === s.mustBe),
    );
    const ms = performance.now() - start;
    if (ms > slowest.ms) slowest = { ms, why: s.why };
    if (!v.ok) wrong.push({ s, v, ms });
  }
  summary.push(`${title}: ${wrong.length}/${sample.length} wrong, slowest ${slowest.ms.toFixed(0)} ms (${slowest.why})`);
  if (wrong.length === 0) return;
  wrong.sort((a, b) => a.s.command.length - b.s.command.length);
  const lines = [`${title}: ${wrong.length}/${sample.length} inputs not decided as required (seed ${SEED}). Smallest first:`];
  for (const { s, v, ms } of wrong.slice(0, 5)) {
    lines.push(
      ...describeCase(
        { command: s.command, expected: s.mustBe ?? "sandbox", why: `${s.why}; required: ${s.mustBe ?? "any decision with rules"}` },
        v,
      ),
      `  time:     ${ms.toFixed(0)} ms`,
      "",
    );
  }
  lines.push(
    `Reproduce: STIGMER_PBT_SEED=${SEED} STIGMER_PBT_STRESS_RUNS=${STRESS_RUNS} npx vitest run packages/detector-rules/test/classes.test.ts -t "${title}"`,
  );
  throw new Error(lines.join("\n"));
}

afterAll(() => {
  console.log(`auto-mode classes (seed ${SEED}):\n  ${summary.join("\n  ")}`);
});

describe("class 1: obfuscated and dynamic decisive words", () => {
  it("class 1 risky: every obfuscated risky name, subcommand or option word goes to the sandbox", () => {
    assertClass("class 1 risky", class1Risky);
  });
  it("class 1 look-alike: literal read-only verbs and data-only tricks stay local", () => {
    assertClass("class 1 look-alike", class1Lookalike);
  });
});

describe("class 2: option-exec surfaces", () => {
  it("class 2 risky: every surface running a risky or invisible value goes to the sandbox", () => {
    assertClass("class 2 risky", class2Risky);
  });
  it("class 2 look-alike: the same programs in harmless forms stay local", () => {
    assertClass("class 2 look-alike", class2Lookalike);
  });
  it("class 2 harmless value: surfaces whose visible value is harmless stay local", () => {
    assertClass("class 2 harmless value", class2HarmlessValue);
  });
  it("class 2 harmless inline code: python/node/perl/ruby process calls of a harmless literal command stay local", () => {
    assertClass("class 2 harmless inline code", class2HarmlessInlineCode);
  });
});

describe("class 3: provenance", () => {
  it("class 3 risky: downloaded, piped, decoded or written-then-run risky code goes to the sandbox", () => {
    assertClass("class 3 risky", class3Risky);
  });
  it("class 3 look-alike: harmless written scripts, downloads not run and decoys stay local", () => {
    assertClass("class 3 look-alike", class3Lookalike);
  });
});

describe("class 4: shell state and paths", () => {
  it("class 4 risky: outside or unknown values reaching deletes and writes go to the sandbox", () => {
    assertClass("class 4 risky", class4Risky);
  });
  it("class 4 look-alike: known inside values, reads and guarded deletes stay local", () => {
    assertClass("class 4 look-alike", class4Lookalike);
  });
});

describe("class 5: interpreters by path and clustered flags", () => {
  it("class 5 risky: pip/ensurepip/npm through any path or flag spelling goes to the sandbox", () => {
    assertClass("class 5 risky", class5Risky);
  });
  it("class 5 look-alike: the same paths and flags running tests, tools and read-only verbs stay local", () => {
    assertClass("class 5 look-alike", class5Lookalike);
  });
});

describe("class 6: pathological inputs", () => {
  it("class 6 decided: long, deep and huge inputs are decided with rules and never throw", () => {
    assertStress("class 6 decided", class6AnyDecision);
  });
  it("class 6 sandbox: unterminated inputs and risky parts under padding or nesting go to the sandbox", () => {
    assertStress("class 6 sandbox", class6Sandbox);
  });
});

// The labels are only as good as the commands: every generated command of classes 1–5 must be valid
// bash, or a detector would be right to call it a syntax error (clause 8).
describe("generators", () => {
  const classes: Record<string, fc.Arbitrary<Case>> = {
    class1Risky,
    class1Lookalike,
    class2Risky,
    class2Lookalike,
    class2HarmlessValue,
    class2HarmlessInlineCode,
    class3Risky,
    class3Lookalike,
    class4Risky,
    class4Lookalike,
    class5Risky,
    class5Lookalike,
  };
  it("every generated command of classes 1–5 is valid bash (bash -n)", () => {
    const invalid: string[] = [];
    for (const [name, arb] of Object.entries(classes)) {
      for (const c of fc.sample(arb, { seed: SEED, numRuns: 40 })) {
        const r = spawnSync("bash", ["-n", "-c", c.command], { encoding: "utf8" });
        if (r.status !== 0 || r.stderr !== "") invalid.push(`${name}: ${visible(c.command)}\n    ${r.stderr.trim()}`);
      }
    }
    if (invalid.length > 0) throw new Error(`generated commands that bash rejects:\n  ${invalid.slice(0, 10).join("\n  ")}`);
  });
});
