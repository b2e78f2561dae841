/**
 * The detector's budget per decision. Analysis is linear in the size of the command, but a
 * hostile command can still be large, deep or nested; past any of these limits the detector
 * stops and the command goes to the sandbox (`detector.budget`), with no decision left half made.
 */
export interface BudgetLimits {
  /** Longest command analysed, in characters. */
  maxChars: number;
  /** Most steps (words, commands, nested scripts) analysed. */
  maxSteps: number;
  /** Deepest nesting of strings that become code (`bash -c` in `bash -c` …). */
  maxDepth: number;
  /** Wall-clock time for one decision, in milliseconds. */
  maxMillis: number;
}

export const DEFAULT_BUDGET: BudgetLimits = { maxChars: 256 * 1024, maxSteps: 200_000, maxDepth: 12, maxMillis: 250 };

export class BudgetExceeded extends Error {
  constructor(readonly what: string) {
    super(what);
  }
}

export class Budget {
  private steps = 0;
  private readonly deadline: number;

  constructor(readonly limits: BudgetLimits = DEFAULT_BUDGET) {
    this.deadline = performance.now() + limits.maxMillis;
  }

  /** Counts `n` steps; throws BudgetExceeded past the step or time limit (time is checked every 1,024 steps). */
  step(n = 1): void {
    const before = this.steps;
    this.steps += n;
    if (this.steps > this.limits.maxSteps) throw new BudgetExceeded(`more than ${this.limits.maxSteps} analysis steps`);
    if (before >>> 10 !== this.steps >>> 10 && performance.now() > this.deadline)
      throw new BudgetExceeded(`more than ${this.limits.maxMillis} ms of analysis`);
  }

  depth(depth: number): void {
    if (depth > this.limits.maxDepth) throw new BudgetExceeded(`strings that become code nested more than ${this.limits.maxDepth} deep`);
  }
}
