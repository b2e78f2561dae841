import { ErrorCode } from "@stigmer/core";
import { stigmerErrorOf } from "@stigmer/core/testing";
import { describe, expect, it } from "vitest";
import { AGENT_IMAGE, backend, containersFor, docker, EXEC_IMAGE, projectsWithLeakCheck, run, waitFor } from "./helpers.js";

const newProject = projectsWithLeakCheck();

describe.each([
  ["agent", AGENT_IMAGE],
  ["exec", EXEC_IMAGE],
])("container lifecycle (%s path)", (_path, image) => {
  it("reuses one container per project directory, a second directory gets its own", async () => {
    const b = backend({ STIGMER_SANDBOX_IMAGE: image });
    const a = newProject();
    const other = newProject();
    const first = await run(b, { command: "hostname", cwd: a });
    const second = await run(b, { command: "hostname", cwd: a });
    const third = await run(b, { command: "hostname", cwd: other });
    expect(second.result.stdout).toBe(first.result.stdout);
    expect(third.result.stdout).not.toBe(first.result.stdout);
    expect(await containersFor(a)).toHaveLength(1);
    await b.dispose();
    expect(await containersFor(a)).toHaveLength(0);
    expect(await containersFor(other)).toHaveLength(0);
  }, 60_000);

  it("removes a container idle longer than the TTL, and the next command gets a fresh one", async () => {
    const b = backend({ STIGMER_SANDBOX_IMAGE: image, STIGMER_SANDBOX_TTL: "1" });
    const dir = newProject();
    const first = await run(b, { command: "hostname", cwd: dir });
    await waitFor(async () => (await containersFor(dir)).length === 0, 10_000, "the idle container to go");
    const second = await run(b, { command: "hostname", cwd: dir });
    expect(second.result.stdout).not.toBe(first.result.stdout);
    await b.dispose();
  }, 60_000);

  it("a long command outlives the TTL: busy sandboxes do not expire", async () => {
    const b = backend({ STIGMER_SANDBOX_IMAGE: image, STIGMER_SANDBOX_TTL: "1" });
    const dir = newProject();
    const { result } = await run(b, { command: "sleep 3; echo survived", cwd: dir });
    expect(result.stdout).toBe("survived\n");
    await b.dispose();
  }, 60_000);

  it("with cleanup off, dispose leaves the container, a later backend reuses it, and it expires by itself", async () => {
    const dir = newProject();
    const env = { STIGMER_SANDBOX_IMAGE: image, STIGMER_SANDBOX_CLEANUP: "false", STIGMER_SANDBOX_TTL: "3" };
    const first = backend(env);
    const before = await run(first, { command: "hostname; echo kept > /tmp/marker", cwd: dir });
    await first.dispose();
    expect(await containersFor(dir)).toHaveLength(1);
    const second = backend(env);
    const after = await run(second, { command: "hostname; cat /tmp/marker", cwd: dir });
    expect(after.result.stdout).toBe(`${before.result.stdout.trim()}\nkept\n`);
    await second.dispose();
    // Nobody touches the heartbeat now: the keeper exits after the TTL and Docker removes the container.
    await waitFor(async () => (await containersFor(dir)).length === 0, 15_000, "the abandoned container to expire");
  }, 60_000);
});

describe("sandbox failures", () => {
  it("a container killed from outside mid-command: EXECUTION_FAILED, then a fresh container", async () => {
    const b = backend();
    const dir = newProject();
    const first = await run(b, { command: "hostname", cwd: dir });
    const [container] = await containersFor(dir);
    const running = stigmerErrorOf(run(b, { command: "echo started; sleep 30", cwd: dir }));
    await new Promise((r) => setTimeout(r, 700));
    await docker.getContainer(container?.Id as string).kill();
    const error = await running;
    expect(error.code).toBe(ErrorCode.EXECUTION_FAILED);
    expect(error.message).toContain("stopped while the command was running");
    const next = await run(b, { command: "hostname", cwd: dir });
    expect(next.result.exitCode).toBe(0);
    expect(next.result.stdout).not.toBe(first.result.stdout);
    await b.dispose();
  }, 60_000);

  it.each([
    ["agent", AGENT_IMAGE],
    ["exec", EXEC_IMAGE],
  ])(
    "a container gone between commands (%s path; as after an engine restart) is recreated transparently",
    async (_path, image) => {
      const b = backend({ STIGMER_SANDBOX_IMAGE: image });
      const dir = newProject();
      const first = await run(b, { command: "hostname", cwd: dir });
      const [container] = await containersFor(dir);
      await docker.getContainer(container?.Id as string).remove({ force: true });
      const second = await run(b, { command: "hostname; echo ok", cwd: dir });
      expect(second.result.exitCode).toBe(0);
      expect(second.result.stdout).toMatch(/ok\n$/);
      expect(second.result.stdout).not.toBe(first.result.stdout);
      await b.dispose();
    },
    60_000,
  );

  it("an unreachable engine is BACKEND_UNAVAILABLE naming the socket and what to do", async () => {
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = "unix:///tmp/stigmer-no-such-docker.sock";
    try {
      const b = backend();
      const error = await stigmerErrorOf(run(b, { command: "true", cwd: newProject() }));
      expect(error.code).toBe(ErrorCode.BACKEND_UNAVAILABLE);
      expect(error.message).toContain("unix:///tmp/stigmer-no-such-docker.sock");
      expect(error.message).toContain("DOCKER_HOST");
      expect((await b.health()).ok).toBe(false);
      await b.dispose();
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });
});
