import {
  type Decision,
  type DetectionContext,
  type Detector,
  InvalidConfigError,
  inject,
  injectable,
  PluginOptionsToken,
} from "@stigmer/core";
import { Analyzer } from "./engine/analyzer.js";
import { Budget, BudgetExceeded, type BudgetLimits, DEFAULT_BUDGET } from "./engine/budget.js";
import type { Finding } from "./findings.js";
import { RuleIndex } from "./matcher.js";
import type { Rule } from "./rule.js";
import { ToolIndex } from "./tools/index.js";
import type { Tool } from "./tools/spec.js";

/** Options of the `rules` plugin (config file `plugins.rules`): the user's own rules, same shape as built-in ones. */
export interface RulesDetectorOptions {
  /** Commands these match go to the sandbox, whatever else is true. Deny wins over allow. */
  deny?: UserRule[];
  /** Commands these match run locally (their own parts; a risky substitution or pipe partner still counts). */
  allow?: UserRule[];
}

/** A user rule: id, description and match as in built-in rules; examples optional. */
export type UserRule = Pick<Rule, "id" | "description" | "match"> & Partial<Pick<Rule, "examples" | "policy">>;

function userRules(raw: unknown, kind: "deny" | "allow"): Rule[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new InvalidConfigError(`plugins.rules.${kind} must be a list of rules.`);
  return raw.map((r: UserRule, i) => {
    if (!r || typeof r.id !== "string" || !r.match || !Array.isArray(r.match.commands) || r.match.commands.length === 0) {
      throw new InvalidConfigError(
        `plugins.rules.${kind}[${i}] needs an "id" and a "match" with a non-empty "commands" list (see docs/detection-rules.md).`,
      );
    }
    for (const pattern of r.match.args ?? []) {
      try {
        new RegExp(pattern.replace(/^\(\?i\)/, ""));
      } catch (error) {
        throw new InvalidConfigError(
          `plugins.rules.${kind}[${i}] (${r.id}): args pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${(error as Error).message}.`,
        );
      }
    }
    return { examples: { match: [] }, ...r, description: r.description ?? r.id, verdict: kind === "deny" ? "sandbox" : "local" } as Rule;
  });
}

function describe(f: Finding): string {
  return `${f.what} (\`${f.at}\`)`;
}

/**
 * The default detector: parses the command as bash (unbash), follows every command it can run —
 * pipelines, lists, subshells, substitutions, nested `bash -c` strings, wrappers, `find -exec`,
 * `xargs`, option values that run programs — and judges each against what it knows about the
 * program (src/tools): deny by default, at the level of subcommands and arguments. Anything it
 * cannot analyse, within its budget, goes to the sandbox.
 */
@injectable()
export class RulesDetector implements Detector {
  readonly specificationVersion = "v1";
  readonly name = "rules";
  private readonly tools: ToolIndex;
  private readonly user: { deny: RuleIndex; allow: RuleIndex };
  private readonly budget: BudgetLimits;

  constructor(
    @inject(PluginOptionsToken) options: RulesDetectorOptions = {},
    tools?: readonly Tool[],
    budget: BudgetLimits = DEFAULT_BUDGET,
  ) {
    this.tools = tools ? new ToolIndex(tools) : defaultIndex();
    this.user = { deny: new RuleIndex(userRules(options?.deny, "deny")), allow: new RuleIndex(userRules(options?.allow, "allow")) };
    this.budget = budget;
  }

  detect(command: string, context: DetectionContext): Decision {
    try {
      return this.decide(command, context);
    } catch (error) {
      if (error instanceof BudgetExceeded)
        return {
          target: "sandbox",
          rules: ["detector.budget"],
          reason: `Sandbox: the command is too large, deep or slow to analyse within the detector's budget (${error.what}) [detector.budget, policy 8].`,
        };
      return {
        target: "sandbox",
        rules: ["detector.internal-error"],
        reason: `The detector could not analyse this command (${(error as Error)?.message ?? String(error)}), so it goes to the sandbox.`,
      };
    }
  }

  /** Every finding, local and sandbox, for explaining and testing. Throws BudgetExceeded past the budget. */
  findings(command: string, context: DetectionContext): Finding[] {
    if (command.length > this.budget.maxChars) throw new BudgetExceeded(`longer than ${this.budget.maxChars} characters`);
    const analyzer = new Analyzer(normalizeProject(context.cwd), this.tools, this.user, new Budget(this.budget), context.env);
    analyzer.run(command);
    return analyzer.findings;
  }

  private decide(command: string, context: DetectionContext): Decision {
    if (command.trim() === "")
      return { target: "sandbox", rules: ["parse.empty"], reason: "The command is empty, so there is nothing to analyse: sandbox." };
    if (command.includes("\0"))
      return { target: "sandbox", rules: ["parse.error"], reason: "The command contains a NUL byte and cannot be analysed: sandbox." };
    const findings = this.findings(command, context);
    const sandbox = findings.filter((f) => f.verdict === "sandbox");
    if (sandbox.length > 0) {
      const ids = [...new Set(sandbox.map((f) => f.id))];
      const first = sandbox[0] as Finding;
      const more = sandbox.length > 1 ? ` (and ${sandbox.length - 1} more: ${sandbox.slice(1, 4).map(describe).join("; ")})` : "";
      const reason = `Sandbox: ${describe(first)} [${first.id}, policy ${first.policy}]${more}.`;
      // Policy 6 (destroys the project's uncommitted work): sandboxing protects the work only if the changes stay there.
      return { target: "sandbox", rules: ids, reason, ...(sandbox.some((f) => f.policy === 6) ? { holdChanges: true } : {}) };
    }
    const local = findings.filter((f) => f.verdict === "local");
    const ids = local.length > 0 ? [...new Set(local.map((f) => f.id))] : ["local.known-commands"];
    const reason =
      local.length > 0
        ? `Local: ${local.slice(0, 3).map(describe).join("; ")}; nothing in it installs, escalates, changes state outside the project or cannot be analysed.`
        : "Local: only standard utilities and developer tools that read, or write inside the project; nothing installs, escalates, changes state outside the project or cannot be analysed.";
    return { target: "local", rules: ids, reason };
  }
}

let sharedIndex: ToolIndex | undefined;
/** The built-in tools, indexed once per process. */
function defaultIndex(): ToolIndex {
  sharedIndex ??= new ToolIndex();
  return sharedIndex;
}

function normalizeProject(cwd: string): string {
  const trimmed = cwd.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}
