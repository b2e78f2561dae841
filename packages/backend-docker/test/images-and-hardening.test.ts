import { randomBytes } from "node:crypto";
import { chmodSync } from "node:fs";
import { ErrorCode, type ProgressInfo } from "@stigmer/core";
import { stigmerErrorOf } from "@stigmer/core/testing";
import { describe, expect, it } from "vitest";
import { PACKAGE_MANAGER_CAPABILITIES } from "../src/docker-options.js";
import { AGENT_IMAGE, backend, containersFor, docker, EXEC_IMAGE, projectsWithLeakCheck, run } from "./helpers.js";

const newProject = projectsWithLeakCheck();

/** Pushes the busybox test image to the local registry (scripts/docker-setup.sh runs it) under a fresh name, then deletes the local copy. */
async function pushedImage(): Promise<string> {
  const name = `localhost:5000/stigmer-test/pullable-${randomBytes(3).toString("hex")}:1`;
  const [repo, tag] = [name.slice(0, name.lastIndexOf(":")), "1"];
  await docker.getImage(EXEC_IMAGE).tag({ repo, tag });
  // The engine insists on an X-Registry-Auth header, even for a registry without authentication.
  const stream = await docker.getImage(name).push({ authconfig: { username: "", password: "", serveraddress: "localhost:5000" } });
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null, events: Array<{ error?: string }>) => {
      const failed = events.find((e) => e.error);
      if (error || failed) reject(error ?? new Error(failed?.error));
      else resolve();
    }),
  );
  await docker.getImage(name).remove();
  return name;
}

describe("images", () => {
  it("pulls a missing image from a registry with per-layer progress when auto-pull is on", async () => {
    const image = await pushedImage();
    const b = backend({ STIGMER_SANDBOX_IMAGE: image });
    const progress: ProgressInfo[] = [];
    const { result, events } = await run(b, { command: "echo pulled-and-ran", cwd: newProject() });
    for (const e of events) if (e.type === "progress") progress.push(e);
    expect(result.stdout).toBe("pulled-and-ran\n");
    expect(progress.some((p) => p.phase === "pull" && p.item !== undefined)).toBe(true);
    expect(progress.some((p) => p.phase === "pull" && /pulled/.test(p.message))).toBe(true);
    await b.dispose();
    await docker.getImage(image).remove({ force: true });
  }, 120_000);

  it("a missing image with auto-pull off is IMAGE_NOT_FOUND saying how to get it", async () => {
    const image = await pushedImage();
    const b = backend({ STIGMER_SANDBOX_IMAGE: image, STIGMER_SANDBOX_AUTO_PULL: "false" });
    const error = await stigmerErrorOf(run(b, { command: "true", cwd: newProject() }));
    expect(error.code).toBe(ErrorCode.IMAGE_NOT_FOUND);
    expect(error.message).toContain(`docker pull ${image}`);
    expect(error.message).toContain("STIGMER_SANDBOX_AUTO_PULL=false");
    await expect(docker.getImage(image).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await b.dispose();
  }, 120_000);

  it("an image no registry has is IMAGE_NOT_FOUND after the failed pull", async () => {
    const b = backend({ STIGMER_SANDBOX_IMAGE: "localhost:5000/stigmer-test/does-not-exist:1" });
    const error = await stigmerErrorOf(run(b, { command: "true", cwd: newProject() }));
    expect(error.code).toBe(ErrorCode.IMAGE_NOT_FOUND);
    expect(error.message).toContain("pulling it failed");
    expect(error.message).toContain("stigmer sandbox build");
    await b.dispose();
  }, 60_000);

  it("the request's image overrides the configured one", async () => {
    const b = backend({ STIGMER_SANDBOX_IMAGE: AGENT_IMAGE });
    const { result } = await run(b, { command: "command -v python3 || echo no-python", cwd: newProject(), image: EXEC_IMAGE });
    expect(result.stdout).toBe("no-python\n");
    await b.dispose();
  }, 60_000);
});

describe("hardening", () => {
  it("drops privileges by default: no privileged mode, only package-manager capabilities, no-new-privileges, limits", async () => {
    const b = backend({ STIGMER_SANDBOX_MEMORY: "1g", STIGMER_SANDBOX_CPUS: "1.5", STIGMER_SANDBOX_PIDS_LIMIT: "300" });
    const dir = newProject();
    const { result } = await run(b, { command: "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; id -u", cwd: dir });
    const [container] = await containersFor(dir);
    const info = await docker.getContainer(container?.Id as string).inspect();
    expect(info.HostConfig.Privileged).toBe(false);
    expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(info.HostConfig.CapAdd).toEqual(PACKAGE_MANAGER_CAPABILITIES);
    expect(info.HostConfig.SecurityOpt).toEqual(["no-new-privileges:true"]);
    expect(info.HostConfig.Memory).toBe(1024 ** 3);
    expect(info.HostConfig.NanoCpus).toBe(1.5e9);
    expect(info.HostConfig.PidsLimit).toBe(300);
    expect(info.HostConfig.NetworkMode).toBe("bridge");
    expect(result.stdout).toMatch(/NoNewPrivs:\s+1/);
    // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID NET_BIND_SERVICE = bits 0 1 3 4 5 6 7 10
    expect(result.stdout).toMatch(/CapEff:\s+0+4fb\n/);
    await b.dispose();
  }, 60_000);

  it("a fork bomb stops at the pids limit instead of taking the host down", async () => {
    const b = backend({ STIGMER_SANDBOX_PIDS_LIMIT: "64" });
    const { result } = await run(b, {
      command: "for i in $(seq 1 200); do sleep 5 & done 2>&1 | head -1; echo survived",
      cwd: newProject(),
      timeoutMs: 30_000,
    });
    expect(result.stdout).toContain("survived");
    expect(result.stdout + result.stderr).toMatch(/fork|Resource temporarily unavailable/);
    await b.dispose();
  }, 60_000);

  it("STIGMER_SANDBOX_NETWORK=none leaves only the loopback interface", async () => {
    const b = backend({ STIGMER_SANDBOX_NETWORK: "none" });
    const { result } = await run(b, { command: "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '", cwd: newProject() });
    expect(result.stdout.trim().split("\n")).toEqual(["lo"]);
    await b.dispose();
  }, 60_000);

  it("each default can be relaxed in plugins.docker, and commands can run as another user", async () => {
    const b = backend({}, { user: "1234:1234", capAdd: ["CHOWN"], noNewPrivileges: false });
    const dir = newProject();
    chmodSync(dir, 0o755);
    const { result } = await run(b, { command: 'id -u; id -g; echo "$HOME"', cwd: dir });
    expect(result.stdout).toBe("1234\n1234\n/tmp\n");
    const [container] = await containersFor(dir);
    const info = await docker.getContainer(container?.Id as string).inspect();
    expect(info.HostConfig.CapAdd).toEqual(["CHOWN", "SETUID", "SETGID"]);
    expect(info.HostConfig.SecurityOpt ?? []).toEqual([]);
    await b.dispose();
  }, 60_000);

  it("bad plugin options are INVALID_CONFIG naming the key", () => {
    expect(() => backend({}, { user: "root; rm -rf /" })).toThrow(/plugins\.docker\.user/);
    expect(() => backend({}, { priviledged: true })).toThrow(/unknown option/);
  });
});
