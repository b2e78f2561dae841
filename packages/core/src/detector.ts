import type { SpecificationVersion } from "./plugin.js";
import type { Target } from "./types.js";

/** Why auto mode sends a command where it does. */
export interface Decision {
  /** Where the command should run. */
  target: Target;
  /** Ids of the rules that fired (at least one; the detector's fallback rule counts). */
  rules: string[];
  /** One human sentence naming the part of the command that triggered the decision. */
  reason: string;
  /**
   * True when the command would destroy the project's uncommitted work (`git reset --hard`, wiping
   * the tree): it is sandboxed to protect that work, so with a `sync` workspace its changes to the
   * project are held in the sandbox and discarded instead of coming back.
   */
  holdChanges?: boolean;
}

/** What the detector may know besides the command line. */
export interface DetectionContext {
  /** The project directory the command will run in. */
  cwd: string;
  /** Variables the request adds to the environment (names matter; values are not for logging). */
  env?: Readonly<Record<string, string>>;
}

/**
 * Decides, for auto mode, whether a command runs on the host or in the sandbox.
 *
 * Must be **pure** (the same command and context give the same decision), fast (it runs before
 * every auto-mode command) and **never throw**: anything it cannot analyse is a `sandbox` decision
 * whose reason says so (fail closed). Run `runDetectorConformance` from `@stigmer/core/testing`.
 */
export interface Detector {
  /** The plugin contract it implements: `"v1"` (`SPECIFICATION_VERSION`). Core refuses another. */
  readonly specificationVersion: SpecificationVersion;
  /** Short display name, shown in decisions and logs. */
  readonly name: string;
  detect(command: string, context: DetectionContext): Decision | Promise<Decision>;
}
