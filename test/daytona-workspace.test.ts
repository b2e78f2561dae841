// Cloud mode's `sync` workspace: the daytona backend copies the host project into the sandbox's
// ~/workspace before each command and brings the command's changes back through core's host-side
// checks, through the real @daytonaio/sdk against the local Daytona imitation (whose "sandbox"
// runs real processes, with the host's GNU tar, find and awk).

import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DaytonaBackend } from "@stigmer/backend-daytona";
import {
  type Backend,
  createLogger,
  ErrorCode,
  type ExecEvent,
  type ExecRequest,
  type ExecResult,
  executeOn,
  resolveConfig,
  StigmerError,
  type WorkspaceReport,
} from "@stigmer/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { daytonaSettings } from "./daytona-helpers.js";
import { type DaytonaImitation, startDaytonaImitation } from "./daytona-imitation/index.mjs";
import { tempProject } from "./helpers.js";

let imitation: DaytonaImitation;

beforeAll(async () => {
  imitation = await startDaytonaImitation({ transitionMs: 20, killGraceMs: 500 });
});
afterAll(async () => {
  await imitation?.close();
});

const projects: Array<{ cleanup(): void }> = [];
const backends: Backend[] = [];
afterEach(async () => {
  imitation.faults.clear();
  await Promise.allSettled(backends.splice(0).map((b) => b.dispose()));
  for (const p of projects.splice(0)) p.cleanup();
});

function _sandboxIdsSeen(): string[] {
  const ids = new Set<string>();
  for (const q of imitation.requests) {
    const match = /^\/toolbox\/([^/]+)\//.exec(q.path);
    if (match) ids.add(decodeURIComponent(match[1] as string));
  }
  return [...ids];
}

function project(files: Record<string, string | Buffer> = {}): string {
  const p = tempProject();
  projects.push(p);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(p.dir, name, ".."), { recursive: true });
    writeFileSync(join(p.dir, name), content);
  }
  return p.dir;
}

function backend(cwd: string, env: Record<string, string> = {}, plugin: Record<string, unknown> = {}, track = true): DaytonaBackend {
  const config = resolveConfig({
    env: {
      MODE: "cloud",
      DAYTONA_API_KEY: imitation.apiKey,
      DAYTONA_API_URL: imitation.apiUrl,
      STIGMER_SANDBOX_TTL: "3600",
      ...env,
    },
    cwd,
  });
  const b = new DaytonaBackend(config, createLogger({ level: "silent" }), {
    ...daytonaSettings(config),
    retryBaseDelayMs: 20,
    retryMaxDelayMs: 200,
    killGraceMs: 300,
    ...plugin,
  });
  if (track) backends.push(b);
  return b;
}

/** Runs a request and returns the result with the exit event's workspace report. */
async function run(b: Backend, request: ExecRequest, onEvent?: (e: ExecEvent) => void): Promise<ExecResult & { report?: WorkspaceReport }> {
  let report: WorkspaceReport | undefined;
  const result = await executeOn(b, request, {
    onEvent: (event) => {
      if (event.type === "exit") report = event.workspace;
      onEvent?.(event);
    },
  });
  return { ...result, ...(report ? { report } : {}) };
}

const sha = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const sandboxOf = (cwd: string) =>
  imitation.sandboxes().find((s) => s.labels["dev.stigmer.workspace-dir"] === cwd && s.state === "started") ?? expect.unreachable();
const requestsTo = (id: string, method: string, route: RegExp) =>
  imitation.requests.filter((q) => q.method === method && q.path.startsWith(`/toolbox/${id}/`) && route.test(q.route));
const uploadedBytes = (id: string) =>
  requestsTo(id, "POST", /\/files\/bulk-upload$/).map((q) => (q.body as { files: Array<{ bytes: number }> }).files[0]?.bytes ?? 0);

describe("daytona sync workspace: the project reaches the sandbox", () => {
  it("a project file is readable by the command, in ~/workspace, byte for byte (binary, large, odd names)", async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const large = randomBytes(3 * 1024 * 1024 + 17);
    const odd = `with space 'quote' "dq" ünï.txt`;
    const cwd = project({ "README.md": "# hello from the host\n", "bin/all-bytes": all, "data/large.bin": large, [odd]: "odd\n" });
    chmodSync(join(cwd, "README.md"), 0o640);
    const b = backend(cwd);
    const r = await run(b, {
      command: `pwd; cat README.md; sha256sum bin/all-bytes data/large.bin | cut -c1-64; cat "${odd.replaceAll('"', '\\"')}"; stat -c %a README.md`,
      cwd,
    });
    expect(r.exitCode).toBe(0);
    const [pwd, ...lines] = r.stdout.trimEnd().split("\n");
    expect(pwd).toMatch(/\/home\/daytona\/workspace$/);
    expect(lines).toEqual(["# hello from the host", sha(all), sha(large), "odd", "640"]);
    // Nothing changed in the sandbox: nothing came back, the host is as it was.
    expect(r.report).toMatchObject({ applied: 0, refused: [], conflicts: [] });
    expect(readFileSync(join(cwd, "data/large.bin")).equals(large)).toBe(true);
  });

  it("files the command writes, changes and deletes come back to the host, binary ones byte for byte", async () => {
    const cwd = project({
      "keep.txt": "keep\n",
      "change.txt": "before\n",
      "gone.txt": "x\n",
      "old/dir/f.txt": "f\n",
      "script.sh": "echo hi\n",
    });
    const b = backend(cwd);
    const r = await run(b, {
      command: [
        "echo after > change.txt",
        "rm gone.txt",
        "rm -r old",
        "mkdir -p new/deep && printf 'made\\n' > new/deep/file.txt",
        "chmod 755 script.sh",
        "head -c 2500000 /dev/urandom > new/random.bin && sha256sum new/random.bin | cut -c1-64",
        "ln -s deep/file.txt new/link",
        "printf 'x' > 'a name with spaces.txt'",
      ].join("; "),
      cwd,
    });
    expect(r.exitCode).toBe(0);
    expect(readFileSync(join(cwd, "keep.txt"), "utf8")).toBe("keep\n");
    expect(readFileSync(join(cwd, "change.txt"), "utf8")).toBe("after\n");
    expect(existsSync(join(cwd, "gone.txt"))).toBe(false);
    expect(existsSync(join(cwd, "old"))).toBe(false);
    expect(readFileSync(join(cwd, "new/deep/file.txt"), "utf8")).toBe("made\n");
    expect(statSync(join(cwd, "script.sh")).mode & 0o777).toBe(0o755);
    expect(sha(readFileSync(join(cwd, "new/random.bin")))).toBe(r.stdout.trim());
    expect(readlinkSync(join(cwd, "new/link"))).toBe("deep/file.txt");
    expect(readFileSync(join(cwd, "a name with spaces.txt"), "utf8")).toBe("x");
    expect(r.report?.refused).toEqual([]);
    expect(r.report?.conflicts).toEqual([]);
    expect(r.report?.applied).toBeGreaterThanOrEqual(8);

    // The download of the changes went through a file in the sandbox, removed afterwards.
    const id = sandboxOf(cwd).id;
    expect(requestsTo(id, "POST", /\/files\/bulk-download$/).length).toBeGreaterThanOrEqual(1);
    const home = imitation.sandbox(id)?.homeDir as string;
    // Only the scripts' own state (a mark and a path list) stays there.
    await expect
      .poll(() => readdirSync(join(home, ".stigmer-sync")).filter((name) => !name.startsWith("state-")), { timeout: 5000 })
      .toEqual([]);

    // The next command sees the sandbox's own result and the host's state as one.
    const again = await run(b, { command: "ls; cat change.txt", cwd });
    expect(again.stdout).toBe("a name with spaces.txt\nchange.txt\nkeep.txt\nnew\nscript.sh\nafter\n");
  });

  it("what must not come back does not, and the exit event's workspace report lists it", async () => {
    const cwd = project({ "src/app.py": "print(1)\n" });
    const b = backend(cwd);
    const r = await run(b, {
      command: [
        "mkdir -p .git/hooks",
        "printf '[core]\\n\\tfsmonitor = evil\\n' > .git/config",
        "printf '#!/bin/sh\\nevil\\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit",
        "echo '{\"plugins\":{}}' > stigmer.config.json",
        "ln -s /etc/passwd passwd-link",
        "cp /bin/true suid && chmod 4755 suid",
        "mkfifo pipe",
        "echo fine > ok.txt",
      ].join(" && "),
      cwd,
    });
    expect(r.exitCode).toBe(0);
    const refused = Object.fromEntries((r.report?.refused ?? []).map((x) => [x.path, x.reason]));
    expect(Object.keys(refused)).toEqual(
      expect.arrayContaining([".git/config", ".git/hooks", ".git/hooks/pre-commit", "stigmer.config.json", "passwd-link", "pipe"]),
    );
    expect(refused[".git/config"]).toMatch(/git configuration/);
    expect(refused["stigmer.config.json"]).toMatch(/Stigmer's own configuration/);
    expect(refused["passwd-link"]).toMatch(/outside the project/);
    expect(refused.pipe).toMatch(/not a regular file/);
    for (const path of [".git/config", ".git/hooks", "stigmer.config.json", "passwd-link", "pipe"]) {
      expect(existsSync(join(cwd, path)), path).toBe(false);
      expect(() => lstatSync(join(cwd, path)), path).toThrow();
    }
    // The setuid file comes back as a plain file: the sandbox cannot grant more than the user has.
    expect(statSync(join(cwd, "suid")).mode & 0o7000).toBe(0);
    expect(readFileSync(join(cwd, "ok.txt"), "utf8")).toBe("fine\n");
  });

  it("a host file changed by the host during the command keeps the host's version (a conflict)", async () => {
    const cwd = project({ "shared.txt": "original\n", "other.txt": "o\n" });
    const b = backend(cwd);
    await run(b, { command: "true", cwd }); // the sandbox is up and has the project
    const r = await run(b, { command: "echo started; sleep 0.6; echo from the sandbox > shared.txt; echo s > other.txt", cwd }, (e) => {
      if (e.type === "stdout") writeFileSync(join(cwd, "shared.txt"), "changed on the host meanwhile\n");
    });
    expect(r.exitCode).toBe(0);
    expect(readFileSync(join(cwd, "shared.txt"), "utf8")).toBe("changed on the host meanwhile\n");
    expect(readFileSync(join(cwd, "other.txt"), "utf8")).toBe("s\n");
    expect(r.report?.conflicts.map((c) => c.path)).toEqual(["shared.txt"]);
    expect(r.report?.conflicts[0]?.reason).toMatch(/host's version was kept/);
    // The host's version reaches the sandbox before the next command.
    expect((await run(b, { command: "cat shared.txt", cwd })).stdout).toBe("changed on the host meanwhile\n");
  });

  it("what a command wrote before its timeout or cancellation comes back", async () => {
    const cwd = project({ "a.txt": "a\n" });
    const b = backend(cwd);
    const timedOut = await run(b, { command: "echo partial > partial.txt; echo started; sleep 30", cwd, timeoutMs: 1500 });
    expect(timedOut.timedOut).toBe(true);
    expect(readFileSync(join(cwd, "partial.txt"), "utf8")).toBe("partial\n");
    const controller = new AbortController();
    const cancelled = await run(b, { command: "echo more > more.txt; echo started; sleep 30", cwd, signal: controller.signal }, (e) => {
      if (e.type === "stdout") controller.abort();
    });
    expect(cancelled.cancelled).toBe(true);
    expect(readFileSync(join(cwd, "more.txt"), "utf8")).toBe("more\n");
  });

  it("concurrent commands each bring their files back; host changes between commands reach the sandbox", async () => {
    const cwd = project({ "base.txt": "base\n" });
    const b = backend(cwd);
    const runs = await Promise.all(
      Array.from({ length: 4 }, (_, i) => run(b, { command: `sleep 0.2; echo ${i} > out-${i}.txt; cat base.txt`, cwd })),
    );
    for (const [i, r] of runs.entries()) {
      expect(r.stdout).toBe("base\n");
      expect(readFileSync(join(cwd, `out-${i}.txt`), "utf8")).toBe(`${i}\n`);
    }
    writeFileSync(join(cwd, "base.txt"), "edited on the host\n");
    rmSync(join(cwd, "out-0.txt"));
    mkdirSync(join(cwd, "added"));
    writeFileSync(join(cwd, "added/new.txt"), "new\n");
    const r = await run(b, { command: "cat base.txt added/new.txt; ls", cwd });
    expect(r.stdout).toBe("edited on the host\nnew\nadded\nbase.txt\nout-1.txt\nout-2.txt\nout-3.txt\n");
  });

  it("plugins.daytona.workspacePath with a space, under ~/, holds the copy and the commands", async () => {
    const cwd = project({ "README.md": "readme\n" });
    const b = backend(cwd, {}, { workspacePath: "~/my projects/app" });
    const r = await run(b, { command: "pwd; cat README.md; echo back > back.txt", cwd });
    expect(r.stdout).toMatch(/\/home\/daytona\/my projects\/app\nreadme\n$/);
    expect(readFileSync(join(cwd, "back.txt"), "utf8")).toBe("back\n");
  });

  it("a project larger than what is kept in memory is spooled to a private temp file, and removed after", async () => {
    const big = randomBytes(34 * 1024 * 1024);
    const cwd = project({ "big.bin": big });
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith("stigmer-daytona-"));
    const progress: string[] = [];
    const b = backend(cwd);
    const r = await run(b, { command: "sha256sum big.bin | cut -c1-64", cwd }, (e) => {
      if (e.type === "progress") progress.push(e.message);
    });
    expect(r.stdout.trim()).toBe(sha(big));
    expect(progress.join("\n")).toMatch(/Copying 34\.\d MiB of the project into the Daytona sandbox/);
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith("stigmer-daytona-"))).toEqual(before);
  }, 60_000);
});

describe("daytona sync workspace: reuse, manifests and failures", () => {
  it("a reused sandbox (cleanup off, found by labels) gets only what changed on the host in between", async () => {
    const files = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`src/m${i}.txt`, `${"x".repeat(2000)}${i}\n`]));
    const cwd = project({ ...files, "edit.txt": "v1\n", "drop.txt": "drop\n" });
    const env = { STIGMER_SANDBOX_CLEANUP: "false" };
    const first = backend(cwd, env);
    expect((await run(first, { command: "echo only-in-sandbox > ../outside.txt; cat edit.txt", cwd })).stdout).toBe("v1\n");
    const id = sandboxOf(cwd).id;
    const manifest = join(process.env.STIGMER_STATE_DIR as string, "daytona", id, "workspace-manifest.json");
    expect(existsSync(manifest)).toBe(true);
    expect(statSync(manifest).mode & 0o077).toBe(0);
    const [initial] = uploadedBytes(id);
    expect(initial).toBeGreaterThan(40 * 2000);
    await first.dispose();
    expect(imitation.sandbox(id)?.state).toBe("started");

    // The host changes while no process uses the sandbox.
    writeFileSync(join(cwd, "edit.txt"), "v2\n");
    rmSync(join(cwd, "drop.txt"));
    writeFileSync(join(cwd, "added.txt"), "added\n");

    const uploadsBefore = uploadedBytes(id).length;
    const second = backend(cwd, env);
    const r = await run(second, {
      command: "cat edit.txt added.txt; test -e drop.txt || echo dropped; ls src | wc -l; cat ../outside.txt",
      cwd,
    });
    expect(r.stdout).toBe("v2\nadded\ndropped\n40\nonly-in-sandbox\n");
    expect(sandboxOf(cwd).id).toBe(id);
    const later = uploadedBytes(id).slice(uploadsBefore);
    expect(later).toHaveLength(1);
    expect(later[0]).toBeLessThan(8 * 1024);
    await second.dispose();

    // Removing the sandbox removes what the host kept for it.
    await backend(cwd).sandboxes.remove(id);
    expect(existsSync(join(process.env.STIGMER_STATE_DIR as string, "daytona", id))).toBe(false);
  });

  it("a reused sandbox whose manifest is lost is emptied and filled again from the host", async () => {
    const cwd = project({ "a.txt": "a\n" });
    const env = { STIGMER_SANDBOX_CLEANUP: "false" };
    const first = backend(cwd, env);
    await run(first, { command: "true", cwd });
    const id = sandboxOf(cwd).id;
    await first.dispose();
    // Something the host never saw: it is in the sandbox's workspace only.
    const home = imitation.sandbox(id)?.homeDir as string;
    writeFileSync(join(home, "workspace", "stray.txt"), "stray\n");
    rmSync(join(process.env.STIGMER_STATE_DIR as string, "daytona", id), { recursive: true, force: true });

    const second = backend(cwd, env);
    const r = await run(second, { command: "ls", cwd });
    expect(r.stdout).toBe("a.txt\n");
    expect(existsSync(join(cwd, "stray.txt"))).toBe(false);
    await second.dispose();
    await backend(cwd).sandboxes.remove(id);
  });

  it("projects that share plugins.daytona.workspaceKey share one sandbox, whose copy switches from one project to the other", async () => {
    const a = project({ "a.txt": "a\n" });
    const other = project({ "b.txt": "b\n" });
    const key = `shared-${randomBytes(4).toString("hex")}`;
    const b = backend(a, {}, { workspaceKey: key });
    expect((await run(b, { command: "ls; echo made-in-a > made.txt", cwd: a })).stdout).toBe("a.txt\n");
    expect((await run(b, { command: "ls", cwd: other })).stdout).toBe("b.txt\n");
    expect(existsSync(join(other, "made.txt"))).toBe(false);
    expect((await run(b, { command: "ls", cwd: a })).stdout).toBe("a.txt\nmade.txt\n");
    expect(imitation.sandboxes().filter((s) => s.labels["dev.stigmer.workspace"] === key && s.state === "started")).toHaveLength(1);
  });

  it("a copy that fails is reported (Daytona's 5xx: BACKEND_UNAVAILABLE) and the command does not run", async () => {
    const cwd = project({ "a.txt": "a\n" });
    const b = backend(cwd, {}, { retries: 1 });
    imitation.faults.add({ method: "POST", path: /\/files\/bulk-upload$/, kind: "toolbox", status: 500, times: Number.POSITIVE_INFINITY });
    const error = await executeOn(b, { command: "echo ran > ran.txt", cwd }).then(
      () => expect.unreachable(),
      (e: unknown) => e as StigmerError,
    );
    expect(StigmerError.isInstance(error)).toBe(true);
    expect(error.code).toBe(ErrorCode.BACKEND_UNAVAILABLE);
    expect(error.message).toMatch(/Daytona is failing while copying the project into the sandbox \(500/);
    imitation.faults.clear();
    expect(existsSync(join(cwd, "ran.txt"))).toBe(false);
    const home = imitation.sandbox(sandboxOf(cwd).id)?.homeDir as string;
    expect(existsSync(join(home, "workspace", "ran.txt"))).toBe(false);
    // The next command copies the project and runs.
    expect((await run(b, { command: "cat a.txt", cwd })).stdout).toBe("a\n");
  });

  it("changes that cannot be brought back are EXECUTION_FAILED saying so, and the next command starts from the host's project", async () => {
    const cwd = project({ "a.txt": "a\n" });
    const b = backend(cwd, {}, { retries: 1 });
    await run(b, { command: "true", cwd });
    imitation.faults.add({
      method: "POST",
      path: /\/files\/bulk-download$/,
      kind: "toolbox",
      status: 500,
      times: Number.POSITIVE_INFINITY,
    });
    const error = await executeOn(b, { command: "echo lost > lost.txt; exit 3", cwd }).then(
      () => expect.unreachable(),
      (e: unknown) => e as StigmerError,
    );
    expect(error.code).toBe(ErrorCode.EXECUTION_FAILED);
    expect(error.message).toMatch(/The command ended \(exit 3\), but its changes could not be brought back from the Daytona sandbox/);
    expect(error.details).toMatchObject({ exitCode: 3 });
    imitation.faults.clear();
    expect(existsSync(join(cwd, "lost.txt"))).toBe(false);
    // The sandbox's copy no longer matches what the host knows: it is reset to the host's project.
    const r = await run(b, { command: "ls", cwd });
    expect(r.stdout).toBe("a.txt\n");
  });

  it("a sync script that cannot run in the sandbox is reported with what the sandbox said", async () => {
    const cwd = project({ "a.txt": "a\n" });
    const b = backend(cwd, {}, { workspacePath: "/proc/stigmer-cannot-be-made" });
    const error = await executeOn(b, { command: "true", cwd }).then(
      () => expect.unreachable(),
      (e: unknown) => e as StigmerError,
    );
    expect(error.code).toBe(ErrorCode.EXECUTION_FAILED);
    expect(error.message).toMatch(/Could not copy the project into the Daytona sandbox .*failed \(exit \d+\): .*stigmer-cannot-be-made/);
  });

  it("a caller that bypasses core still gets a checked sync workspace; other strategies are refused", async () => {
    const cwd = project({ "a.txt": "a\n" });
    const b = backend(cwd);
    expect(b.capabilities.workspace).toEqual(["sync"]);
    const chunks: string[] = [];
    const exit = await b.exec(
      { id: "direct", command: "cat a.txt; echo d > d.txt", cwd, env: {}, signal: new AbortController().signal },
      { write: (_s, c) => void chunks.push(Buffer.from(c).toString()), progress: () => {} },
    );
    expect(exit.exitCode).toBe(0);
    expect(chunks.join("")).toBe("a\n");
    expect(readFileSync(join(cwd, "d.txt"), "utf8")).toBe("d\n");
    const home = process.env.HOME as string;
    const refused = await b
      .exec(
        { id: "home", command: "true", cwd: home, env: {}, signal: new AbortController().signal },
        { write: () => {}, progress: () => {} },
      )
      .then(
        () => expect.unreachable(),
        (e: unknown) => e as StigmerError,
      );
    expect(refused.code).toBe(ErrorCode.INVALID_REQUEST);
    const mount = await executeOn(b, { command: "true", cwd }, { workspace: "mount" }).then(
      () => expect.unreachable(),
      (e: unknown) => e as StigmerError,
    );
    expect(mount.code).toBe(ErrorCode.CAPABILITY_UNSUPPORTED);
  });
});
