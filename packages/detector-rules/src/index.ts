import { DetectorToken, definePlugin, type StigmerPlugin } from "@stigmer/core";
import { RulesDetector } from "./rules-detector.js";

export type { Finding } from "./analyzer.js";
export type { Rule, RuleMatch } from "./rule.js";
export { BUILTIN_RULES, KNOWN_COMMANDS } from "./rules/index.js";
export { RulesDetector, type RulesDetectorOptions, type UserRule } from "./rules-detector.js";

/** The `rules` plugin: Stigmer's default detector for auto mode. */
export const plugin: StigmerPlugin = definePlugin({
  name: "rules",
  kind: "detector",
  register(container) {
    container.register(DetectorToken, { useClass: RulesDetector });
  },
});
export default plugin;
