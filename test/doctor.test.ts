// `stigmer doctor` as a real process: the built CLI against the real Docker engine (started by
// scripts/docker-setup.sh, with its stigmer-test/* images) and the local Daytona imitation.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DaytonaImitation, startDaytonaImitation } from "./daytona-imitation/index.mjs";
import { runCli, tempProject, writeTrusted } from "./helpers.js";

interface Check {
  id: string;
  status: "ok" | "warn" | "fail" | "skip";
  message: string;
  fix?: string;
  details?: Record<string, unknown>;
}

// The docker backend adds its own `sandbox-image` line after `sandbox-backend`.
const IDS = ["node", "config", "sandbox-backend", "sandbox-image", "sandbox-environment", "detector"];
const project = tempProject();
let imitation: DaytonaImitation;

beforeAll(async () => {
  imitation = await startDaytonaImitation({ transitionMs: 20 });
});
afterAll(async () => {
  await imitation?.close();
  project.cleanup();
});

/** `stigmer doctor --json`: the exit code and the checks by id. */
async function doctorJson(env: Record<string, string>) {
  const r = await runCli(["doctor", "--json"], { cwd: project.dir, env });
  const checks = JSON.parse(r.stdout) as Check[];
  return { ...r, checks, byId: Object.fromEntries(checks.map((c) => [c.id, c])) as Record<string, Check> };
}

/** The printed line of check `id`. */
function line(stdout: string, id: string): string {
  return stdout.split("\n").find((l) => new RegExp(`^(ok|warn|FAIL|skip) +${id} `).test(l)) ?? "";
}

describe("stigmer doctor", () => {
  it("a healthy docker setup: exit 0, one line per check, node/config/sandbox-backend/sandbox-image/detector ok", async () => {
    const r = await runCli(["doctor"], {
      cwd: project.dir,
      env: { STIGMER_EXECUTION_MODE: "sandbox", STIGMER_SANDBOX_IMAGE: "stigmer-test/busybox:1" },
    });
    expect(r.exitCode).toBe(0);
    expect(line(r.stdout, "node")).toMatch(
      new RegExp(`^ok +node +Node\\.js v${process.versions.node.replace(/\./g, "\\.")} \\(needs ≥ 20\\.16\\)$`),
    );
    expect(line(r.stdout, "config")).toMatch(/^ok +config +.*mode sandbox, sandbox backend docker/);
    expect(line(r.stdout, "sandbox-backend")).toMatch(/^ok +sandbox-backend +Docker \S+ answers at unix:\/\/\//);
    expect(line(r.stdout, "sandbox-image")).toMatch(/^ok +sandbox-image +Image stigmer-test\/busybox:1 is present locally$/);
    expect(line(r.stdout, "sandbox-environment")).toMatch(
      /^ok +sandbox-environment +Sandboxes get: network bridge; workspace sync; the host's \d+ CA certificates \(.+\); (no proxy set on the host|proxy .+)$/,
    );
    expect(line(r.stdout, "detector")).toMatch(/^ok +detector +Detector "rules".* ls → local/);
    expect(r.stdout.trim().split("\n").at(-1)).toMatch(/^stigmer \S+: 6 ok, 0 warnings, 0 failed, 0 skipped — ready\.$/);
    expect(r.stderr).toBe("");
  });

  it("--json prints the array of checks, in order, with the engine's version and the image's presence", async () => {
    const { exitCode, checks, byId } = await doctorJson({ STIGMER_SANDBOX_IMAGE: "stigmer-test/sandbox-basic:ci" });
    expect(exitCode).toBe(0);
    expect(checks.map((c) => c.id)).toEqual(IDS);
    for (const c of checks) expect(typeof c.message).toBe("string");
    expect(byId["sandbox-backend"]?.details).toMatchObject({ backend: "docker", version: expect.any(String) });
    expect(byId["sandbox-image"]?.details).toMatchObject({ image: "stigmer-test/sandbox-basic:ci", present: true });
    expect(byId.node?.details).toMatchObject({ node: process.versions.node, stigmer: expect.any(String) });
  });

  it("an unreachable engine in sandbox mode: exit 1, sandbox-backend FAIL naming DOCKER_HOST's address with a fix; the image is not checked", async () => {
    const r = await runCli(["doctor"], {
      cwd: project.dir,
      env: { STIGMER_EXECUTION_MODE: "sandbox", DOCKER_HOST: "unix:///nonexistent.sock" },
    });
    expect(r.exitCode).toBe(1);
    expect(line(r.stdout, "sandbox-backend")).toMatch(
      /^FAIL +sandbox-backend +Cannot reach the Docker engine at unix:\/\/\/nonexistent\.sock \(ENOENT\) — fix: Start the Docker engine .*DOCKER_HOST/,
    );
    expect(line(r.stdout, "sandbox-image")).toMatch(/^skip /);
    expect(line(r.stdout, "detector")).toMatch(/^ok /);
    expect(r.stdout).toMatch(/1 failed/);
    expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
  });

  it("the same unreachable engine in local mode is a warning and exit 0 (local mode does not need it)", async () => {
    const { exitCode, byId } = await doctorJson({ STIGMER_EXECUTION_MODE: "local", DOCKER_HOST: "unix:///nonexistent.sock" });
    expect(exitCode).toBe(0);
    expect(byId["sandbox-backend"]).toMatchObject({ status: "warn", fix: expect.stringMatching(/Start the Docker engine/) });
    expect(byId["sandbox-backend"]?.message).toMatch(/mode local does not use it/);
    expect(byId.config?.status).toBe("ok");
  });

  it("a missing image: sandbox-image warns that auto-pull will pull it, with docker pull as the fix; with auto-pull off in sandbox mode it fails", async () => {
    const image = "stigmer-test/not-built-here:1";
    const pulled = await doctorJson({ STIGMER_EXECUTION_MODE: "sandbox", STIGMER_SANDBOX_IMAGE: image });
    expect(pulled.exitCode).toBe(0);
    expect(pulled.byId["sandbox-image"]).toMatchObject({
      status: "warn",
      message: expect.stringContaining("pulled on first use"),
      fix: expect.stringContaining(`docker pull ${image}`),
      details: { image, present: false, autoPull: true },
    });
    const noPull = await doctorJson({
      STIGMER_EXECUTION_MODE: "sandbox",
      STIGMER_SANDBOX_IMAGE: image,
      STIGMER_SANDBOX_AUTO_PULL: "false",
    });
    expect(noPull.exitCode).toBe(1);
    expect(noPull.byId["sandbox-image"]).toMatchObject({ status: "fail", fix: expect.stringContaining("STIGMER_SANDBOX_AUTO_PULL=true") });
  });

  it("the default image, when missing, points to stigmer sandbox build", async () => {
    const { byId } = await doctorJson({ STIGMER_SANDBOX_IMAGE: "ghcr.io/stigmer/agent-sandbox-full:latest" });
    const image = byId["sandbox-image"];
    // The test machine has only locally built stigmer-test images, but stay correct if it has this one.
    if (image?.status === "ok") expect(image.details).toMatchObject({ present: true });
    else expect(image).toMatchObject({ status: "warn", fix: expect.stringContaining("stigmer sandbox build --full") });
  });

  it("STIGMER_EXECUTION_MODE=bogus: config FAIL naming the variable and the accepted values, exit 1, no stack trace", async () => {
    const r = await runCli(["doctor"], { cwd: project.dir, env: { STIGMER_EXECUTION_MODE: "bogus" } });
    expect(r.exitCode).toBe(1);
    expect(line(r.stdout, "config")).toMatch(
      /^FAIL +config +STIGMER_EXECUTION_MODE=bogus is not valid: .*local, sandbox, auto.* — fix: Fix STIGMER_EXECUTION_MODE/,
    );
    expect(line(r.stdout, "node")).toMatch(/^ok /);
    for (const id of ["sandbox-backend", "sandbox-environment", "detector"]) expect(line(r.stdout, id)).toMatch(/^skip .*invalid/);
    expect(r.stdout + r.stderr).not.toMatch(/\n\s+at |StigmerError|InvalidConfigError/);
    const json = await doctorJson({ STIGMER_EXECUTION_MODE: "bogus" });
    expect(json.byId.config).toMatchObject({ status: "fail", details: { code: "INVALID_CONFIG", name: "STIGMER_EXECUTION_MODE" } });
  });

  it("a config file with an unknown key, given by --config: config FAIL naming the file and key", async () => {
    const file = `${project.dir}/bad.config.json`;
    writeTrusted(file, JSON.stringify({ mode: "local", sandbx: {} }));
    const r = await runCli(["doctor", "--config", file], { cwd: project.dir });
    expect(r.exitCode).toBe(1);
    expect(line(r.stdout, "config")).toMatch(
      /^FAIL +config +Config file .*bad\.config\.json: unknown key "sandbx".* — fix: Fix the config file/,
    );
  });

  it("MODE=cloud against Daytona (the imitation): sandbox-backend and daytona ok, the image is Daytona's business, the key never printed", async () => {
    const r = await runCli(["doctor"], {
      cwd: project.dir,
      env: { MODE: "cloud", DAYTONA_API_URL: imitation.apiUrl, DAYTONA_API_KEY: imitation.apiKey, DOCKER_HOST: "unix:///nonexistent.sock" },
    });
    expect(r.exitCode).toBe(0);
    expect(line(r.stdout, "config")).toMatch(/^ok +config +.*mode sandbox, sandbox backend daytona \(MODE=cloud\)/);
    expect(line(r.stdout, "sandbox-backend")).toMatch(/^ok +sandbox-backend +The Daytona API answers at .* and accepts the key\.$/);
    expect(line(r.stdout, "sandbox-backend")).toContain(imitation.apiUrl);
    expect(line(r.stdout, "daytona")).toMatch(/^ok +daytona +DAYTONA_API_KEY is set and the API at .* answers$/);
    expect(line(r.stdout, "sandbox-image")).toMatch(/^skip +sandbox-image +Daytona builds sandboxes/);
    expect(r.stdout + r.stderr).not.toContain(imitation.apiKey);
    // It asked the API, with the key as a bearer token.
    expect(imitation.requests.some((q) => q.route.startsWith("/sandbox") && q.headers.authorization === `Bearer ${imitation.apiKey}`)).toBe(
      true,
    );
  });

  it("MODE=cloud with a wrong key: FAIL whose fix says to check DAYTONA_API_KEY, exit 1, and the key never printed", async () => {
    const wrongKey = "dtn_doctor_wrong_key_4242";
    const r = await runCli(["doctor"], {
      cwd: project.dir,
      env: { MODE: "cloud", DAYTONA_API_URL: imitation.apiUrl, DAYTONA_API_KEY: wrongKey },
    });
    expect(r.exitCode).toBe(1);
    expect(line(r.stdout, "sandbox-backend")).toMatch(
      /^FAIL +sandbox-backend +Daytona rejected the API key .*401.* — fix: Check DAYTONA_API_KEY/,
    );
    expect(line(r.stdout, "daytona")).toMatch(/^FAIL +daytona +DAYTONA_API_KEY is set, but .* rejects it .* — fix: Check DAYTONA_API_KEY/);
    const json = await doctorJson({ MODE: "cloud", DAYTONA_API_URL: imitation.apiUrl, DAYTONA_API_KEY: wrongKey });
    expect(json.byId["sandbox-backend"]).toMatchObject({ status: "fail", fix: expect.stringContaining("DAYTONA_API_KEY") });
    expect(r.stdout + r.stderr + json.stdout + json.stderr).not.toContain(wrongKey);
  });

  it("MODE=cloud without a key: sandbox-backend FAIL saying to set DAYTONA_API_KEY; in local mode only a warning", async () => {
    const r = await runCli(["doctor"], { cwd: project.dir, env: { MODE: "cloud", DAYTONA_API_URL: imitation.apiUrl } });
    expect(r.exitCode).toBe(1);
    expect(line(r.stdout, "sandbox-backend")).toMatch(
      /^FAIL +sandbox-backend +Cloud mode needs a Daytona API key.* — fix: Set DAYTONA_API_KEY/,
    );
    const local = await doctorJson({ MODE: "cloud", STIGMER_EXECUTION_MODE: "local", DAYTONA_API_URL: imitation.apiUrl });
    expect(local.exitCode).toBe(0);
    expect(local.byId["sandbox-backend"]?.status).toBe("warn");
  });

  it("an unreachable Daytona API is bounded in time: FAIL pointing at DAYTONA_API_URL, well before the CLI's own limits", async () => {
    // A port nothing listens on: connection refused, which the SDK retries with backoff.
    const started = Date.now();
    const { exitCode, byId } = await doctorJson({
      MODE: "cloud",
      DAYTONA_API_URL: "http://127.0.0.1:1/api",
      DAYTONA_API_KEY: "dtn_unused_1",
    });
    expect(exitCode).toBe(1);
    expect(byId["sandbox-backend"]).toMatchObject({ status: "fail", fix: expect.stringContaining("DAYTONA_API_URL") });
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("--help describes the checks and exit statuses; a bad option is a usage error (exit 2)", async () => {
    const help = await runCli(["help", "doctor"], { cwd: project.dir });
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/^Usage: stigmer doctor \[--json\] \[--config FILE\]/);
    for (const id of IDS) expect(help.stdout).toContain(id);
    const bad = await runCli(["doctor", "--frobnicate"], { cwd: project.dir });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/^stigmer: INVALID_REQUEST: Unknown option --frobnicate/);
  });
});
