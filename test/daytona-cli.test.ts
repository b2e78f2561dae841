// `MODE=cloud stigmer run` end to end: the built CLI as a real process, the real @daytonaio/sdk,
// the local Daytona imitation over real HTTP and WebSockets.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DaytonaImitation, startDaytonaImitation } from "./daytona-imitation/index.mjs";
import { runCli, tempProject } from "./helpers.js";

let imitation: DaytonaImitation;
const project = tempProject();

beforeAll(async () => {
  imitation = await startDaytonaImitation({ transitionMs: 20 });
});
afterAll(async () => {
  const ids = new Set(imitation?.requests.flatMap((q) => /^\/toolbox\/([^/]+)\//.exec(q.path)?.[1] ?? []));
  await imitation?.close();
  project.cleanup();
  // The imitation's sandboxes share the host's /tmp, where core's sync scripts keep their state.
  for (const id of ids)
    rmSync(join("/tmp/.stigmer-sync", createHash("sha256").update(id).digest("hex").slice(0, 16)), { recursive: true, force: true });
});

const cloud = () => ({ MODE: "cloud", DAYTONA_API_KEY: imitation.apiKey, DAYTONA_API_URL: imitation.apiUrl });

describe("MODE=cloud stigmer run", () => {
  it("runs the command in a Daytona sandbox (sandbox mode by default), streams both streams, mirrors the exit code, and cleans up", async () => {
    const before = imitation.sandboxes().filter((s) => s.state !== "destroyed" && s.state !== "destroying").length;
    const r = await runCli(["run", "--", 'echo "out $(whoami)-$HOME"; echo err >&2; exit 3'], { cwd: project.dir, env: cloud() });
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toMatch(/^out .+-.*\/home\/daytona$/);
    expect(r.stderr).toMatch(/(^|\n)err$/);
    expect(r.stderr).toContain("Creating a Daytona sandbox");
    const made = imitation.requests.filter((q) => q.method === "POST" && q.route === "/sandbox");
    expect(made.length).toBeGreaterThanOrEqual(1);
    // Every request carried the key as a bearer token; the default cleanup deleted the sandbox.
    expect(
      imitation.requests
        .filter((q) => q.route.startsWith("/sandbox"))
        .every((q) => q.headers.authorization === `Bearer ${imitation.apiKey}`),
    ).toBe(true);
    await expect.poll(() => imitation.sandboxes().filter((s) => s.state !== "destroyed").length, { timeout: 5000 }).toBe(before);
  }, 60_000);

  it("--json shows the sandbox target and the daytona backend; --mode=local still runs on the host without Daytona", async () => {
    const json = await runCli(["run", "--json", "--", "echo hi"], { cwd: project.dir, env: cloud() });
    const events = json.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ type: "start", mode: "sandbox", target: "sandbox", backend: "daytona" });
    expect(events.at(-1)).toMatchObject({ type: "exit", exitCode: 0 });
    const requestsBefore = imitation.requests.length;
    const local = await runCli(["run", "--mode=local", "--", "echo $HOME"], { cwd: project.dir, env: { ...cloud(), HOME: "/host-home" } });
    expect(local).toMatchObject({ exitCode: 0, stdout: "/host-home" });
    expect(imitation.requests.length).toBe(requestsBefore);
  }, 60_000);

  it("without DAYTONA_API_KEY: exit 2, INVALID_CONFIG saying what to set; a rejected key: exit 125 without the key in the output", async () => {
    const missing = await runCli(["run", "--", "true"], { cwd: project.dir, env: { MODE: "cloud", DAYTONA_API_URL: imitation.apiUrl } });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/^stigmer: INVALID_CONFIG: .*set DAYTONA_API_KEY/);
    const wrong = await runCli(["run", "--", "true"], { cwd: project.dir, env: { ...cloud(), DAYTONA_API_KEY: "dtn_not_the_key_987" } });
    expect(wrong.exitCode).toBe(125);
    expect(wrong.stderr).toMatch(/^stigmer: BACKEND_UNAVAILABLE: Daytona rejected the API key/);
    expect(wrong.stderr + wrong.stdout).not.toContain("dtn_not_the_key_987");
    expect(wrong.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  }, 60_000);

  it("--mode=auto sends `pip install -r requirements.txt` to the sandbox, which sees the project's files; what it writes comes back, what it may not is reported", async () => {
    const p = tempProject();
    try {
      writeFileSync(join(p.dir, "requirements.txt"), "requests==2.32.3\nflask>=3\n");
      mkdirSync(join(p.dir, "bin"));
      // Stands in for pip (no network here): reads the requirements file, as pip would, and records it.
      writeFileSync(
        join(p.dir, "bin/pip"),
        '#!/bin/sh\n[ "$1 $2" = "install -r" ] || exit 2\nwhile IFS= read -r req; do echo "Collecting $req"; done < "$3"\necho "$3" > .installed\necho \'{}\' > stigmer.config.json\n',
        { mode: 0o755 },
      );
      const r = await runCli(["run", "--json", "--mode=auto", "--", 'PATH="$PWD/bin:$PATH" pip install -r requirements.txt'], {
        cwd: p.dir,
        env: cloud(),
      });
      const events = r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(events[0]).toMatchObject({ type: "start", mode: "auto", target: "sandbox", backend: "daytona" });
      expect(events[0].decision.rules).toContain("pkg.install");
      const stdout = events.filter((e) => e.type === "stdout").map((e) => e.data);
      expect(stdout.join("")).toBe("Collecting requests==2.32.3\nCollecting flask>=3\n");
      const exit = events.at(-1);
      expect(exit).toMatchObject({ type: "exit", exitCode: 0 });
      expect(exit.workspace.applied).toBeGreaterThanOrEqual(1);
      expect(exit.workspace.refused).toEqual([
        { path: "stigmer.config.json", reason: expect.stringMatching(/Stigmer's own configuration/) },
      ]);
      expect(readFileSync(join(p.dir, ".installed"), "utf8")).toBe("requirements.txt\n");
      expect(existsSync(join(p.dir, "stigmer.config.json"))).toBe(false);

      // Without --json, the user is told what was kept out; the command's own output is untouched.
      const plain = await runCli(["run", "--mode=auto", "--", 'PATH="$PWD/bin:$PATH" pip install -r requirements.txt'], {
        cwd: p.dir,
        env: cloud(),
      });
      expect(plain.exitCode).toBe(0);
      expect(plain.stdout).toBe("Collecting requests==2.32.3\nCollecting flask>=3"); // execa drops the last newline
      expect(plain.stderr).toMatch(/stigmer: kept out of the project: stigmer\.config\.json \(Stigmer's own configuration/);
    } finally {
      p.cleanup();
    }
  }, 60_000);

  it("stigmer sandbox ls and rm manage the kept cloud sandboxes", async () => {
    const env = { ...cloud(), STIGMER_SANDBOX_CLEANUP: "false" };
    expect((await runCli(["run", "--", "true"], { cwd: project.dir, env })).exitCode).toBe(0);
    const ls = await runCli(["sandbox", "ls", "--json"], { cwd: project.dir, env });
    expect(ls.exitCode).toBe(0);
    const listed = JSON.parse(ls.stdout) as Array<{ id: string; backend: string; workspace?: string; state: string }>;
    const mine = listed.find((s) => s.workspace === project.dir && s.state === "started");
    expect(mine).toMatchObject({ backend: "daytona" });
    const rm = await runCli(["sandbox", "rm", mine?.id as string], { cwd: project.dir, env });
    expect(rm.exitCode).toBe(0);
    expect(["destroyed", "destroying", undefined]).toContain(imitation.sandbox(mine?.id as string)?.state);
  }, 60_000);
});
