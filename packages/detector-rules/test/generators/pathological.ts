/**
 * Class 6: pathological inputs — very long, very deep or unterminated commands.
 *
 * Clause 8: "Syntax errors, unterminated quotes or heredocs, nesting deeper than the detector
 * follows, and input too large or too slow to analyse within the detector's budget" go to the
 * sandbox. So: an unterminated input must be decided "sandbox"; a risky part buried under padding or
 * nesting must be "sandbox" (analysed, it is risky; not analysed, it is clause 8); any other
 * pathological input may be decided either way, but must be decided — no exception, a non-empty
 * list of rules.
 */
import fc from "fast-check";
import { sq, type Target } from "./common.js";
import { riskyPayload } from "./payloads.js";

/** A stress input: `mustBe` is the decision the policy forces, or null when any decision will do. */
export interface Stress {
  readonly command: string;
  readonly mustBe: Target | null;
  readonly why: string;
}

const NAMES = ["a", "src", "lib", "pkg", "x1", "build"] as const;
const name = fc.constantFrom(...NAMES);

/** Long `sed` scripts: many `-e` expressions or one long `;`-separated script. */
export const longSed: fc.Arbitrary<Stress> = fc.tuple(fc.integer({ min: 100, max: 4000 }), fc.boolean()).map(([n, separate]) => {
  const exprs = Array.from({ length: n }, (_, i) => `s/a${i}/b${i}/g`);
  const command = separate ? `sed ${exprs.map((e) => `-e '${e}'`).join(" ")} README.md` : `sed '${exprs.join(";")}' README.md`;
  return { command, mustBe: null, why: `a sed script of ${n} expressions` };
});

/** Long `cd a && cd b && …` chains. */
export const longCdChain: fc.Arbitrary<Stress> = fc
  .tuple(fc.array(name, { minLength: 100, maxLength: 3000 }), fc.constantFrom(" && ", "; "))
  .map(([dirs, sep]) => ({
    command: `${dirs.map((d) => `cd ${d}`).join(sep)}${sep}ls`,
    mustBe: null,
    why: `a chain of ${dirs.length} cd`,
  }));

/** Long pipelines and statement lists. */
export const longLists: fc.Arbitrary<Stress> = fc
  .tuple(fc.integer({ min: 100, max: 5000 }), fc.constantFrom(" | grep a", "; echo a", " && true", "\necho a"))
  .map(([n, unit]) => ({ command: `cat README.md${unit.repeat(n)}`, mustBe: null, why: `${n} repetitions of ${JSON.stringify(unit)}` }));

/** Deep nesting of subshells, groups, substitutions, `if`s and `bash -c` quoting, around a harmless core. */
export function nested(core: string, depth: number, kind: number): string {
  switch (kind % 6) {
    case 0:
      // Spaced: `((` would open an arithmetic command.
      return `${"( ".repeat(depth)}${core}${" )".repeat(depth)}`;
    case 1:
      return `${"{ ".repeat(depth)}${core}; ${"}; ".repeat(depth)}`;
    case 2:
      return `echo ${"$(".repeat(depth)}${core}${")".repeat(depth)}`;
    case 3:
      return `${"if true; then ".repeat(depth)}${core}; ${"fi; ".repeat(depth)}`;
    case 4:
      return `${"echo `".repeat(Math.min(depth, 1))}${core}${"`".repeat(Math.min(depth, 1))}${" | cat".repeat(depth)}`;
    default: {
      let c = core;
      for (let i = 0; i < Math.min(depth, 8); i++) c = `bash -c ${sq(c)}`;
      return c;
    }
  }
}

export const deepNesting: fc.Arbitrary<Stress> = fc
  .tuple(fc.integer({ min: 20, max: 3000 }), fc.nat(5), fc.constantFrom("ls", "echo hi", "git status"))
  .map(([depth, kind, core]) => ({
    command: nested(core, depth, kind),
    mustBe: null,
    why: `${core} nested ${depth} deep (kind ${kind % 6})`,
  }));

/** Huge words and many heredocs. */
export const hugeInputs: fc.Arbitrary<Stress> = fc.oneof(
  fc
    .integer({ min: 10_000, max: 200_000 })
    .map((n) => ({ command: `echo ${"a".repeat(n)}`, mustBe: null, why: `a word of ${n} characters` })),
  fc.integer({ min: 100, max: 2000 }).map((n) => ({
    command: Array.from({ length: n }, (_, i) => `cat <<'E${i}'\nline ${i}\nE${i}`).join("\n"),
    mustBe: null,
    why: `${n} heredocs`,
  })),
);

/** Unterminated inputs: clause 8, sandbox. */
export const unterminated: fc.Arbitrary<Stress> = fc.oneof(
  fc
    .integer({ min: 100, max: 20_000 })
    .map((n) => ({ command: `echo ${"$(".repeat(n)}`, mustBe: "sandbox" as const, why: `${n} unclosed $(` })),
  fc
    .integer({ min: 100, max: 20_000 })
    .map((n) => ({ command: `ls ${"`".repeat(2 * n + 1)}`, mustBe: "sandbox" as const, why: "an odd number of backticks" })),
  fc.tuple(fc.integer({ min: 100, max: 3000 }), fc.constantFrom("'", '"', "$(", "${", "<<EOF\nx")).map(([n, opener]) => ({
    command: `${"echo ok; ".repeat(n)}echo ${opener}tail`,
    mustBe: "sandbox" as const,
    why: `unterminated ${opener} after ${n} statements`,
  })),
  fc.integer({ min: 100, max: 5000 }).map((n) => ({ command: `${"( ".repeat(n)}ls`, mustBe: "sandbox" as const, why: `${n} unclosed (` })),
);

/** A risky part after long padding, or innermost in deep nesting: sandbox either way. */
export const riskyBuried: fc.Arbitrary<Stress> = fc.oneof(
  fc
    .tuple(
      fc.integer({ min: 100, max: 3000 }),
      fc.constantFrom("cd a && ", "echo a; ", "true | ", "cat README.md | grep a && "),
      riskyPayload,
    )
    .map(([n, unit, p]) => ({
      command: `${unit.repeat(n)}${p.line}`,
      mustBe: "sandbox" as const,
      why: `${p.why}, after ${n} × ${JSON.stringify(unit)}`,
    })),
  fc.tuple(fc.integer({ min: 20, max: 3000 }), fc.nat(5), riskyPayload).map(([depth, kind, p]) => ({
    command: nested(p.line, depth, kind),
    mustBe: "sandbox" as const,
    why: `${p.why}, nested ${depth} deep (kind ${kind % 6})`,
  })),
  fc.tuple(fc.integer({ min: 100, max: 3000 }), riskyPayload).map(([n, p]) => ({
    command: `sed ${Array.from({ length: n }, (_, i) => `-e 's/a${i}/b${i}/'`).join(" ")} README.md && ${p.line}`,
    mustBe: "sandbox" as const,
    why: `${p.why}, after a sed script of ${n} expressions`,
  })),
);

/** Pathological inputs with no forced decision. */
export const class6AnyDecision: fc.Arbitrary<Stress> = fc.oneof(longSed, longCdChain, longLists, deepNesting, hugeInputs);
/** Pathological inputs the policy forces to the sandbox. */
export const class6Sandbox: fc.Arbitrary<Stress> = fc.oneof(unterminated, riskyBuried);
