import { type Decision, type DetectionContext, type Detector, injectable } from "@stigmer/core";

/**
 * Placeholder until the rule engine lands: it analyses nothing, so — failing closed, as the
 * policy requires for anything it cannot analyse — it sends every command to the sandbox.
 */
@injectable()
export class RulesDetector implements Detector {
  readonly name = "rules";

  detect(_command: string, _context: DetectionContext): Decision {
    return {
      target: "sandbox",
      rules: ["unanalysed"],
      reason: "This detector does not analyse commands yet, so every command goes to the sandbox (fail closed).",
    };
  }
}
