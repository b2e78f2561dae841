import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "./helpers.js";

// The packages as a user gets them: every publishable package packed with `pnpm pack` (which
// rewrites workspace: ranges), installed from those tarballs into a fresh directory outside the
// monorepo with npm, and separately with pnpm, then used there through real processes. Third-party
// dependencies come from the configured registry through the package manager, as for a user.

const work = mkdtempSync(join(tmpdir(), "stigmer-packaging-"));
const tarballDir = join(work, "tarballs");
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Package name → packed tarball. */
const tarballs = new Map<string, string>();
const tarball = (name: string) => {
  const file = tarballs.get(name);
  if (!file) throw new Error(`${name} was not packed`);
  return file;
};
let version = "";

/** The heavy sandbox dependencies a local-only install must not carry (and their native builds). */
const SANDBOX_ONLY = [
  "dockerode",
  "ssh2",
  "cpu-features",
  "protobufjs",
  "@daytonaio/sdk",
  "@stigmer/backend-docker",
  "@stigmer/backend-daytona",
];
const CLI_PACKAGES = ["stigmer", "@stigmer/core", "@stigmer/backend-local", "@stigmer/detector-rules", "@stigmer/server"];
const LIBRARY_PACKAGES = ["@stigmer/core", "@stigmer/backend-local"];
const BASIC_IMAGE = "stigmer-test/sandbox-basic:ci";

/**
 * The environment of a user's shell: without what `pnpm test` and vitest add (npm_* and pnpm_*
 * variables of the running script, NODE), and without Stigmer settings of the developer.
 */
function userEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^(npm_|pnpm_)/i.test(key) && !/^npm_config_(registry|cache|userconfig)$/i.test(key)) continue;
    if (key === "NODE" || key.startsWith("STIGMER_") || key === "MODE" || key.startsWith("DAYTONA_") || key.startsWith("VITEST")) continue;
    env[key] = value;
  }
  // Test files keep their own state directory (setup-state-dir.ts): the trust store, sandbox records.
  if (process.env.STIGMER_STATE_DIR) env.STIGMER_STATE_DIR = process.env.STIGMER_STATE_DIR;
  return { ...env, ...extra };
}

async function run(file: string, args: string[], cwd: string, env: Record<string, string> = {}, timeout = 120_000) {
  const r = await execa(file, args, { cwd, env: userEnv(env), extendEnv: false, reject: false, stdin: "ignore", timeout, all: true });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr), all: String(r.all) };
}

/** What package managers print when a package's engines exclude this Node. */
const ENGINE_WARNING = /EBADENGINE|Unsupported engine|engine.*(?:incompatible|not compatible)/i;

function consumer(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(
    join(dir, "package.json"),
    `${JSON.stringify({ name: `stigmer-consumer-${name}`, private: true, type: "module" }, null, 2)}\n`,
  );
  // Nothing above it may lend it packages: it is as bare as a new project.
  expect(existsSync(join(work, "node_modules"))).toBe(false);
  return dir;
}

function duBytes(dir: string): number {
  return Number(execFileSync("du", ["-sb", dir], { encoding: "utf8" }).split("\t")[0]);
}
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Every package directory name under node_modules (scoped ones as @scope/name), pnpm's store included. */
function installedNames(dir: string): Set<string> {
  const names = new Set<string>();
  const visit = (modules: string) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      if (entry === ".bin") continue;
      if (entry === ".pnpm") {
        for (const stored of readdirSync(join(modules, entry)))
          if (stored !== "node_modules" && !stored.endsWith(".yaml")) visit(join(modules, entry, stored, "node_modules"));
        visit(join(modules, entry, "node_modules"));
      } else if (entry.startsWith("@")) {
        for (const scoped of readdirSync(join(modules, entry))) names.add(`${entry}/${scoped}`);
      } else {
        names.add(entry);
      }
    }
  };
  visit(join(dir, "node_modules"));
  return names;
}

const LIBRARY_SCRIPT = `
import { createExecutor } from "@stigmer/core";
const executor = createExecutor();
const result = await executor.run({ command: "echo ok; echo from-stderr >&2; exit 3", cwd: process.cwd() });
await executor.dispose();
process.stdout.write(JSON.stringify({ exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, backend: result.backend }));
`;

// Awaits a failing call and never catches: Node prints the unhandled rejection itself.
const FAILING_SCRIPT = `
import { createExecutor } from "@stigmer/core";
const executor = createExecutor({ config: { env: { STIGMER_SANDBOX_BACKEND: "@acme/stigmer-sandbox-not-installed" } } });
await executor.run({ command: "true", mode: "sandbox", cwd: process.cwd() });
`;

/** Asserts that an uncaught library error reads well: name, code, message, a stack with names, short lines. */
function expectReadableError(stderr: string, name: string, code: string, message: string) {
  expect(stderr).toContain(`${name}: ${message}`);
  expect(stderr).toContain(`code: '${code}'`);
  // Frames name the functions (not minified one-letter names) and point at lines of the shipped bundle.
  expect(stderr).toMatch(
    /\n\s+at (?:async )?[A-Za-z_$][\w$.]{3,} \(file:\/\/\/.*(?:@stigmer|packages)\/core\/dist\/bundle\/[\w-]+\.js:\d+:\d+\)/,
  );
  const longest = Math.max(...stderr.split("\n").map((line) => line.length));
  expect(longest, `longest stderr line:\n${stderr}`).toBeLessThanOrEqual(400);
}

beforeAll(async () => {
  mkdirSync(tarballDir);
  for (const dir of readdirSync(join(repoRoot, "packages"))) {
    const manifest = JSON.parse(readFileSync(join(repoRoot, "packages", dir, "package.json"), "utf8")) as {
      name: string;
      version: string;
      private?: boolean;
    };
    if (manifest.private) continue;
    const packed = await execa("pnpm", ["pack", "--pack-destination", tarballDir, "--json"], {
      cwd: join(repoRoot, "packages", dir),
      env: userEnv(),
    });
    const { filename } = JSON.parse(String(packed.stdout)) as { filename: string };
    tarballs.set(manifest.name, filename);
    if (manifest.name === "stigmer") version = manifest.version;
  }
}, 120_000);

describe("packed packages", () => {
  it("carry resolved version ranges (no workspace: protocol) and their built bundles, and the CLI only optionally peers on the sandbox backends", () => {
    expect([...tarballs.keys()].sort()).toEqual(
      [
        "@stigmer/backend-daytona",
        "@stigmer/backend-docker",
        "@stigmer/backend-local",
        "@stigmer/core",
        "@stigmer/detector-rules",
        "@stigmer/server",
        "stigmer",
      ].sort(),
    );
    for (const [name, file] of tarballs) {
      const manifest = execFileSync("tar", ["-xOzf", file, "package/package.json"], { encoding: "utf8" });
      expect(manifest, name).not.toContain("workspace:");
      const listing = execFileSync("tar", ["-tzf", file], { encoding: "utf8" });
      expect(listing, name).toMatch(/package\/dist\/bundle\/index\.js\n/);
    }
    const cli = JSON.parse(execFileSync("tar", ["-xOzf", tarball("stigmer"), "package/package.json"], { encoding: "utf8" }));
    expect(Object.keys(cli.dependencies).sort()).toEqual([
      "@stigmer/backend-local",
      "@stigmer/core",
      "@stigmer/detector-rules",
      "@stigmer/server",
    ]);
    expect(cli.peerDependenciesMeta).toEqual({
      "@stigmer/backend-docker": { optional: true },
      "@stigmer/backend-daytona": { optional: true },
    });
    // fastify is bundled into @stigmer/server: its cookie dependency (engines: Node >= 22) never reaches users.
    const server = JSON.parse(execFileSync("tar", ["-xOzf", tarball("@stigmer/server"), "package/package.json"], { encoding: "utf8" }));
    expect(Object.keys(server.dependencies)).not.toContain("fastify");
  });
});

describe.each(["npm", "pnpm"] as const)("installed with %s outside the monorepo", (manager) => {
  let dir = "";
  let localOnlyBytes = 0;

  /** Installs the given packages from their tarballs into `dir`, as direct dependencies. */
  async function install(names: string[], extraArgs: string[] = []) {
    const files = names.map(tarball);
    const r =
      manager === "npm"
        ? await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...extraArgs, ...files], dir, {}, 300_000)
        : await run("pnpm", ["add", "--prefer-offline", ...extraArgs, ...files], dir, {}, 300_000);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).not.toMatch(ENGINE_WARNING);
    expect(r.all).not.toContain("ERR_PNPM_IGNORED_BUILDS");
    return r;
  }

  function newConsumer(name: string): string {
    dir = consumer(name);
    if (manager === "pnpm") {
      // Dependencies between @stigmer packages must come from the tarballs too, not the registry.
      const overrides = [...tarballs].map(([pkg, file]) => `  "${pkg}": "file:${file}"`).join("\n");
      writeFileSync(join(dir, "pnpm-workspace.yaml"), `overrides:\n${overrides}\n`);
    }
    return dir;
  }

  describe("the library with only @stigmer/core and @stigmer/backend-local", () => {
    beforeAll(async () => {
      newConsumer(`${manager}-library`);
      await install(LIBRARY_PACKAGES);
      process.stdout.write(
        `[packaging] ${manager}: @stigmer/core + @stigmer/backend-local install ${mb(duBytes(join(dir, "node_modules")))}\n`,
      );
    }, 300_000);

    it("import { createExecutor } from '@stigmer/core' runs a command with backend-local, and logs nothing by default", async () => {
      writeFileSync(join(dir, "library.mjs"), LIBRARY_SCRIPT);
      const r = await run(process.execPath, ["library.mjs"], dir);
      expect(r.stderr).toBe("");
      expect(JSON.parse(r.stdout)).toEqual({ exitCode: 3, stdout: "ok\n", stderr: "from-stderr\n", backend: "local" });
      const logged = await run(process.execPath, ["library.mjs"], dir, { STIGMER_LOG_LEVEL: "info" });
      expect(JSON.parse(logged.stderr.trim())).toMatchObject({ msg: "execution finished", exitCode: 3 });
    });

    it("an error thrown to a library user is readable: name, code, message, a stack of named frames, no screen-wide line", async () => {
      writeFileSync(join(dir, "failing.mjs"), FAILING_SCRIPT);
      const r = await run(process.execPath, ["failing.mjs"], dir);
      expect(r.exitCode).toBe(1);
      expectReadableError(
        r.stderr,
        "PluginLoadError",
        "PLUGIN_LOAD_FAILED",
        'Plugin package "@acme/stigmer-sandbox-not-installed" is not installed',
      );
    });
  });

  describe("the CLI", () => {
    beforeAll(async () => {
      newConsumer(manager);
      await install(CLI_PACKAGES);
      localOnlyBytes = duBytes(join(dir, "node_modules"));
      process.stdout.write(
        `[packaging] ${manager}: the CLI without sandbox backends installs ${mb(localOnlyBytes)} (du of node_modules)\n`,
      );
    }, 300_000);

    it("a local-only install carries no sandbox backend, dockerode, ssh2, cpu-features, protobufjs or Daytona SDK", () => {
      const names = installedNames(dir);
      expect(names).toContain("@stigmer/detector-rules");
      for (const heavy of SANDBOX_ONLY) expect(names, heavy).not.toContain(heavy);
      expect(localOnlyBytes).toBeLessThan(80e6);
    });

    it("stigmer run -- echo ok runs locally", async () => {
      const r =
        manager === "npm"
          ? await run("npx", ["--no", "stigmer", "run", "--", "echo ok"], dir)
          : await run("pnpm", ["exec", "stigmer", "run", "--", "echo ok"], dir);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("ok");
      expect(r.exitCode).toBe(0);
    });

    it("stigmer detect -- 'rm -rf /' sends it to the sandbox, saying why", async () => {
      const r = await run(join(dir, "node_modules/.bin/stigmer"), ["detect", "--json", "--", "rm -rf /"], dir);
      expect(r.exitCode).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ mode: "sandbox", rules: expect.arrayContaining(["fs.destroy-outside"]) });
    });

    it("sandbox mode without the Docker backend fails before running anything, saying what to install", async () => {
      const r = await run(join(dir, "node_modules/.bin/stigmer"), ["run", "--mode=sandbox", "--", "touch never-ran"], dir);
      expect(r.exitCode).toBe(125);
      const install =
        manager === "npm"
          ? `npm install --prefix ${dir} @stigmer/backend-docker@${version}`
          : `pnpm --dir ${dir} add @stigmer/backend-docker@${version}`;
      expect(r.stderr).toContain(`SANDBOX_UNAVAILABLE`);
      expect(r.stderr).toContain(install);
      expect(existsSync(join(dir, "never-ran"))).toBe(false);
    });

    it("with the Docker backend added (as the error says), stigmer run --mode=sandbox runs in a container", async () => {
      // pnpm refuses to finish while dependencies' build scripts are unreviewed; dockerode's (ssh2,
      // cpu-features, protobufjs) are optional: the README's one flag skips them.
      await install(["@stigmer/backend-docker"], manager === "pnpm" ? ["--ignore-scripts"] : []);
      const withDocker = duBytes(join(dir, "node_modules"));
      process.stdout.write(
        `[packaging] ${manager}: with @stigmer/backend-docker ${mb(withDocker)} (+${mb(withDocker - localOnlyBytes)})\n`,
      );
      const project = mkdtempSync(join(work, "project-"));
      const r = await run(
        join(dir, "node_modules/.bin/stigmer"),
        ["run", "--mode=sandbox", "--cwd", project, "--", "echo ok; test -f /.dockerenv && echo in-container"],
        dir,
        {
          STIGMER_SANDBOX_IMAGE: BASIC_IMAGE,
        },
      );
      // Only the sandbox's progress ("stigmer: create: starting sandbox …") on stderr.
      expect(r.stderr).not.toMatch(/[A-Z]{4,}_[A-Z_]+:|Error/);
      expect(r.stdout).toBe("ok\nin-container");
      expect(r.exitCode).toBe(0);
    }, 300_000);
  });
});

describe("the library from the monorepo's build", () => {
  it("an uncaught error reads the same as from an installed package", async () => {
    // --eval resolves imports from the current directory: the test workspace package, where @stigmer/core is linked.
    const r = await run(process.execPath, ["--input-type=module", "--eval", FAILING_SCRIPT], join(repoRoot, "test"));
    expect(r.exitCode).toBe(1);
    expectReadableError(
      r.stderr,
      "PluginLoadError",
      "PLUGIN_LOAD_FAILED",
      'Plugin package "@acme/stigmer-sandbox-not-installed" is not installed',
    );
  });

  it("createExecutor() logs nothing unless a log level is given", async () => {
    const quiet = await run(process.execPath, ["--input-type=module", "--eval", LIBRARY_SCRIPT], join(repoRoot, "test"));
    expect(quiet.stderr).toBe("");
    expect(JSON.parse(quiet.stdout)).toMatchObject({ exitCode: 3, stdout: "ok\n" });
    const logged = await run(process.execPath, ["--input-type=module", "--eval", LIBRARY_SCRIPT], join(repoRoot, "test"), {
      STIGMER_LOG_LEVEL: "info",
    });
    expect(JSON.parse(logged.stderr.trim())).toMatchObject({ level: 30, msg: "execution finished", exitCode: 3 });
  });
});
