import { createLogger, resolveConfig } from "@stigmer/core";
import { runBackendConformance } from "@stigmer/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerBackend } from "../src/docker-backend.js";
import { ownContainers } from "./helpers.js";

// Needs a Docker engine and the test images: scripts/docker-setup.sh (run by .ci/run) provides both.
const make =
  (image: string, options: Record<string, unknown> = {}) =>
  () =>
    new DockerBackend(
      resolveConfig({ env: { STIGMER_SANDBOX_IMAGE: image, STIGMER_SANDBOX_TTL: "60" } }),
      createLogger({ level: "silent" }),
      options,
    );

// Python in the image: commands go through the in-sandbox agent.
runBackendConformance({
  name: "docker (agent, sandbox-basic)",
  create: make("stigmer-test/sandbox-basic:ci"),
  test: { describe, it, beforeAll, afterAll },
  timeoutScale: 2,
});
// No python, no bash: commands go through `docker exec`, killed by a second exec.
runBackendConformance({
  name: "docker (exec, busybox)",
  create: make("stigmer-test/busybox:1"),
  test: { describe, it, beforeAll, afterAll },
  timeoutScale: 2,
});

// Leak check: every backend the suites created was disposed, so none of their containers is left
// (this caught a container still being created when its backend was disposed).
afterAll(async () => {
  expect(await ownContainers()).toEqual([]);
});
