// The sandbox is a boundary: each attack of the issue that introduced the workspace model, tried
// from inside a sandboxed command by an unprivileged host user in the docker group, with the
// default settings. Needs the Docker engine and images of scripts/docker-setup.sh.
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type UnprivilegedUser, unprivilegedUser } from "./helpers.js";

const IMAGE = "stigmer-test/sandbox-basic:ci";
const env = { STIGMER_SANDBOX_IMAGE: IMAGE, STIGMER_SANDBOX_TTL: "120" };
let user: UnprivilegedUser;

beforeAll(() => {
  user = unprivilegedUser();
});

/** Containers that serve one of this file's projects (label dev.stigmer.workspace). */
function containersFor(project: string): string[] {
  const out = execFileSync("docker", ["ps", "-aq", "--filter", `label=dev.stigmer.workspace=${project}`], { encoding: "utf8" });
  return out.split("\n").filter(Boolean);
}
const projects: string[] = [];
function project(): string {
  const dir = user.project();
  projects.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of projects) {
    const ids = containersFor(dir);
    if (ids.length > 0) execFileSync("docker", ["rm", "-f", ...ids], { stdio: "ignore" });
  }
  user.cleanup();
});

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return check();
}

/** Everything in the project that grants more than the user has, or leads out of it. */
function dangers(root: string, uid: number): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const info = lstatSync(path);
      const rel = path.slice(root.length + 1);
      if (info.uid !== uid) found.push(`${rel}: owned by uid ${info.uid}`);
      if (info.mode & 0o6000) found.push(`${rel}: setuid/setgid`);
      if (info.isFIFO() || info.isSocket() || info.isBlockDevice() || info.isCharacterDevice()) found.push(`${rel}: special file`);
      if (info.isSymbolicLink()) {
        const target = resolve(dirname(path), readlinkSync(path));
        if (target !== root && !target.startsWith(`${root}/`)) found.push(`${rel}: link out of the project to ${target}`);
      }
      if (info.isDirectory()) walk(path);
    }
  };
  walk(root);
  return found;
}

describe("workspace roots", () => {
  it("refuses /, the home directory, system directories, hidden directories of the home directory, unreadable ones and Stigmer's state", async () => {
    const unreadable = project();
    execFileSync("chown", ["0:0", unreadable]);
    execFileSync("chmod", ["700", unreadable]);
    const hidden = join(user.home, ".config", "app");
    mkdirSync(hidden, { recursive: true });
    execFileSync("chown", ["-R", `${user.uid}:${user.gid}`, join(user.home, ".config")]);
    const stateParent = join(user.home, ".local/state");
    await user.cli(["run", "--mode=sandbox", "--cwd", project(), "--", "true"], { env });
    for (const cwd of ["/", user.home, "/etc", "/tmp", unreadable, hidden, stateParent]) {
      const r = await user.cli(["run", "--mode=sandbox", "--cwd", cwd, "--", "cat /workspace/etc/shadow"], { env });
      expect(r.exitCode, `${cwd}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/INVALID_REQUEST: Refusing to use .* as a sandbox workspace: /);
      const auto = await user.cli(["run", "--mode=auto", "--cwd", cwd, "--", "ls"], { env });
      expect(auto.exitCode, `auto ${cwd}`).toBe(2);
    }
    // A hidden directory is a project once the user says so.
    const allowed = await user.cli(["run", "--mode=sandbox", "--cwd", hidden, "--", "echo ok"], {
      env: { ...env, STIGMER_SANDBOX_ALLOWED_ROOTS: hidden },
    });
    expect(allowed.stdout, allowed.stderr).toBe("ok\n");
    // Allowed roots restrict further: anything else is refused.
    const outside = await user.cli(["run", "--mode=sandbox", "--cwd", project(), "--", "true"], {
      env: { ...env, STIGMER_SANDBOX_ALLOWED_ROOTS: hidden },
    });
    expect(outside.exitCode).toBe(2);
    expect(outside.stderr).toMatch(/outside the allowed workspace roots/);
  }, 90_000);
});

describe("the channel to the host", () => {
  it("a sandboxed command holds only stdin, stdout and stderr: none of the agent's sockets to the host, whose frames it could forge", async () => {
    // A child sh lists the descriptors it inherited; `ls` opens none of its own in the listed directory.
    const r = await user.cli(["run", "--mode=sandbox", "--", `sh -c 'ls /proc/$$/fd' | tr '\\n' ' '`], { cwd: project(), env });
    expect(r.stdout, r.stderr).toBe("0 1 2 ");
  });
});

describe("nothing written from inside gains privilege outside", () => {
  it("setuid files, root-owned files, FIFOs, devices, links out, git hooks and config, Stigmer's config: none reaches the host", async () => {
    const dir = project();
    await user.sh(
      "git init -q . && git config user.email t@e && git config user.name t && echo hi > README && git add README && git commit -qm init",
      { cwd: dir },
    );
    const gitConfig = readFileSync(join(dir, ".git/config"), "utf8");
    const attack = [
      "cp /bin/bash rootsh && chmod 4755 rootsh",
      "mkdir -p sgid && chmod 2777 sgid",
      "mkfifo fifo",
      "mknod dev c 1 3 2>/dev/null || true",
      "ln -s /etc/shadow shadow && ln -s ../../../../../etc/passwd up",
      "ln /etc/passwd hard 2>/dev/null || true",
      "touch rootowned && chown 0:0 rootowned && chmod 666 rootowned",
      "printf '[core]\\n\\tfsmonitor = touch pwned-by-fsmonitor\\n' >> .git/config",
      "printf '#!/bin/sh\\ntouch pwned-by-hook\\n' > .git/hooks/pre-commit && chmod 755 .git/hooks/pre-commit",
      `printf '{"sandbox":{"backend":"./evil.mjs"}}' > stigmer.config.json`,
      `printf 'import { writeFileSync } from "node:fs"; writeFileSync("pwned-by-plugin", "x"); export default {};' > evil.mjs`,
      "mkdir -p node_modules/pkg/lib && echo 'module.exports = 1' > node_modules/pkg/lib/index.js",
      "echo done",
    ].join(" && ");
    const r = await user.cli(["run", "--mode=sandbox", "--", attack], { cwd: dir, env });
    expect(r.stdout, r.stderr).toBe("done\n");
    expect(r.exitCode).toBe(0);
    // What was kept out is said, with the reason.
    expect(r.stderr).toMatch(/kept out of the project: \.git\/config \(git configuration/);
    expect(r.stderr).toMatch(/kept out of the project: \.git\/hooks\/pre-commit/);
    expect(r.stderr).toMatch(/kept out of the project: stigmer\.config\.json/);
    expect(r.stderr).toMatch(/kept out of the project: shadow \(a link to "\/etc\/shadow" would lead outside the project\)/);
    expect(r.stderr).toMatch(/kept out of the project: fifo \(not a regular file/);

    expect(dangers(dir, user.uid)).toEqual([]);
    expect(readFileSync(join(dir, ".git/config"), "utf8")).toBe(gitConfig);
    expect(existsSync(join(dir, ".git/hooks/pre-commit"))).toBe(false);
    expect(existsSync(join(dir, "stigmer.config.json"))).toBe(false);
    expect(statSync(join(dir, "rootsh")).mode & 0o7777).toBe(0o755);
    // Executing what came back grants nothing: the shell runs as the user.
    const euid = await user.sh("./rootsh -p -c 'id -u'", { cwd: dir });
    expect(euid.stdout.trim()).toBe(String(user.uid));
    // Git on the host runs nothing the sandbox planted; Stigmer loads nothing it planted.
    await user.sh("git status --short >/dev/null && git commit -qam again --allow-empty", { cwd: dir });
    const local = await user.cli(["run", "--", "true"], { cwd: dir, env });
    expect(local.exitCode, local.stderr).toBe(0);
    expect(readdirSync(dir).filter((n) => n.startsWith("pwned"))).toEqual([]);
    // What a sandboxed install wrote belongs to the user, who can remove it.
    expect((await user.sh("rm -rf node_modules sgid && echo removed", { cwd: dir })).stdout).toBe("removed\n");
  }, 90_000);

  it("a config file planted in the project by other means names a module: the host refuses to load it until trusted", async () => {
    const dir = project();
    writeFileSync(join(dir, "stigmer.config.json"), JSON.stringify({ sandbox: { backend: "./evil.mjs" }, mode: "sandbox" }));
    writeFileSync(join(dir, "evil.mjs"), 'import { writeFileSync } from "node:fs"; writeFileSync("pwned", "x"); export default {};');
    execFileSync("chown", ["-R", `${user.uid}:${user.gid}`, dir]);
    const r = await user.cli(["run", "--", "echo hi"], { cwd: dir, env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(
      /UNTRUSTED_CONFIG: Config file .*stigmer\.config\.json is not trusted: .* run "stigmer trust .*stigmer\.config\.json"/,
    );
    expect(r.stdout).toBe("");
    expect(existsSync(join(dir, "pwned"))).toBe(false);
  }, 30_000);

  it("mount (opt-in): commands run as the user, so nothing they write is root's; .git stays read-only", async () => {
    const dir = project();
    await user.sh("git init -q .", { cwd: dir });
    const attack =
      "id -u; cp /bin/bash rootsh && chmod 4755 rootsh; (echo x >> .git/config) 2>&1 | grep -o 'Read-only file system'; echo done";
    const r = await user.cli(["run", "--mode=sandbox", "--workspace=mount", "--", attack], { cwd: dir, env });
    expect(r.stdout, r.stderr).toBe(`${user.uid}\nRead-only file system\ndone\n`);
    expect(lstatSync(join(dir, "rootsh")).uid).toBe(user.uid);
    const euid = await user.sh("./rootsh -p -c 'id -u'", { cwd: dir });
    expect(euid.stdout.trim()).toBe(String(user.uid));
  }, 60_000);

  it("race: a background process planting setuid files for 10 s while the host runs them: never euid 0", async () => {
    const dir = project();
    const kept = { ...env, STIGMER_SANDBOX_CLEANUP: "false", STIGMER_SANDBOX_TTL: "60" };
    const plant =
      "(i=0; while :; do i=$((i+1)); f=s$((i % 4)); cp /bin/bash $f.tmp && chmod 4755 $f.tmp && mv -f $f.tmp $f; done) >/dev/null 2>&1 & echo planted";
    expect((await user.cli(["run", "--mode=sandbox", "--", plant], { cwd: dir, env: kept })).stdout).toBe("planted\n");
    // Commands keep running in the same sandbox (adopted by each new process), so its changes keep coming back.
    let syncing = true;
    const syncs = (async () => {
      let n = 0;
      while (syncing) {
        await user.cli(["run", "--mode=sandbox", "--", "true"], { cwd: dir, env: kept });
        n++;
      }
      return n;
    })();
    const host = await user.sh(
      `end=$(( $(date +%s) + 10 )); runs=0; root=0
       while [ "$(date +%s)" -lt "$end" ]; do
         for f in ./s0 ./s1 ./s2 ./s3; do [ -x "$f" ] || continue; runs=$((runs + 1)); [ "$("$f" -p -c 'id -u' 2>/dev/null)" = 0 ] && root=$((root + 1)); done
       done; echo "$runs $root"`,
      { cwd: dir },
    );
    syncing = false;
    const commands = await syncs;
    const [runs, root] = host.stdout.trim().split(" ").map(Number);
    // The planted files did reach the host (so this test can fail), and never as setuid root.
    expect(runs, `host ran the planted files ${runs} times over ${commands} syncs`).toBeGreaterThan(0);
    expect(root).toBe(0);
    expect(dangers(dir, user.uid)).toEqual([]);
    await user.cli(["sandbox", "prune", "--all"], { env: kept });
  }, 90_000);
});

describe("auto mode protects the project's uncommitted work", () => {
  it.each(["sync", "mount"])(
    "git reset --hard is sandboxed and its changes held (workspace %s); the sandbox is refilled from the host afterwards",
    async (strategy) => {
      const dir = project();
      await user.sh(
        "git init -q . && echo v1 > f.txt && git add f.txt && git -c user.email=t@e -c user.name=t commit -qm init && echo 'uncommitted work' > f.txt",
        {
          cwd: dir,
        },
      );
      const kept = { ...env, STIGMER_SANDBOX_CLEANUP: "false", STIGMER_SANDBOX_WORKSPACE: strategy };
      const r = await user.cli(["run", "--mode=auto", "--", "git reset --hard && git clean -fdx"], { cwd: dir, env: kept });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        /change\(s\) to the project were not brought back: auto mode sandboxed it because it would destroy uncommitted work \(git\./,
      );
      expect(readFileSync(join(dir, "f.txt"), "utf8")).toBe("uncommitted work\n");
      // The next command, in a later process adopting the same sandbox, sees the host's project again.
      const next = await user.cli(["run", "--mode=sandbox", "--", "cat f.txt"], {
        cwd: dir,
        env: { ...kept, STIGMER_SANDBOX_WORKSPACE: "sync" },
      });
      expect(next.stdout).toBe("uncommitted work\n");
      // Asked for explicitly, the sandbox's changes come back as usual.
      const explicit = await user.cli(["run", "--mode=sandbox", "--", "git checkout -- f.txt"], {
        cwd: dir,
        env: { ...kept, STIGMER_SANDBOX_WORKSPACE: "sync" },
      });
      expect(explicit.exitCode, explicit.stderr).toBe(0);
      expect(readFileSync(join(dir, "f.txt"), "utf8")).toBe("v1\n");
      await user.cli(["sandbox", "prune", "--all"], { env: kept });
    },
    90_000,
  );
});

describe("the agent channel", () => {
  it("is read-only from inside, shows no token, and the agent ignores the sandbox's signals", async () => {
    const dir = project();
    const probe = [
      "touch /run/stigmer/x 2>&1 | grep -c 'Read-only'",
      "ln -s /etc/passwd /run/stigmer/planted 2>&1 | grep -c 'Read-only'",
      "ls /run/stigmer/token 2>&1 | grep -c 'No such file'",
      "kill -STOP 1; kill -KILL 1; echo alive",
    ].join("; ");
    const r = await user.cli(["run", "--mode=sandbox", "--", probe], { cwd: dir, env });
    expect(r.stdout, r.stderr).toBe("1\n1\n1\nalive\n");
    const again = await user.cli(["run", "--mode=sandbox", "--", "echo still"], { cwd: dir, env });
    expect(again.stdout).toBe("still\n");
  }, 60_000);

  it("a kept sandbox dies one TTL after its last use, whatever runs inside it", async () => {
    const dir = project();
    const kept = { ...env, STIGMER_SANDBOX_CLEANUP: "false", STIGMER_SANDBOX_TTL: "3" };
    // Signals from inside cannot stop or kill the agent (PID 1), nor can anything touch the lease.
    const keepAlive = "(while :; do kill -STOP 1; kill -KILL 1; touch /run/stigmer/lease; sleep 0.2; done) >/dev/null 2>&1 & echo left";
    const r = await user.cli(["run", "--mode=sandbox", "--", keepAlive], { cwd: dir, env: kept });
    const lastUse = Date.now();
    expect(r.stdout, r.stderr).toBe("left\n");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(containersFor(dir), "alive within its TTL").toHaveLength(1);
    expect(await waitFor(() => containersFor(dir).length === 0, 12_000)).toBe(true);
    expect(Date.now() - lastUse).toBeGreaterThanOrEqual(3000);
  }, 40_000);

  it("kill -9 of its owner: a cleanup-on sandbox goes within seconds", async () => {
    const dir = project();
    const running = user.start(["run", "--mode=sandbox", "--", "echo started; sleep 60"], { cwd: dir, env });
    expect(await waitFor(() => containersFor(dir).length === 1, 20_000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    running.kill("SIGKILL");
    await running;
    expect(await waitFor(() => containersFor(dir).length === 0, 10_000)).toBe(true);
  }, 40_000);

  it("prune through another engine endpoint touches neither this engine's sandboxes nor their state", async () => {
    const dir = project();
    const kept = { ...env, STIGMER_SANDBOX_CLEANUP: "false", STIGMER_SANDBOX_TTL: "120" };
    expect((await user.cli(["run", "--mode=sandbox", "--", "echo one"], { cwd: dir, env: kept })).stdout).toBe("one\n");
    const [id] = containersFor(dir);
    const stateDir = execFileSync("docker", ["inspect", "-f", '{{index .Config.Labels "dev.stigmer.state-dir"}}', id as string], {
      encoding: "utf8",
    }).trim();
    expect(existsSync(join(stateDir, "record.json"))).toBe(true);
    // The same daemon through another address is another endpoint: its prune is not about these.
    const other = await user.cli(["sandbox", "prune", "--all"], { env: { ...kept, DOCKER_HOST: "unix:///run/docker.sock" } });
    expect(other.exitCode, other.stderr).toBe(0);
    expect(other.stdout).toMatch(/^0 sandbox\(es\) removed/m);
    expect(existsSync(join(stateDir, "record.json"))).toBe(true);
    expect(containersFor(dir)).toEqual([id]);
    expect((await user.cli(["run", "--mode=sandbox", "--", "echo two"], { cwd: dir, env: kept })).stdout).toBe("two\n");
    expect(containersFor(dir)).toEqual([id]);
    const mine = await user.cli(["sandbox", "prune", "--all"], { env: kept });
    expect(mine.stdout).toMatch(/^1 sandbox\(es\) removed/m);
    expect(existsSync(stateDir)).toBe(false);
  }, 60_000);
});
