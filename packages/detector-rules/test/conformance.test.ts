import { runDetectorConformance } from "@stigmer/core/testing";
import { afterAll, beforeAll, describe, it } from "vitest";
import { RulesDetector } from "../src/rules-detector.js";

runDetectorConformance({
  name: "rules",
  create: () => new RulesDetector(),
  test: { describe, it, beforeAll, afterAll },
});
