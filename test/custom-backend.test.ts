import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type BackendRequest,
  createExecutor,
  createLogger,
  ErrorCode,
  type ExecEvent,
  type PluginLoaderOptions,
  trustFiles,
} from "@stigmer/core";
import { stigmerErrorOf } from "@stigmer/core/testing";
import { afterAll, describe, expect, it } from "vitest";
import { tempProject, writeTrusted } from "./helpers.js";

// A platform team's backend, chosen by package name through configuration only: no `modules`,
// no import of the package in this file. It is resolved from here (test/ depends on it).
const SPAWN = "@example/stigmer-backend-spawn";

const project = tempProject();
afterAll(() => project.cleanup());

/** An executor configured like a deployment: environment variables, plus the config file in `cwd`. */
function executor(env: Record<string, string>, cwd = project.dir, resolveFrom: PluginLoaderOptions["resolveFrom"] = [import.meta.url]) {
  return createExecutor({ config: { env, cwd }, logger: createLogger({ level: "silent" }), resolveFrom });
}

const sandboxedBy = (backend: string) => ({ STIGMER_SANDBOX_BACKEND: backend, STIGMER_EXECUTION_MODE: "sandbox" });

describe("a platform team's backend, selected by configuration", () => {
  it("runs commands, and the start event names the backend", async () => {
    await using ex = executor(sandboxedBy(SPAWN));
    const events: ExecEvent[] = [];
    const result = await ex.run(
      { command: 'echo "$GREETING from $(pwd)"; echo err >&2', cwd: project.dir, env: { GREETING: "hello" } },
      { onEvent: (e) => void events.push(e) },
    );
    expect(events[0]).toMatchObject({ type: "start", mode: "sandbox", target: "sandbox", backend: SPAWN });
    expect(result).toMatchObject({
      exitCode: 0,
      target: "sandbox",
      backend: SPAWN,
      stdout: `hello from ${project.dir}\n`,
      stderr: "err\n",
    });
    expect((await ex.backend("sandbox")).name).toBe("spawn");
  });

  it("can be named in the config file instead, with its options in the plugins section", async () => {
    const dir = tempProject();
    try {
      const file = join(dir.dir, "stigmer.config.json");
      writeTrusted(file, JSON.stringify({ mode: "sandbox", sandbox: { backend: SPAWN }, plugins: { [SPAWN]: { shell: "/bin/bash" } } }));
      await using configured = executor({}, dir.dir);
      // `$0` is the shell the backend started: the `shell` option reached the class.
      expect((await configured.run({ command: 'echo "$0"', cwd: dir.dir })).stdout).toBe("/bin/bash\n");

      writeTrusted(file, JSON.stringify({ mode: "sandbox", sandbox: { backend: SPAWN } }));
      await using defaults = executor({}, dir.dir);
      expect((await defaults.run({ command: 'echo "$0"', cwd: dir.dir })).stdout).toBe("/bin/sh\n");

      writeTrusted(file, JSON.stringify({ mode: "sandbox", sandbox: { backend: SPAWN }, plugins: { [SPAWN]: { killGraceMs: "soon" } } }));
      await using invalid = executor({}, dir.dir);
      const error = await stigmerErrorOf(invalid.run({ command: "true", cwd: dir.dir }));
      expect(error.code).toBe(ErrorCode.INVALID_CONFIG);
      expect(error.message).toContain(`plugins["${SPAWN}"].killGraceMs`);
    } finally {
      dir.cleanup();
    }
  });

  it("takes its declared settings from the environment too, and the environment wins over the file", async () => {
    await using ex = executor({ ...sandboxedBy(SPAWN), SPAWN_BACKEND_SHELL: "/bin/bash" });
    expect((await ex.run({ command: 'echo "$0"', cwd: project.dir })).stdout).toBe("/bin/bash\n");
    await using bad = executor({ ...sandboxedBy(SPAWN), SPAWN_BACKEND_SHELL: "bash" });
    const error = await stigmerErrorOf(bad.run({ command: "true", cwd: project.dir }));
    expect(error.code).toBe(ErrorCode.INVALID_CONFIG);
    expect(error.message).toBe("SPAWN_BACKEND_SHELL=bash is not valid: use an absolute path such as /bin/bash.");
  });

  it("refuses stdin, which it does not declare, before running anything", async () => {
    await using ex = executor(sandboxedBy(SPAWN));
    const error = await stigmerErrorOf(ex.run({ command: "cat > stdin-ran.txt", cwd: project.dir, stdin: "x" }));
    expect(error.code).toBe(ErrorCode.CAPABILITY_UNSUPPORTED);
    expect(error.details).toMatchObject({ backend: SPAWN, missing: ["stdin"] });
    expect(existsSync(join(project.dir, "stdin-ran.txt"))).toBe(false);
  });

  it("is disposed with the executor", async () => {
    const ex = executor(sandboxedBy(SPAWN));
    const backend = await ex.backend("sandbox");
    await ex.dispose();
    const request: BackendRequest = {
      id: "after-dispose",
      command: "true",
      cwd: project.dir,
      env: {},
      signal: new AbortController().signal,
    };
    const error = await stigmerErrorOf(backend.exec(request, { write() {}, progress() {} }));
    expect(error.code).toBe(ErrorCode.BACKEND_UNAVAILABLE);
  });
});

describe("a misconfigured backend plugin", () => {
  it("that is not installed: PLUGIN_LOAD_FAILED saying to install it", async () => {
    await using ex = executor(sandboxedBy("@example/stigmer-backend-missing"));
    const error = await stigmerErrorOf(ex.run({ command: "true", cwd: project.dir }));
    expect(error.code).toBe(ErrorCode.PLUGIN_LOAD_FAILED);
    expect(error.details).toMatchObject({ package: "@example/stigmer-backend-missing", reason: "not-installed" });
    expect(error.message).toContain("is not installed");
    expect(error.message).toContain("pnpm add @example/stigmer-backend-missing");
  });

  it("whose default export is not a plugin object: PLUGIN_LOAD_FAILED (wrong-shape)", async () => {
    // The fixture is a real package found by name: resolving from its own folder finds it
    // through the package's self-reference (its name plus its exports map).
    const fixture = new URL("./fixtures/wrong-shape-backend/", import.meta.url);
    await using ex = executor(sandboxedBy("stigmer-fixture-wrong-shape"), project.dir, [fixture]);
    const error = await stigmerErrorOf(ex.run({ command: "true", cwd: project.dir }));
    expect(error.code).toBe(ErrorCode.PLUGIN_LOAD_FAILED);
    expect(error.details).toMatchObject({ package: "stigmer-fixture-wrong-shape", reason: "wrong-shape" });
    expect(error.message).toContain("does not export a Stigmer plugin");
  });

  it("that is a detector: PLUGIN_LOAD_FAILED (wrong-shape)", async () => {
    await using ex = executor(sandboxedBy("@stigmer/detector-rules"));
    const error = await stigmerErrorOf(ex.run({ command: "true", cwd: project.dir }));
    expect(error.code).toBe(ErrorCode.PLUGIN_LOAD_FAILED);
    expect(error.details).toMatchObject({ package: "@stigmer/detector-rules", reason: "wrong-shape" });
    expect(error.message).toContain("is a detector plugin, but it is configured as a backend");
  });
});

describe("plugins decorated by another copy of tsyringe, and plugins named by path", () => {
  const foreign = new URL("./fixtures/foreign-tsyringe-backend/index.js", import.meta.url).pathname;

  it("a plugin module inside the current directory loads only once trusted, and not again after it changed", async () => {
    const dir = tempProject();
    const previous = process.cwd();
    try {
      // The attack: a sandboxed command wrote a module into the project, and a config names it.
      const planted = join(dir.dir, "evil.mjs");
      writeFileSync(planted, "globalThis.__stigmerPlanted = true; export default {};");
      process.chdir(dir.dir);
      await using ex = executor(sandboxedBy("./evil.mjs"), dir.dir);
      const error = await stigmerErrorOf(ex.run({ command: "true", cwd: dir.dir }));
      expect(error.code).toBe(ErrorCode.UNTRUSTED_CONFIG);
      expect(error.message).toContain(`stigmer trust ${planted}`);
      expect((globalThis as { __stigmerPlanted?: boolean }).__stigmerPlanted).toBeUndefined();

      const copy = join(dir.dir, "spawn-copy.js");
      writeTrusted(copy, `export { default } from ${JSON.stringify(foreign)};`);
      writeFileSync(copy, `globalThis.__stigmerPlanted = true; export { default } from ${JSON.stringify(foreign)};`);
      await using changed = executor(sandboxedBy("./spawn-copy.js"), dir.dir);
      const again = await stigmerErrorOf(changed.run({ command: "true", cwd: dir.dir }));
      expect(again.code).toBe(ErrorCode.UNTRUSTED_CONFIG);
      expect(again.message).toContain("changed since you trusted it");
      expect((globalThis as { __stigmerPlanted?: boolean }).__stigmerPlanted).toBeUndefined();
    } finally {
      process.chdir(previous);
      dir.cleanup();
    }
  });

  it("is refused with PLUGIN_LOAD_FAILED saying to use core's decorators or a factory (core uses tsyringe's public API only)", async () => {
    const dir = tempProject();
    trustFiles([foreign]); // a module inside the current directory (the repository) loads once trusted
    try {
      await using ex = executor(sandboxedBy(foreign), dir.dir);
      const error = await stigmerErrorOf(ex.run({ command: "the-test", cwd: dir.dir }));
      expect(error.code).toBe(ErrorCode.PLUGIN_LOAD_FAILED);
      expect(error.details).toMatchObject({ reason: "setup-failed" });
      expect(error.message).toContain('import { inject, injectable } from "@stigmer/core"');
      expect(error.message).toContain("useFactory");
    } finally {
      dir.cleanup();
    }
  });

  it("a path that does not exist is PLUGIN_LOAD_FAILED saying so", async () => {
    await using ex = executor(sandboxedBy("./no/such/plugin.js"));
    const error = await stigmerErrorOf(ex.run({ command: "true", cwd: project.dir }));
    expect(error.code).toBe(ErrorCode.PLUGIN_LOAD_FAILED);
    expect(error.message).toContain("does not exist");
  });
});
