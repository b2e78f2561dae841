import { createLogger } from "@stigmer/core";
import { runBackendConformance } from "@stigmer/core/testing";
import { afterAll, beforeAll, describe, it } from "vitest";
import { SpawnBackend } from "../src/spawn-backend.js";

runBackendConformance({
  name: "spawn",
  create: () => new SpawnBackend(createLogger({ level: "silent" }), {}),
  test: { describe, it, beforeAll, afterAll },
});
