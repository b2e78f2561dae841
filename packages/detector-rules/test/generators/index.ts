/**
 * Property-based generators for the auto-mode policy (docs/auto-mode-policy.md), one module per
 * class of commands; each class exports a sandbox-side and a local-side arbitrary of labelled
 * {@link Case}s, built from reusable parts (payloads, surfaces, spellings, value flows, wrappers).
 */
export * from "./common.js";
export * from "./interpreters.js";
export * from "./obfuscation.js";
export * from "./option-exec.js";
export * from "./pathological.js";
export * from "./payloads.js";
export * from "./provenance.js";
export * from "./shell-state.js";
