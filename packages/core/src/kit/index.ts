// Building blocks for backends: what every sandbox backend needs and should not write again.
export { KeyedPool, type KeyedPoolOptions, type PoolExit } from "./keyed-pool.js";
export { MANAGED_BY, ownerShown, reuseKey, SANDBOX_LABELS, sandboxLabels } from "./labels.js";
export { RunTracker, type RunTrackerOptions } from "./run-tracker.js";
export { type SleepOptions, sleep, within } from "./sleep.js";
