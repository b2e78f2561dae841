import { createLogger } from "@stigmer/core";
import { runBackendConformance } from "@stigmer/core/testing";
import { afterAll, beforeAll, describe, it } from "vitest";
import { LocalBackend } from "../src/local-backend.js";

runBackendConformance({
  name: "local",
  create: () => new LocalBackend(createLogger({ level: "silent" }), {}),
  test: { describe, it, beforeAll, afterAll },
});
