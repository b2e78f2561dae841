import { DockerBackend, LABELS } from "@stigmer/backend-docker";
import {
  ARG_SAFE_BYTES,
  createLogger,
  ErrorCode,
  type ExecEvent,
  executeOn,
  MAX_COMMAND_BYTES,
  PROCESS_OWNER,
  resolveConfig,
} from "@stigmer/core";
import { stigmerErrorOf } from "@stigmer/core/testing";
import Docker from "dockerode";
import { afterAll, describe, expect, it } from "vitest";
import { runCli, tempProject } from "./helpers.js";

// Sandbox mode on Docker's plain `docker exec` path (images without the agent): the command text
// travels on the exec's stdin, not as an argument, and an exec that cannot start is an error, not
// output. Needs the test images from scripts/docker-setup.sh.
const BUSYBOX = "stigmer-test/busybox:1";
const DEBIAN = "stigmer-test/sandbox-basic:ci";
const docker = new Docker();
const projects: Array<{ cleanup(): void }> = [];
afterAll(async () => {
  for (const p of projects) p.cleanup();
  expect(await docker.listContainers({ all: true, filters: { label: [`${LABELS.owner}=${PROCESS_OWNER}`] } })).toEqual([]);
});
const projectDir = () => {
  const p = tempProject();
  projects.push(p);
  return p.dir;
};

describe.each([
  ["busybox: sh reads it with dd", BUSYBOX, {}],
  ["Debian, agent off: bash reads it with read -N", DEBIAN, { agent: false }],
] as const)("docker exec, %s", (_name, image, options) => {
  const backend = new DockerBackend(
    resolveConfig({ env: { STIGMER_SANDBOX_IMAGE: image, STIGMER_SANDBOX_TTL: "60" } }),
    createLogger({ level: "silent" }),
    options,
  );
  afterAll(() => backend.dispose(), 60_000);
  const cwd = projectDir();
  const run = (request: Parameters<typeof executeOn>[1]) => {
    const events: ExecEvent[] = [];
    return executeOn(backend, { mode: "sandbox", cwd, ...request }, { onEvent: (e) => void events.push(e) }).then((result) => ({
      result,
      events,
    }));
  };

  it("runs a command of nearly 1 MiB, with its own stdin after it intact and its exit status", async () => {
    const { result } = await run({
      command: `echo "$0 $#"; cat; : ${"x".repeat(MAX_COMMAND_BYTES - 100)}; echo end; exit 4`,
      stdin: "é first line\nsecond\n",
    });
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe(`${image === BUSYBOX ? "sh" : "bash"} 0\né first line\nsecond\nend\n`);
    expect(result.exitCode).toBe(4);
  }, 120_000);

  it("a timeout stops such a command", async () => {
    const { result } = await run({ command: `sleep 60; : ${"x".repeat(500_000)}`, timeoutMs: 2000 });
    expect(result.timedOut).toBe(true);
  }, 120_000);

  it("an exec Docker cannot start (an environment over Linux's limit) is EXECUTION_FAILED with Docker's reason, never output", async () => {
    const events: ExecEvent[] = [];
    const error = await stigmerErrorOf(
      executeOn(
        backend,
        // Each variable within the request limit (MAX_ENV_ENTRY_BYTES), together over what Linux takes
        // (ARG_MAX: 2 MiB with the default stack) and under Docker's 4 MiB API message.
        {
          mode: "sandbox",
          cwd,
          command: "echo never",
          env: Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`BIG${i}`, "x".repeat(120_000)])),
        },
        { onEvent: (e) => void events.push(e) },
      ),
    );
    expect(error.code).toBe(ErrorCode.EXECUTION_FAILED);
    expect(error.message).toContain("argument list too long");
    expect(error.message).toContain("environment is too large");
    expect(events.filter((e) => e.type === "stdout" || e.type === "stderr")).toEqual([]);
  }, 120_000);
});

// The default path: the in-sandbox agent starts the command. Over ARG_SAFE_BYTES the command
// text reaches its shell on stdin, ahead of the command's own stdin.
describe("the agent path (Debian with its agent)", () => {
  const backend = new DockerBackend(
    resolveConfig({ env: { STIGMER_SANDBOX_IMAGE: DEBIAN, STIGMER_SANDBOX_TTL: "60" } }),
    createLogger({ level: "silent" }),
    {},
  );
  afterAll(() => backend.dispose(), 60_000);
  const cwd = projectDir();
  const run = (request: Omit<Parameters<typeof executeOn>[1], "cwd" | "mode">) => executeOn(backend, { mode: "sandbox", cwd, ...request });

  it.each([
    ["just over the argument-safe size", ARG_SAFE_BYTES + 1],
    ["over Linux's 128 KiB argument limit", 200_000],
    ["nearly 1 MiB", MAX_COMMAND_BYTES - 100],
  ])(
    "runs a command %s whole, with its own stdin after it intact, its $0 and its exit status",
    async (_name, size) => {
      const head = `echo "$0 $#"; cat; : `;
      const tail = "; echo end; exit 4";
      const command = `${head}${"x".repeat(size - head.length - tail.length)}${tail}`;
      expect(Buffer.byteLength(command)).toBe(size);
      const result = await run({ command, stdin: "é first line\nsecond\n" });
      expect(result).toMatchObject({ stdout: "/bin/bash 0\né first line\nsecond\nend\n", stderr: "", exitCode: 4 });
    },
    120_000,
  );

  it("a large command without stdin gets end-of-file on its stdin; a timeout stops one", async () => {
    expect(await run({ command: `cat; echo "eof"; : ${"x".repeat(300_000)}` })).toMatchObject({ stdout: "eof\n", exitCode: 0 });
    const stopped = await run({ command: `sleep 60; : ${"x".repeat(500_000)}`, timeoutMs: 2000 });
    expect(stopped.timedOut).toBe(true);
  }, 120_000);
});

describe("stigmer run --mode=sandbox on the exec path", () => {
  it("runs a 1 MiB command given as arguments (none over 128 KiB)", async () => {
    const words = Array.from({ length: 10 }, () => "x".repeat(100_000));
    const r = await runCli(["run", "--mode=sandbox", "--sandbox-image", BUSYBOX, "--", "echo start; : ", ...words, "; echo end"], {
      cwd: projectDir(),
    });
    expect(r.stderr).not.toMatch(/too long|EXECUTION_FAILED/); // progress lines only
    expect(r.stdout).toBe("start\nend");
    expect(r.exitCode).toBe(0);
  }, 120_000);
});
