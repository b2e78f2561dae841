import type { Rule } from "../rule.js";
import { gitRules } from "./git.js";
import { packageRules } from "./packages.js";
import { remoteRules } from "./remote.js";
import { systemRules } from "./system.js";

export { KNOWN_COMMANDS } from "./known-commands.js";

/** Every built-in rule, in evaluation order (order only matters for the order of ids in a decision). */
export const BUILTIN_RULES: readonly Rule[] = [...systemRules, ...packageRules, ...gitRules, ...remoteRules];
