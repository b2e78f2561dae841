import { chmodSync, existsSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, describe, expect, it } from "vitest";
import { runCli, startCli, tempProject, waitFor } from "./helpers.js";

// Sandbox mode end to end through the real CLI and a real Docker engine (scripts/docker-setup.sh).
const docker = new Docker();
const BASIC = "stigmer-test/sandbox-basic:ci";
const BUSYBOX = "stigmer-test/busybox:1";
const project = tempProject();
chmodSync(project.dir, 0o755);
afterAll(() => project.cleanup());

const inWorkspace = (dir: string) => docker.listContainers({ all: true, filters: { label: [`dev.stigmer.workspace=${dir}`] } });
const sandboxEnv = (extra: Record<string, string> = {}) => ({ STIGMER_SANDBOX_IMAGE: BASIC, ...extra });

describe("stigmer run --mode=sandbox", () => {
  it("runs in the container with the project mounted at /workspace, streams, and exits with the command's code", async () => {
    const r = await runCli(
      ["run", "--mode=sandbox", "--", 'pwd; echo "$GREETING" > from-sandbox.txt; cat /etc/os-release | head -1; echo oops >&2; exit 5'],
      {
        cwd: project.dir,
        env: sandboxEnv(),
      },
    );
    expect(r.exitCode).toBe(5);
    expect(r.stdout).toMatch(/^\/workspace\nPRETTY_NAME="Debian/);
    expect(r.stderr).toContain("oops");
    expect(await inWorkspace(project.dir)).toEqual([]); // cleanup on by default: removed at exit
  }, 120_000);

  it("--sandbox-image overrides the image per command, and --env reaches the container", async () => {
    const r = await runCli(
      ["run", "--mode=sandbox", "--sandbox-image", BUSYBOX, "--env", "X=from-cli", "--", 'echo "$X"; command -v python3 || echo no-python'],
      {
        cwd: project.dir,
        env: sandboxEnv(),
      },
    );
    expect(r.stdout).toBe("from-cli\nno-python");
  }, 120_000);

  it("--timeout kills the tree inside the container, exits 124, and removes the container", async () => {
    const r = await runCli(["run", "--mode=sandbox", "--timeout", "5", "--", "sh -c 'sleep 300 & sleep 300; wait'"], {
      cwd: project.dir,
      env: sandboxEnv(),
    });
    expect(r.exitCode).toBe(124);
    expect(await inWorkspace(project.dir)).toEqual([]);
  }, 120_000);

  it("SIGTERM stops the command, removes the container, and exits 143", async () => {
    const dir = tempProject();
    try {
      const { child, seen } = startCli(["run", "--mode=sandbox", "--", "echo started; sleep 300"], { env: sandboxEnv(), cwd: dir.dir });
      await seen("started");
      expect(await inWorkspace(dir.dir)).toHaveLength(1);
      child.kill("SIGTERM");
      expect((await child).exitCode).toBe(143);
      expect(await inWorkspace(dir.dir)).toEqual([]);
    } finally {
      dir.cleanup();
    }
  }, 120_000);

  it("after kill -9 of stigmer, the orphaned container is reaped by the next run (cleanup on)", async () => {
    const dir = tempProject();
    try {
      const { child, seen } = startCli(["run", "--mode=sandbox", "--", "echo started; sleep 300"], {
        env: sandboxEnv({ STIGMER_SANDBOX_TTL: "600" }),
        cwd: dir.dir,
      });
      await seen("started");
      child.kill("SIGKILL");
      await child;
      const [orphan] = await inWorkspace(dir.dir);
      expect(orphan?.State).toBe("running");
      const next = await runCli(["run", "--mode=sandbox", "--", "true"], { cwd: project.dir, env: sandboxEnv() });
      expect(next.exitCode).toBe(0);
      await waitFor(async () => (await inWorkspace(dir.dir)).length === 0, 10_000, "the reaper to remove the orphan");
    } finally {
      dir.cleanup();
    }
  }, 120_000);

  it("after kill -9, an orphan nobody reaps still disappears after one TTL", async () => {
    const dir = tempProject();
    try {
      const { child, seen } = startCli(["run", "--mode=sandbox", "--", "echo started; sleep 300"], {
        env: sandboxEnv({ STIGMER_SANDBOX_TTL: "2" }),
        cwd: dir.dir,
      });
      await seen("started");
      child.kill("SIGKILL");
      await child;
      expect(await inWorkspace(dir.dir)).toHaveLength(1);
      await waitFor(async () => (await inWorkspace(dir.dir)).length === 0, 20_000, "the orphan to expire");
    } finally {
      dir.cleanup();
    }
  }, 120_000);

  it("STIGMER_SANDBOX_CLEANUP=false keeps the container for inspection; stigmer sandbox ls shows it, prune keeps it, rm removes it", async () => {
    const env = sandboxEnv({ STIGMER_SANDBOX_CLEANUP: "false" });
    const r = await runCli(["run", "--mode=sandbox", "--", "echo kept > /tmp/x"], { cwd: project.dir, env });
    expect(r.exitCode).toBe(0);
    const [kept] = await inWorkspace(project.dir);
    expect(kept?.State).toBe("running");
    const again = await runCli(["run", "--mode=sandbox", "--", "cat /tmp/x"], { cwd: project.dir, env });
    expect(again.stdout).toBe("kept");
    const ls = await runCli(["sandbox", "ls", "--json"], { cwd: project.dir, env });
    const rows = JSON.parse(ls.stdout) as Array<{ name: string; workspace: string; state: string; expiresAt: string }>;
    const row = rows.find((x) => x.workspace === project.dir);
    expect(row).toMatchObject({ state: "running", name: (kept?.Names[0] ?? "").slice(1) });
    expect(Date.parse(row?.expiresAt ?? "")).toBeGreaterThan(Date.now());
    const human = await runCli(["sandbox", "ls"], { cwd: project.dir, env });
    expect(human.stdout).toMatch(/^NAME\s+STATE\s+IMAGE/);
    // Kept sandboxes are not leftovers: prune leaves them; rm removes one by name.
    const prune = await runCli(["sandbox", "prune"], { cwd: project.dir, env });
    expect(prune.stdout).not.toContain(row?.name);
    expect(await inWorkspace(project.dir)).toHaveLength(1);
    const rm = await runCli(["sandbox", "rm", row?.name as string], { cwd: project.dir, env });
    expect(rm.stdout).toBe(`removed ${row?.name}`);
    expect(await inWorkspace(project.dir)).toEqual([]);
  }, 120_000);

  it("a missing image with auto-pull off exits 125 with IMAGE_NOT_FOUND", async () => {
    const r = await runCli(["run", "--mode=sandbox", "--", "true"], {
      cwd: project.dir,
      env: sandboxEnv({ STIGMER_SANDBOX_IMAGE: "stigmer-test/never-built:1", STIGMER_SANDBOX_AUTO_PULL: "false" }),
    });
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toMatch(/^stigmer: IMAGE_NOT_FOUND: .*docker pull stigmer-test\/never-built:1/m);
  }, 60_000);

  it("an unreachable engine exits 125 with BACKEND_UNAVAILABLE naming DOCKER_HOST, and never runs on the host", async () => {
    const r = await runCli(["run", "--mode=sandbox", "--", "touch ran-on-host"], {
      cwd: project.dir,
      env: sandboxEnv({ DOCKER_HOST: "tcp://127.0.0.1:1" }),
    });
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toMatch(/^stigmer: BACKEND_UNAVAILABLE: Cannot reach the Docker engine at tcp:\/\/127\.0\.0\.1:1/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(project.dir, "ran-on-host"))).toBe(false);
  }, 60_000);

  it("DOCKER_HOST=tcp:// is honoured (through a TCP proxy to the engine's socket)", async () => {
    const { createServer, connect } = await import("node:net");
    const server = createServer((client) => {
      const engine = connect("/var/run/docker.sock");
      client.pipe(engine).pipe(client);
      client.on("error", () => engine.destroy());
      engine.on("error", () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await runCli(["run", "--mode=sandbox", "--", "echo via-tcp"], {
        cwd: project.dir,
        env: sandboxEnv({ DOCKER_HOST: `tcp://127.0.0.1:${port}` }),
      });
      expect(r.stdout).toBe("via-tcp");
    } finally {
      server.close();
    }
  }, 120_000);
});
