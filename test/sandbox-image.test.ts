import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { imagesDir } from "@stigmer/backend-docker";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, tempProject } from "./helpers.js";

// The sandbox images built for real from the Dockerfiles Stigmer ships, on the local stand-ins
// scripts/docker-setup.sh makes for the official debian:bookworm-slim and node:24-bookworm-slim
// (the same variables name other stand-ins there and here).
const docker = new Docker();
const SLIM = process.env.STIGMER_TEST_SLIM_AS ?? "debian:bookworm-slim";
const NODE = process.env.STIGMER_TEST_NODE_AS ?? "node:24-bookworm-slim";
const suffix = randomBytes(3).toString("hex");
const BASIC = `stigmer-test/sandbox-basic-built:${suffix}`;
const baseArgs = ["--build-arg", `BASE_IMAGE=${SLIM}`, "--build-arg", `NODE_IMAGE=${NODE}`];
const project = tempProject();
const created: string[] = [];
/** Images the builds of this file made (not those they took from the cache), removed with the tags. */
const built = new Set<string>();

/** Records the images a classic build's output says it made: every step's id but a cache hit's and a FROM's (an existing image). */
function recordBuilt(output: string): void {
  const lines = output
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  lines.forEach((line, i) => {
    const id = /^---> ([0-9a-f]{12,})$/.exec(line)?.[1];
    const before = lines[i - 1] ?? "";
    if (id && before !== "---> Using cache" && !/^Step \d+\/\d+ : FROM /i.test(before)) built.add(id);
  });
}

afterAll(async () => {
  project.cleanup();
  for (const tag of created)
    await docker
      .getImage(tag)
      .remove({ force: true, noprune: true })
      .catch(() => {});
  // Then what the builds made, children first: an image still used by another is kept by the engine.
  for (const id of [...built].reverse())
    await docker
      .getImage(id)
      .remove({ noprune: true })
      .catch(() => {});
});

const build = (args: string[], tag: string) => {
  created.push(tag);
  return runCli(["sandbox", "build", "-t", tag, ...baseArgs, ...args], { cwd: project.dir, timeoutMs: 600_000 }).then((r) => {
    recordBuilt(r.stderr);
    return r;
  });
};

describe("the basic image (Dockerfile.sandbox)", () => {
  beforeAll(async () => {
    const r = await build([], BASIC);
    if (r.exitCode !== 0) throw new Error(`stigmer sandbox build failed:\n${r.stdout}\n${r.stderr.slice(-3000)}`);
    expect(r.stdout).toMatch(
      new RegExp(`^built ${BASIC}: \\d+ MB \\(${SLIM} \\d+ MB \\+ \\d+ MB added; target ≈ 300 MB, ≤ 225 MB added\\)$`),
    );
  }, 600_000);

  it("carries every promised tool, Node from a current LTS line (no Debian node-* packages), and runs the sandbox agent", async () => {
    const script = [
      "python3 --version",
      "pip --version",
      "python3 -m venv /tmp/venv && /tmp/venv/bin/pip --version | cut -d' ' -f1-2 | sed 's/^/venv /'",
      "node --version",
      "npm --version | sed 's/^/npm /'",
      "git --version",
      "curl --version | head -1",
      "jq --version",
      "ps --version",
      "openssl version 2>/dev/null; ls /etc/ssl/certs/ca-certificates.crt",
      `dpkg-query -W -f '\${Package}\\n' | grep -E '^(node-|nodejs|npm$|libnode)' || echo no-debian-node`,
      "command -v yarn corepack || echo no-yarn-corepack",
      // git works for what agents do (a commit, the builtin add -p, https through libcurl) without Perl.
      "cd /tmp && git init -q g && cd g && git -c user.name=a -c user.email=a@b commit -q --allow-empty -m one && printf 'x\\n' >f && git add f && printf 'y\\n' >>f && printf 'y\\n' | git add -p >/dev/null && git diff --cached --stat | tail -1 && cd /",
      "git ls-remote https://127.0.0.1:9/none 2>&1 | grep -o 'Failed to connect' | head -1",
      "dpkg -s perl >/dev/null 2>&1 && echo perl-installed || echo no-perl-package",
      "tr '\\0' ' ' </proc/1/cmdline",
    ].join("; ");
    const r = await runCli(["run", "--mode=sandbox", "--", script], {
      cwd: project.dir,
      env: { STIGMER_SANDBOX_IMAGE: BASIC, STIGMER_SANDBOX_AUTO_PULL: "false" },
      timeoutMs: 120_000,
    });
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toMatchObject({ exitCode: 0, stderr: expect.not.stringMatching(/error|warn/i) });
    const out = r.stdout;
    const [, pyMinor] = out.match(/^Python 3\.(\d+)\.\d+$/m) ?? [];
    expect(Number(pyMinor)).toBeGreaterThanOrEqual(11);
    expect(out).toMatch(/^pip \d+\.\d+/m);
    expect(out).toMatch(/^venv pip \d+\.\d+/m);
    const [, nodeMajor] = out.match(/^v(\d+)\.\d+\.\d+$/m) ?? [];
    expect(Number(nodeMajor)).toBeGreaterThanOrEqual(24);
    expect(Number(nodeMajor) % 2).toBe(0); // LTS lines are the even ones
    expect(out).toMatch(/^npm \d+\.\d+\.\d+$/m);
    expect(out).toMatch(/^git version 2\./m);
    expect(out).toMatch(/^curl \d+\.\d+/m);
    expect(out).toMatch(/^jq-1\.\d/m);
    expect(out).toMatch(/^ps from procps-ng \d/m);
    expect(out).toContain("/etc/ssl/certs/ca-certificates.crt");
    expect(out).toContain("no-debian-node");
    expect(out).toContain("no-yarn-corepack");
    expect(out).toMatch(/^ 1 file changed, 2 insertions\(\+\)$/m);
    expect(out).toContain("Failed to connect"); // git-remote-https found and linked
    expect(out).toContain("no-perl-package");
    expect(out).toMatch(/python3 -B \/opt\/stigmer-agent\/stigmer_agent\.py/); // PID 1 is the agent
  }, 180_000);

  it("adds at most the 225 MB target to the slim base (docs: 210 MB added); its git needs no Perl", async () => {
    const [image, base] = await Promise.all([docker.getImage(BASIC).inspect(), docker.getImage(SLIM).inspect()]);
    expect(image.Size - base.Size).toBeLessThanOrEqual(225e6);
  });

  it("--no-cache builds again every layer a cached build reuses", async () => {
    const cached = await build([], `${BASIC}-cached`);
    expect(cached.exitCode).toBe(0);
    expect(cached.stderr).toContain("Using cache");
    expect(cached.stderr).not.toMatch(/Running in/);
    const fresh = await build(["--no-cache"], `${BASIC}-fresh`);
    expect(fresh.exitCode).toBe(0);
    expect(fresh.stderr).not.toContain("Using cache");
    expect(fresh.stderr).toMatch(/Running in [0-9a-f]+/);
  }, 600_000);

  it("--pull pulls the base images first: one no registry has fails naming it; without --pull the local one is used", async () => {
    // Local names on the loopback registry (scripts/docker-setup.sh) that were never pushed there.
    const node = `localhost:5000/stigmer-test/unpushed-node-${suffix}:1`;
    const slim = `localhost:5000/stigmer-test/unpushed-slim-${suffix}:1`;
    for (const [from, to] of [
      [NODE, node],
      [SLIM, slim],
    ] as const) {
      await docker.getImage(from).tag({ repo: to.slice(0, to.lastIndexOf(":")), tag: "1" });
      created.push(to);
    }
    const args = ["--build-arg", `BASE_IMAGE=${slim}`, "--build-arg", `NODE_IMAGE=${node}`];
    const local = await build(args, `${BASIC}-local`);
    expect(local.exitCode).toBe(0);
    const pulled = await build([...args, "--pull"], `${BASIC}-pulled`);
    expect(pulled.exitCode).not.toBe(0);
    expect(pulled.stderr).toMatch(
      /BACKEND_UNAVAILABLE: Building stigmer-test\/sandbox-basic-built:\w+-pulled from Dockerfile.sandbox failed: .*unpushed-node/,
    );
  }, 600_000);
});

describe("the full image (Dockerfile.sandbox.full) without its downloads", () => {
  let server: Server;
  let url: string;
  let files: Record<string, { body: Buffer; sha256: string }>;
  const work = mkdtempSync(join(tmpdir(), "stigmer-full-"));

  beforeAll(async () => {
    // Stand-ins for the release archives, laid out as the real ones are, served on loopback.
    const archive = (name: string, inner: string, make: (dir: string) => void) => {
      const dir = join(work, name.replace(/\W/g, "-"));
      mkdirSync(join(dir, inner, ".."), { recursive: true });
      make(dir);
      execFileSync("tar", ["-czf", join(work, name), "-C", dir, inner.split("/")[0] as string]);
      const body = readFileSync(join(work, name));
      return { body, sha256: createHash("sha256").update(body).digest("hex") };
    };
    const script = (path: string) => writeFileSync(path, "#!/bin/sh\necho stand-in\n", { mode: 0o755 });
    files = {
      "/go.tar.gz": archive("go.tar.gz", "go/bin/go", (d) => script(join(d, "go/bin/go"))),
      "/helm.tar.gz": archive("helm.tar.gz", "linux-amd64/helm", (d) => script(join(d, "linux-amd64/helm"))),
      "/terraform.zip": (() => {
        const dir = join(work, "terraform");
        mkdirSync(dir, { recursive: true });
        script(join(dir, "terraform"));
        execFileSync("python3", ["-m", "zipfile", "-c", join(work, "terraform.zip"), join(dir, "terraform")]);
        const body = readFileSync(join(work, "terraform.zip"));
        return { body, sha256: createHash("sha256").update(body).digest("hex") };
      })(),
    };
    server = createServer((req, res) => {
      const file = files[req.url ?? ""];
      res.writeHead(file ? 200 : 404).end(file?.body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** Builds a stage of Dockerfile.sandbox.full on the basic image, on the host network (the loopback server). */
  async function buildStage(target: string, args: Record<string, string>): Promise<{ ok: boolean; output: string; tag: string }> {
    const tag = `stigmer-test/sandbox-full-${target}:${suffix}`;
    created.push(tag);
    const stream = await docker.buildImage(
      { context: imagesDir(), src: ["Dockerfile.sandbox.full"] },
      {
        t: tag,
        dockerfile: "Dockerfile.sandbox.full",
        target,
        networkmode: "host",
        buildargs: { BASE: BASIC, ...args },
        rm: true,
        forcerm: true,
      },
    );
    const events: Array<{ stream?: string; error?: string }> = await new Promise((resolve, reject) =>
      docker.modem.followProgress(stream, (error: Error | null, result: Array<{ stream?: string; error?: string }>) =>
        error ? reject(error) : resolve(result),
      ),
    );
    const output = events.map((e) => e.stream ?? e.error ?? "").join("");
    recordBuilt(output);
    return { ok: !events.some((e) => e.error), output, tag };
  }

  const downloads = () => ({
    GO_URL: `${url}/go.tar.gz`,
    GO_SHA256: files["/go.tar.gz"]?.sha256 as string,
    HELM_URL: `${url}/helm.tar.gz`,
    HELM_SHA256: files["/helm.tar.gz"]?.sha256 as string,
    TERRAFORM_URL: `${url}/terraform.zip`,
    TERRAFORM_SHA256: files["/terraform.zip"]?.sha256 as string,
  });

  it("parses, and its first stage (fetch-verified on the basic image) builds", async () => {
    const r = await buildStage("fetch", {});
    expect(r.output).toMatch(/Successfully built/);
    expect(r.ok).toBe(true);
    const usage = await runCli(["run", "--mode=sandbox", "--", "fetch-verified; echo exit=$?"], {
      cwd: project.dir,
      env: { STIGMER_SANDBOX_IMAGE: r.tag, STIGMER_SANDBOX_AUTO_PULL: "false" },
    });
    expect(usage.stdout).toBe("exit=2");
    expect(usage.stderr).toContain("usage: fetch-verified URL SHA256 FILE");
  }, 300_000);

  it("a download whose SHA-256 does not match fails the build, naming both checksums; the right one passes", async () => {
    const wrong = createHash("sha256").update("not the archive").digest("hex");
    const bad = await buildStage("helm", { ...downloads(), HELM_SHA256: wrong });
    expect(bad.ok).toBe(false);
    const actual = files["/helm.tar.gz"]?.sha256 as string;
    expect(bad.output).toContain(`${url}/helm.tar.gz: checksum mismatch: expected SHA-256 ${wrong}, got ${actual}`);
    const notASum = await buildStage("go", { ...downloads(), GO_SHA256: "latest" });
    expect(notASum.ok).toBe(false);
    expect(notASum.output).toContain('"latest" is not a SHA-256 checksum');
    const good = await buildStage("helm", downloads());
    expect(good.output).toContain(`SHA-256 ${actual} OK`);
    expect(good.ok).toBe(true);
    const installed = await runCli(["run", "--mode=sandbox", "--", "/opt/tools/bin/helm"], {
      cwd: project.dir,
      env: { STIGMER_SANDBOX_IMAGE: good.tag, STIGMER_SANDBOX_AUTO_PULL: "false" },
    });
    expect(installed.stdout).toBe("stand-in");
  }, 300_000);

  it("terraform is installed from its verified archive; kubectl is left out, not fetched unverified, without its checksum", async () => {
    const r = await buildStage("kubectl", downloads());
    expect(r.ok).toBe(true);
    expect(r.output).toContain(`terraform.zip: SHA-256 ${files["/terraform.zip"]?.sha256} OK`);
    expect(r.output).toContain("kubectl left out: no KUBECTL_SHA256");
  }, 300_000);
});
