/**
 * `@stigmer/core/testing`: the conformance suites. Every backend and detector — Stigmer's own and
 * any platform team's — runs them against itself. They depend only on `node:assert`; you pass your
 * test runner's functions in.
 */
export {
  BACKEND_CONFORMANCE_GROUPS,
  type BackendConformanceGroup,
  type BackendConformanceOptions,
  runBackendConformance,
} from "./backend-conformance.js";
export { type DetectorConformanceOptions, runDetectorConformance } from "./detector-conformance.js";
export { stigmerErrorOf } from "./stigmer-error-of.js";
export type { TestApi } from "./test-api.js";
