import { existsSync } from "node:fs";
import { join } from "node:path";
import local from "@stigmer/backend-local";
import { createExecutor, ErrorCode, type ExecEvent, resolveConfig, StigmerError, trustFiles } from "@stigmer/core";
import { runDetectorConformance } from "@stigmer/core/testing";
import rules from "@stigmer/detector-rules";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capturingLogger, runCli, silentLogger, tempProject, writeTrusted } from "./helpers.js";

const project = tempProject();
afterAll(() => project.cleanup());
const ALLOWLIST = new URL("./fixtures/allowlist-detector/index.js", import.meta.url).pathname;
// The fixture lies inside the current directory (the repository): trusted, as its user would.
trustFiles([ALLOWLIST]);

describe("auto mode end to end through the CLI (real detector, real Docker sandbox)", () => {
  it("pip install goes to the sandbox: the start event names the rule, and it runs in the container", async () => {
    const r = await runCli(["run", "--mode=auto", "--json", "--", "pip install --no-index requests; hostname"], {
      cwd: project.dir,
      env: { STIGMER_SANDBOX_IMAGE: "stigmer-test/sandbox-basic:ci" },
    });
    const events = r.stdout.split("\n").map((l) => JSON.parse(l) as ExecEvent & Record<string, unknown>);
    expect(events[0]).toMatchObject({
      type: "start",
      mode: "auto",
      target: "sandbox",
      backend: "docker",
      decision: { target: "sandbox", rules: ["pkg.install"] },
    });
    expect(String((events[0] as { decision: { reason: string } }).decision.reason)).toContain("pip install");
    expect(events.at(-1)).toMatchObject({ type: "exit" });
  }, 120_000);

  it("ls -la runs on the host, and the log line says which mode was chosen and why", async () => {
    const r = await runCli(["run", "--mode=auto", "--log-level", "info", "--", "ls -la"], { cwd: project.dir });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("total");
    const log = JSON.parse(r.stderr.trim().split("\n").at(-1) as string);
    expect(log).toMatchObject({ mode: "auto", target: "local", backend: "local", rules: ["local.read"] });
    expect(log.reason).toMatch(/^Local: /);
  }, 60_000);

  it("a sandbox-classified command with no sandbox backend is never run on the host", async () => {
    const r = await runCli(["run", "--mode=auto", "--", `touch ${join(project.dir, "must-not-exist")}; sudo true`], {
      cwd: project.dir,
      env: { STIGMER_SANDBOX_BACKEND: "@acme/stigmer-sandbox-not-installed" },
    });
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toMatch(/^stigmer: PLUGIN_LOAD_FAILED: Plugin package "@acme\/stigmer-sandbox-not-installed" is not installed/);
    expect(existsSync(join(project.dir, "must-not-exist"))).toBe(false);
  }, 60_000);

  it("stigmer detect prints the decision readably, as JSON, and in bulk", async () => {
    const human = await runCli(["detect", "--", "curl -fsSL https://get.example.com | sh"]);
    expect(human.stdout).toMatch(/^sandbox {2}\[download\.execute\]\n {2}Sandbox: /);
    const json = JSON.parse((await runCli(["detect", "--json", "--", "git status"])).stdout);
    expect(json).toMatchObject({ mode: "local", rules: ["local.read"] });
    const bulk = await runCli(["detect", "--jsonl"], { input: ['{"command":"npm ci"}', '{"command":"npm test"}'].join("\n") });
    expect(bulk.stdout.split("\n").map((l) => JSON.parse(l).mode)).toEqual(["sandbox", "local"]);
  }, 60_000);
});

describe("user rules (config file plugins.rules)", () => {
  const dir = tempProject();
  afterAll(() => dir.cleanup());
  beforeAll(() => {
    writeTrusted(
      join(dir.dir, "stigmer.config.json"),
      JSON.stringify({
        plugins: {
          rules: {
            deny: [
              {
                id: "no-make-deploy",
                description: "make deploy touches production",
                match: { commands: ["make"], subcommands: ["deploy"] },
              },
            ],
            allow: [
              {
                id: "compose-up",
                description: "our compose stack is for development",
                match: { commands: ["docker"], subcommands: ["compose up", "compose down"] },
              },
              { id: "make-anything", description: "make is fine", match: { commands: ["make"] } },
            ],
          },
        },
      }),
    );
  });
  const executor = () =>
    createExecutor({ config: resolveConfig({ env: {}, cwd: dir.dir }), logger: silentLogger(), modules: { local, rules } });

  it("an allow rule runs a command locally that the built-in rules would sandbox", async () => {
    const ex = executor();
    expect(await ex.detect("docker compose up -d", { cwd: dir.dir })).toMatchObject({ target: "local", rules: ["user.allow.compose-up"] });
    expect((await ex.detect("docker run ubuntu", { cwd: dir.dir })).target).toBe("sandbox");
    await ex.dispose();
  });

  it("deny wins over allow", async () => {
    const ex = executor();
    expect(await ex.detect("make deploy", { cwd: dir.dir })).toMatchObject({ target: "sandbox", rules: ["user.deny.no-make-deploy"] });
    expect((await ex.detect("make test", { cwd: dir.dir })).target).toBe("local");
    await ex.dispose();
  });

  it("an allowed command does not hide a risky partner on the same line", async () => {
    const ex = executor();
    expect((await ex.detect("docker compose up -d && sudo reboot", { cwd: dir.dir })).target).toBe("sandbox");
    await ex.dispose();
  });

  it("a malformed user rule is INVALID_CONFIG naming it", async () => {
    const bad = tempProject();
    writeTrusted(
      join(bad.dir, "stigmer.config.json"),
      JSON.stringify({ plugins: { rules: { deny: [{ id: "x", match: { commands: [] } }] } } }),
    );
    const ex = createExecutor({ config: resolveConfig({ env: {}, cwd: bad.dir }), logger: silentLogger(), modules: { local, rules } });
    const error = await ex.detect("ls").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(StigmerError.isInstance(error) && error.code).toBe(ErrorCode.INVALID_CONFIG);
    expect(String((error as Error).message)).toContain("plugins.rules.deny[0]");
    await ex.dispose();
    bad.cleanup();
  });
});

describe("a swapped-in detector, loaded by STIGMER_DETECTOR", () => {
  it("replaces the rules detector for auto mode and detect", async () => {
    const { logger, lines } = capturingLogger();
    const ex = createExecutor({
      config: resolveConfig({ env: { STIGMER_DETECTOR: ALLOWLIST }, cwd: project.dir }),
      logger,
      modules: { local },
    });
    expect(await ex.detect("ls -la")).toMatchObject({ target: "local", rules: ["allowlist.exact"] });
    const events: ExecEvent[] = [];
    await ex.run({ command: "pwd", mode: "auto", cwd: project.dir }, { onEvent: (e) => void events.push(e) });
    expect(events[0]).toMatchObject({ target: "local", decision: { rules: ["allowlist.exact"] } });
    await ex.dispose();
    expect(lines.find((l) => l.msg === "execution finished")).toMatchObject({ rules: ["allowlist.exact"] });
    const cli = await runCli(["detect", "--json", "--", "cat README.md"], { env: { STIGMER_DETECTOR: ALLOWLIST } });
    expect(JSON.parse(cli.stdout)).toMatchObject({ mode: "sandbox", rules: ["allowlist.other"] });
  });
});

runDetectorConformance({
  name: "allowlist fixture (loaded by path)",
  create: async () => {
    const mod = (await import(ALLOWLIST)) as {
      default: { register(c: { register(t: symbol, p: { useClass: new () => unknown }): void }): void };
    };
    let Class: (new () => unknown) | undefined;
    mod.default.register({
      register: (_t, p) => {
        Class = p.useClass;
      },
    });
    return new (Class as new () => never)();
  },
  test: { describe, it, beforeAll, afterAll },
});
