import { DetectorToken, definePlugin, type StigmerPlugin } from "@stigmer/core";
import { RulesDetector } from "./rules-detector.js";

export { type BudgetLimits, DEFAULT_BUDGET } from "./engine/budget.js";
export { FINDINGS, type Finding, type FindingId, type FindingSpec } from "./findings.js";
export type { Rule, RuleMatch } from "./rule.js";
export { RulesDetector, type RulesDetectorOptions, type UserRule } from "./rules-detector.js";
export { BUILTIN_TOOLS, ToolIndex } from "./tools/index.js";
export type { Level, OptionEffect, Tool } from "./tools/spec.js";

/** The `rules` plugin: Stigmer's default detector for auto mode. */
export const plugin: StigmerPlugin = definePlugin({
  specificationVersion: "v1",
  name: "rules",
  kind: "detector",
  register(container) {
    container.register(DetectorToken, { useClass: RulesDetector });
  },
});
export default plugin;
