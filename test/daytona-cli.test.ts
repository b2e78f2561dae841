// `MODE=cloud stigmer run` end to end: the built CLI as a real process, the real @daytonaio/sdk,
// the local Daytona imitation over real HTTP and WebSockets.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DaytonaImitation, startDaytonaImitation } from "./daytona-imitation/index.mjs";
import { runCli, tempProject } from "./helpers.js";

let imitation: DaytonaImitation;
const project = tempProject();

beforeAll(async () => {
  imitation = await startDaytonaImitation({ transitionMs: 20 });
});
afterAll(async () => {
  await imitation?.close();
  project.cleanup();
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
