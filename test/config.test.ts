import { mkdirSync } from "node:fs";
import { join } from "node:path";
import daytona from "@stigmer/backend-daytona";
import { DEFAULT_SANDBOX_IMAGE, ErrorCode, resolveConfig, resolvePluginOptions, StigmerError } from "@stigmer/core";
import { CLI_PRESET } from "stigmer";
import { afterEach, describe, expect, it } from "vitest";
import { tempProject, writeTrusted } from "./helpers.js";

const projects: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of projects.splice(0)) cleanup();
});
function project(config?: unknown) {
  const p = tempProject();
  projects.push(p.cleanup);
  if (config !== undefined) writeTrusted(join(p.dir, "stigmer.config.json"), typeof config === "string" ? config : JSON.stringify(config));
  return p.dir;
}

function configError(fn: () => unknown): StigmerError {
  try {
    fn();
  } catch (error) {
    expect(StigmerError.isInstance(error)).toBe(true);
    return error as StigmerError;
  }
  throw new Error("expected an INVALID_CONFIG error");
}

describe("resolveConfig", () => {
  it("defaults match the spec (the sandbox backend is the CLI's preset's choice)", () => {
    expect(resolveConfig({ env: {}, cwd: project() }).sandbox.backend).toBeUndefined();
    const config = resolveConfig({ preset: CLI_PRESET, env: {}, cwd: project() });
    expect(config).toMatchObject({
      mode: "local",
      sandbox: { image: DEFAULT_SANDBOX_IMAGE, autoPull: true, cleanup: true, ttlSeconds: 3600, backend: "docker" },
      localBackend: "local",
      detector: "rules",
      profile: undefined,
      timeoutMs: undefined,
      outputLimitBytes: 1048576,
      logLevel: "info",
    });
    expect(config.configFile).toBeUndefined();
  });

  it("reads every spec variable from the environment", () => {
    const config = resolveConfig({
      cwd: project(),
      env: {
        STIGMER_EXECUTION_MODE: "auto",
        STIGMER_SANDBOX_IMAGE: "my-custom-sandbox:latest",
        STIGMER_SANDBOX_AUTO_PULL: "false",
        STIGMER_SANDBOX_CLEANUP: "0",
        STIGMER_SANDBOX_TTL: "7200",
        STIGMER_TIMEOUT: "2.5",
        STIGMER_OUTPUT_LIMIT: "4096",
        STIGMER_LOG_LEVEL: "debug",
        STIGMER_DETECTOR: "@acme/detector",
      },
    });
    expect(config).toMatchObject({
      mode: "auto",
      sandbox: { image: "my-custom-sandbox:latest", autoPull: false, cleanup: false, ttlSeconds: 7200 },
      timeoutMs: 2500,
      outputLimitBytes: 4096,
      logLevel: "debug",
      detector: "@acme/detector",
    });
  });

  it("MODE=cloud (the CLI's preset) makes Daytona the sandbox backend and the mode sandbox; core alone ignores MODE", () => {
    const config = resolveConfig({ preset: CLI_PRESET, cwd: project(), env: { MODE: "cloud", DAYTONA_API_KEY: "dtn_secret_key" } });
    expect(config).toMatchObject({ profile: "MODE=cloud", sandbox: { backend: "daytona" } });
    // Like the Daytona-only runner it replaces, cloud mode sandboxes commands unless told otherwise.
    expect(config.mode).toBe("sandbox");
    const cli = (env: Record<string, string>, flags = {}) => resolveConfig({ preset: CLI_PRESET, cwd: project(), env, flags });
    expect(cli({ MODE: "cloud", STIGMER_EXECUTION_MODE: "auto" }).mode).toBe("auto");
    expect(cli({ MODE: "cloud" }, { mode: "local" }).mode).toBe("local");
    expect(cli({ MODE: "cloud", STIGMER_SANDBOX_BACKEND: "@acme/x" }).sandbox.backend).toBe("@acme/x");
    expect(cli({ MODE: "production" }, {})).toMatchObject({ profile: undefined, mode: "local", sandbox: { backend: "docker" } });
    // Core's own preset names no sandbox backend, and MODE means nothing to it.
    expect(resolveConfig({ cwd: project(), env: { MODE: "cloud" } })).toMatchObject({
      profile: undefined,
      mode: "local",
      sandbox: { backend: undefined },
    });
  });

  it("daytona's settings (declared by the plugin): DAYTONA_SNAPSHOT, and a URL that is not http(s) or carries credentials is refused", () => {
    const daytonaOptions = (env: Record<string, string>, file?: unknown) => {
      const config = resolveConfig({ preset: CLI_PRESET, cwd: project(file), env });
      return resolvePluginOptions(daytona, "daytona", "@stigmer/backend-daytona", config).options;
    };
    expect(daytonaOptions({ DAYTONA_SNAPSHOT: "my-snap", DAYTONA_API_URL: "https://api.example.test/api/" })).toEqual({
      snapshot: "my-snap",
      apiUrl: "https://api.example.test/api",
    });
    expect(daytonaOptions({}, { plugins: { daytona: { target: "eu" } } })).toEqual({ target: "eu" });
    for (const url of ["ftp://x", "not a url", "https://user:pw@host/api"]) {
      const error = configError(() => daytonaOptions({ DAYTONA_API_URL: url }));
      expect(error.code).toBe("INVALID_CONFIG");
      expect(error.message).toContain("DAYTONA_API_URL");
      expect(error.message).toContain("http(s) URL");
      expect(error.message).not.toContain(":pw@");
    }
  });

  it("the CLI's preset says where the config-file keys that moved to the backends went", () => {
    for (const [file, moved] of [
      [{ daytona: { apiUrl: "https://x.test/api" } }, "plugins.daytona.apiUrl"],
      [{ sandbox: { memory: "1g" } }, "plugins.docker.memory"],
    ] as const) {
      const error = configError(() => resolveConfig({ preset: CLI_PRESET, cwd: project(file), env: {} }));
      expect(error.code).toBe(ErrorCode.INVALID_CONFIG);
      expect(error.message).toContain(`write it as "${moved}"`);
    }
  });

  it("takes flags over environment over config file over defaults", () => {
    const dir = project({ mode: "sandbox", timeout: 9, sandbox: { image: "from-file:1", ttl: 10 } });
    const fileOnly = resolveConfig({ cwd: dir, env: {} });
    expect(fileOnly).toMatchObject({ mode: "sandbox", timeoutMs: 9000, sandbox: { image: "from-file:1", ttlSeconds: 10 } });
    expect(fileOnly.configFile).toBe(join(dir, "stigmer.config.json"));
    const envOverFile = resolveConfig({ cwd: dir, env: { STIGMER_EXECUTION_MODE: "auto", STIGMER_SANDBOX_TTL: "20" } });
    expect(envOverFile).toMatchObject({ mode: "auto", sandbox: { image: "from-file:1", ttlSeconds: 20 } });
    const flagOverEnv = resolveConfig({
      cwd: dir,
      env: { STIGMER_EXECUTION_MODE: "auto" },
      flags: { mode: "local", sandboxImage: "flag:2", timeout: "1" },
    });
    expect(flagOverEnv).toMatchObject({ mode: "local", timeoutMs: 1000, sandbox: { image: "flag:2" } });
  });

  it("an empty environment variable counts as unset", () => {
    expect(resolveConfig({ cwd: project(), env: { STIGMER_EXECUTION_MODE: "" } }).mode).toBe("local");
  });

  it("an unknown mode names the variable, the value and the three valid modes", () => {
    const error = configError(() => resolveConfig({ cwd: project(), env: { STIGMER_EXECUTION_MODE: "sandboxx" } }));
    expect(error.code).toBe(ErrorCode.INVALID_CONFIG);
    expect(error.message).toContain("STIGMER_EXECUTION_MODE=sandboxx");
    expect(error.message).toContain("local, sandbox, auto");
    expect(error.details).toMatchObject({ name: "STIGMER_EXECUTION_MODE", value: "sandboxx", source: "env" });
    const flag = configError(() => resolveConfig({ cwd: project(), env: {}, flags: { mode: "fast" } }));
    expect(flag.message).toContain("--mode=fast");
  });

  it.each([
    ["STIGMER_SANDBOX_TTL", "abc"],
    ["STIGMER_SANDBOX_TTL", "-5"],
    ["STIGMER_SANDBOX_TTL", "1.5"],
    ["STIGMER_TIMEOUT", "-1"],
    ["STIGMER_TIMEOUT", "soon"],
    ["STIGMER_TIMEOUT", "99999999"],
    ["STIGMER_SANDBOX_AUTO_PULL", "maybe"],
    ["STIGMER_SANDBOX_CLEANUP", "2"],
    ["STIGMER_SANDBOX_IMAGE", "Not An Image"],
    ["STIGMER_SANDBOX_IMAGE", "UPPER/case:tag"],
    ["STIGMER_SANDBOX_IMAGE", "image:tag:extra"],
    ["STIGMER_OUTPUT_LIMIT", "10"],
    ["STIGMER_LOG_LEVEL", "loud"],
    ["STIGMER_DETECTOR", "bad name with spaces"],
  ])("%s=%s is rejected with the variable and value in the message", (name, value) => {
    const error = configError(() => resolveConfig({ cwd: project(), env: { [name]: value } }));
    expect(error.code).toBe(ErrorCode.INVALID_CONFIG);
    expect(error.message).toContain(`${name}=${value}`);
    expect(error.message.split("\n")).toHaveLength(1);
  });

  it.each(["python:3.12-slim", "ghcr.io/stigmer/agent-sandbox-basic:latest", "localhost:5000/x/y:1", `busybox@sha256:${"a".repeat(64)}`])(
    "accepts image %s",
    (image) => {
      expect(resolveConfig({ cwd: project(), env: { STIGMER_SANDBOX_IMAGE: image } }).sandbox.image).toBe(image);
    },
  );

  it("refuses a sandbox backend that is the local backend (no silent host fallback)", () => {
    for (const value of ["local", "@stigmer/backend-local"]) {
      const error = configError(() => resolveConfig({ cwd: project(), env: { STIGMER_SANDBOX_BACKEND: value } }));
      expect(error.code).toBe(ErrorCode.INVALID_CONFIG);
      expect(error.message).toContain("would run on the host");
    }
  });

  it("reports config file problems: bad JSON, unknown keys, bad values, a missing explicit file", () => {
    expect(configError(() => resolveConfig({ cwd: project("{ nope"), env: {} })).message).toContain("not valid JSON");
    const unknown = configError(() => resolveConfig({ cwd: project({ sandbx: { image: "x" } }), env: {} }));
    expect(unknown.message).toContain('unknown key "sandbx"');
    const nested = configError(() => resolveConfig({ cwd: project({ sandbox: { imag: "x" } }), env: {} }));
    expect(nested.message).toContain('unknown key "sandbox.imag"');
    const value = configError(() => resolveConfig({ cwd: project({ sandbox: { ttl: -1 } }), env: {} }));
    expect(value.message).toContain("sandbox.ttl");
    const missing = configError(() => resolveConfig({ cwd: project(), env: { STIGMER_CONFIG: "/nope/stigmer.json" } }));
    expect(missing.message).toContain("/nope/stigmer.json");
    const dir = project();
    mkdirSync(join(dir, "sub"));
    expect(configError(() => resolveConfig({ cwd: dir, env: {}, flags: { config: "sub" } })).code).toBe(ErrorCode.INVALID_CONFIG);
  });

  it("passes plugin options from the config file", () => {
    const config = resolveConfig({ cwd: project({ plugins: { local: { killGraceMs: 50 } } }), env: {} });
    expect(config.plugins).toEqual({ local: { killGraceMs: 50 } });
  });
});
