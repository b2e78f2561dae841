// A platform team's backend in its own package gets the standing of the built-in ones with no
// change to core: its settings from the environment and the config file (a bad value reads like a
// built-in one), its own `stigmer doctor` lines, its secret scrubbed from logs and errors. And a
// plugin written for another contract version is refused when it loads. Through the real CLI.
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { createExecutor, createLogger, ErrorCode, SPECIFICATION_VERSION } from "@stigmer/core";
import { stigmerErrorOf } from "@stigmer/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, tempProject, writeTrusted } from "./helpers.js";

const VAULT = "@acme/stigmer-backend-vault";
const FUTURE = "@acme/stigmer-backend-future";
const TOKEN = "vault-token-7f3a9c41";

const project = tempProject();
afterAll(() => project.cleanup());

beforeAll(() => {
  // Installed in the project as npm would: node_modules/@acme/<package>, found by package name.
  mkdirSync(join(project.dir, "node_modules", "@acme"), { recursive: true });
  symlinkSync(new URL("./fixtures/acme-vault-backend", import.meta.url).pathname, join(project.dir, "node_modules", VAULT));
  symlinkSync(new URL("./fixtures/future-contract-backend", import.meta.url).pathname, join(project.dir, "node_modules", FUTURE));
});

const vault = (env: Record<string, string> = {}) => ({
  STIGMER_SANDBOX_BACKEND: VAULT,
  ACME_VAULT_REGION: "us",
  ACME_VAULT_TOKEN: TOKEN,
  ...env,
});

type Check = { id: string; status: string; message: string; fix?: string };
async function doctor(env: Record<string, string>, cwd = project.dir) {
  const r = await runCli(["doctor", "--json"], { cwd, env });
  const checks = JSON.parse(r.stdout) as Check[];
  return { ...r, checks, byId: Object.fromEntries(checks.map((c) => [c.id, c])) as Record<string, Check> };
}

describe("a third-party backend package, selected by name", () => {
  it("runs commands with its settings from the environment", async () => {
    const r = await runCli(["run", "--mode=sandbox", "--", 'echo "$VAULT_REGION/$VAULT_POOL"'], { cwd: project.dir, env: vault() });
    expect(r).toMatchObject({ exitCode: 0, stdout: "us/default" });
  });

  it("reads its section of the config file; the environment wins", async () => {
    const dir = tempProject();
    try {
      mkdirSync(join(dir.dir, "node_modules"));
      symlinkSync(join(project.dir, "node_modules", "@acme"), join(dir.dir, "node_modules", "@acme"));
      writeTrusted(join(dir.dir, "stigmer.config.json"), JSON.stringify({ plugins: { [VAULT]: { region: "eu", pool: "team-a" } } }));
      const env = { STIGMER_SANDBOX_BACKEND: VAULT, ACME_VAULT_TOKEN: TOKEN };
      const fromFile = await runCli(["run", "--mode=sandbox", "--", 'echo "$VAULT_REGION/$VAULT_POOL"'], { cwd: dir.dir, env });
      expect(fromFile).toMatchObject({ exitCode: 0, stdout: "eu/team-a" });
      const envWins = await runCli(["run", "--mode=sandbox", "--", 'echo "$VAULT_REGION"'], {
        cwd: dir.dir,
        env: { ...env, ACME_VAULT_REGION: "us" },
      });
      expect(envWins.stdout).toBe("us");

      // A bad value in the file: INVALID_CONFIG (exit 2) naming the file and the key, as for core's own keys.
      writeTrusted(join(dir.dir, "stigmer.config.json"), JSON.stringify({ plugins: { [VAULT]: { pool: "Team A" } } }));
      const bad = await runCli(["run", "--mode=sandbox", "--", "true"], { cwd: dir.dir, env });
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toContain(
        `stigmer: INVALID_CONFIG: ${join(dir.dir, "stigmer.config.json")}: plugins["${VAULT}"].pool = Team A is not valid`,
      );
      const checked = await doctor(env, dir.dir);
      expect(checked.byId.config).toMatchObject({ status: "fail", message: expect.stringContaining(`plugins["${VAULT}"].pool`) });
    } finally {
      dir.cleanup();
    }
  });

  it("a bad environment value is INVALID_CONFIG naming the variable, when the plugin loads and in stigmer doctor", async () => {
    const run = await runCli(["run", "--mode=sandbox", "--", "true"], { cwd: project.dir, env: vault({ ACME_VAULT_REGION: "mars" }) });
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toBe("stigmer: INVALID_CONFIG: ACME_VAULT_REGION=mars is not valid: the vault region must be one of eu, us.");
    // Local mode does not load the sandbox backend; doctor checks every configured plugin's settings.
    const local = await runCli(["run", "--", "echo ok"], { cwd: project.dir, env: vault({ ACME_VAULT_MAX_SANDBOXES: "-3" }) });
    expect(local).toMatchObject({ exitCode: 0, stdout: "ok" });
    const r = await doctor(vault({ ACME_VAULT_MAX_SANDBOXES: "-3" }));
    expect(r.exitCode).toBe(1);
    expect(r.byId.config).toMatchObject({
      status: "fail",
      message: "ACME_VAULT_MAX_SANDBOXES=-3 is not valid: use a whole number, or 0 for no limit.",
      fix: expect.stringContaining("ACME_VAULT_MAX_SANDBOXES"),
    });
  });

  it("has its own stigmer doctor lines, with its secret scrubbed", async () => {
    const r = await doctor(vault({ STIGMER_EXECUTION_MODE: "sandbox" }));
    expect(r.stdout).not.toContain(TOKEN);
    expect(r.checks.map((c) => c.id)).toEqual([
      "node",
      "config",
      "sandbox-backend",
      "vault-region",
      "vault-token",
      "sandbox-environment",
      "detector",
    ]);
    expect(r.byId["sandbox-backend"]).toMatchObject({ status: "ok", message: "The vault in us accepts token [redacted]" });
    expect(r.byId["vault-region"]).toMatchObject({ status: "ok", message: "Region us, pool default, at most 4 sandboxes" });
    expect(r.byId["vault-token"]).toMatchObject({ status: "ok" });

    const text = await runCli(["doctor"], { cwd: project.dir, env: vault({ ACME_VAULT_TOKEN: "", STIGMER_EXECUTION_MODE: "sandbox" }) });
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toMatch(
      /^FAIL +vault-token +ACME_VAULT_TOKEN is not set — fix: Set ACME_VAULT_TOKEN to a token from the Acme Vault console\.$/m,
    );
    expect(text.stdout).toMatch(/^FAIL +sandbox-backend +The vault refuses requests without a token — fix: Set ACME_VAULT_TOKEN\.$/m);
  });

  it("its secret is scrubbed from the errors and the logs core reports", async () => {
    const r = await runCli(["run", "--mode=sandbox", "--", "leak-the-token"], {
      cwd: project.dir,
      env: vault({ STIGMER_LOG_LEVEL: "info" }),
    });
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain("stigmer: EXECUTION_FAILED: The vault refused token [redacted]: try again later.");
    const echoed = await runCli(["run", "--mode=sandbox", "--", `echo ${TOKEN} >/dev/null`], {
      cwd: project.dir,
      env: vault({ STIGMER_LOG_LEVEL: "info" }),
    });
    expect(echoed.exitCode).toBe(0);
    expect(echoed.stderr).toContain('"msg":"execution finished"');
    expect(`${r.stderr}${echoed.stderr}`).not.toContain(TOKEN);
  });
});

describe("the plugin contract version", () => {
  it(`a plugin written for another version is refused with PLUGIN_LOAD_FAILED naming both (core implements ${SPECIFICATION_VERSION})`, async () => {
    const r = await runCli(["run", "--mode=sandbox", "--", "true"], { cwd: project.dir, env: { STIGMER_SANDBOX_BACKEND: FUTURE } });
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toMatch(
      /^stigmer: PLUGIN_LOAD_FAILED: Plugin "@acme\/stigmer-backend-future" declares specificationVersion "v2", but this @stigmer\/core implements the plugin contract v1: /,
    );

    const previous = process.cwd();
    process.chdir(project.dir);
    try {
      await using ex = createExecutor({
        config: { env: { STIGMER_SANDBOX_BACKEND: FUTURE }, cwd: project.dir },
        logger: createLogger({ level: "silent" }),
      });
      const error = await stigmerErrorOf(ex.run({ command: "true", mode: "sandbox", cwd: project.dir }));
      expect(error.code).toBe(ErrorCode.PLUGIN_LOAD_FAILED);
      expect(error.details).toMatchObject({
        package: FUTURE,
        reason: "unsupported-version",
        specificationVersion: "v2",
        supported: ["v1"],
      });
      expect((globalThis as { __futureRegistered?: boolean }).__futureRegistered).toBe(false);
    } finally {
      process.chdir(previous);
    }
  });

  it("a plugin object without a version is refused the same way", async () => {
    const { default: local } = await import("@stigmer/backend-local");
    const { specificationVersion: _, ...unversioned } = local;
    await using ex = createExecutor({
      config: { env: {}, cwd: project.dir },
      logger: createLogger({ level: "silent" }),
      modules: { local: unversioned as never },
    });
    const error = await stigmerErrorOf(ex.run({ command: "true", cwd: project.dir }));
    expect(error.code).toBe(ErrorCode.PLUGIN_LOAD_FAILED);
    expect(error.details).toMatchObject({ reason: "unsupported-version", specificationVersion: null });
    expect(error.message).toContain("declares no specificationVersion");
    expect(error.message).toContain('specificationVersion: "v1"');
  });
});
