import { CORE_PRESET, type ResolveConfigOptions, resolveConfig, type StigmerConfig, type StigmerPreset } from "@stigmer/core";

/** Levenshtein distance (short strings only). */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min((row[j] as number) + 1, (next[j - 1] as number) + 1, (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length] as number;
}

/** Whether the `MODE` warning was given in this process (once is enough: the variable does not change). */
let modeWarned = false;

/**
 * What the `stigmer` command ships, for core's configuration: the short names of its plugins, the
 * Docker sandbox by default, and cloud mode.
 *
 * `MODE=cloud`: the sandbox runs on Daytona unless `STIGMER_SANDBOX_BACKEND` says otherwise, and the
 * mode defaults to `sandbox` (as the Daytona-only runner did) unless `STIGMER_EXECUTION_MODE` or a
 * flag says otherwise. `MODE` is a common name (other tools use `MODE=production`), so any other
 * value is not an error, but it is said once per process that it is ignored: a typo such as
 * `MODE=clod` would otherwise run every command on the host without a word.
 */
export const CLI_PRESET: StigmerPreset = {
  aliases: { ...CORE_PRESET.aliases, docker: "@stigmer/backend-docker", daytona: "@stigmer/backend-daytona" },
  defaults: { ...CORE_PRESET.defaults, sandboxBackend: "docker" },
  // These keys were core's before the backends owned their settings.
  movedKeys: {
    "sandbox.memory": "plugins.docker.memory",
    "sandbox.cpus": "plugins.docker.cpus",
    "sandbox.pidsLimit": "plugins.docker.pidsLimit",
    "daytona.apiKey": "plugins.daytona.apiKey",
    "daytona.apiUrl": "plugins.daytona.apiUrl",
    "daytona.target": "plugins.daytona.target",
    "daytona.snapshot": "plugins.daytona.snapshot",
  },
  fromEnvironment(env, warn) {
    const value = (env.MODE ?? "").trim();
    if (value.toLowerCase() === "cloud") return { profile: "MODE=cloud", sandboxBackend: "daytona", mode: "sandbox" };
    if (value !== "" && !modeWarned) {
      modeWarned = true;
      // Shown as given, but one short line: control characters escaped, long values cut.
      const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value).slice(1, -1);
      const typo = editDistance(value.toLowerCase(), "cloud") <= 2 ? " Did you mean MODE=cloud?" : "";
      warn(
        `MODE=${shown} is ignored: only MODE=cloud means something to Stigmer (Daytona cloud sandboxes); the mode comes from STIGMER_EXECUTION_MODE or --mode.${typo}`,
      );
    }
    return undefined;
  },
};

/** {@link resolveConfig} with the CLI's preset: every command reads its configuration through this. */
export function cliConfig(options: ResolveConfigOptions = {}): StigmerConfig {
  return resolveConfig({ preset: CLI_PRESET, ...options });
}
