import { describe, expect, it } from "vitest";
import { saturated } from "../src/saturation.js";

// When a sandbox is retired after a command: a fork bomb hovers a few percent under its pids limit
// (its processes die as their forks fail), so "at the limit" would miss it.
describe("saturated", () => {
  it("a fork bomb's plateau under the limit is saturated; a command's usual leftovers are not", () => {
    expect(saturated({ pids: 237, pidsMax: 256 })).toBe("237 of 256 processes in use");
    expect(saturated({ pids: 900, pidsMax: 1024 })).toBe("900 of 1024 processes in use");
    expect(saturated({ pids: 12, pidsMax: 256 })).toBeUndefined();
    expect(saturated({ pids: 200, pidsMax: 1024 })).toBeUndefined();
  });

  it("memory at 90 % of its limit is saturated; no limit (the kernel's huge number) or unknown figures never are", () => {
    expect(saturated({ memory: 1.9e9, memoryMax: 2e9 })).toBe("1900000000 of 2000000000 bytes of memory in use");
    expect(saturated({ memory: 1e9, memoryMax: 2e9 })).toBeUndefined();
    expect(saturated({ memory: 1e12, memoryMax: 2 ** 63 })).toBeUndefined();
    expect(saturated({ pids: null, pidsMax: null, memory: null, memoryMax: null })).toBeUndefined();
    expect(saturated({})).toBeUndefined();
  });
});
