import assert from "node:assert/strict";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Backend } from "../backend.js";
import { ErrorCode, StigmerError } from "../errors.js";
import { SUPPORTED_SPECIFICATION_VERSIONS } from "../plugin.js";
import { type ExecuteOnOptions, executeOn } from "../run-on-backend.js";
import type { ExecEvent, ExecRequest, ExecResult } from "../types.js";
import type { TestApi } from "./test-api.js";

/** Groups of the backend suite; each can be skipped by name (say why in your test file). */
export const BACKEND_CONFORMANCE_GROUPS = [
  "exit-codes",
  "streams",
  "streaming",
  "env",
  "cwd",
  "workspace",
  "stdin",
  "large-output",
  "timeout",
  "cancel",
  "process-tree",
  "concurrency",
  "capabilities",
  "dispose",
] as const;
export type BackendConformanceGroup = (typeof BACKEND_CONFORMANCE_GROUPS)[number];

export interface BackendConformanceOptions {
  /** Shown in test names. */
  name: string;
  /** Makes a fresh backend. Called once for the shared instance and again for the dispose tests. */
  create(): Backend | Promise<Backend>;
  /** The runner's functions (vitest: `{ describe, it, beforeAll, afterAll }`). */
  test: TestApi;
  /**
   * The project directory tests run in. Default: a new temp directory. The `cwd` group writes a
   * file there on the host and expects the command to read it (and the reverse) — a backend whose
   * commands cannot see the host directory skips `cwd`.
   */
  workdir?: () => string | Promise<string>;
  /** Groups to leave out. */
  skip?: Partial<Record<BackendConformanceGroup, boolean>>;
  /** Multiplies every per-test time limit (slow backends such as cloud sandboxes). Default 1. */
  timeoutScale?: number;
}

interface Run {
  result: ExecResult;
  events: ExecEvent[];
  /** When each event arrived (ms since the run began). */
  times: number[];
}

const decoder = () => new TextDecoder();

/**
 * The contract's other half: registers tests that any {@link Backend} must pass. Run it from your
 * backend package's own test file:
 *
 * ```ts
 * import { describe, it, beforeAll, afterAll } from "vitest";
 * import { runBackendConformance } from "@stigmer/core/testing";
 * runBackendConformance({ name: "my-backend", create: () => new MyBackend(...), test: { describe, it, beforeAll, afterAll } });
 * ```
 */
export function runBackendConformance(options: BackendConformanceOptions): void {
  const { test } = options;
  const scale = options.timeoutScale ?? 1;
  const limit = (ms: number) => Math.round(ms * scale);
  let backend: Backend;
  let workdir: string;
  let ownWorkdir = false;

  const run = async (request: Omit<ExecRequest, "cwd"> & { cwd?: string }, extra: ExecuteOnOptions = {}): Promise<Run> => {
    const events: ExecEvent[] = [];
    const times: number[] = [];
    const started = performance.now();
    const result = await executeOn(
      backend,
      { cwd: workdir, ...request },
      {
        ...extra,
        onEvent: async (event) => {
          events.push(event);
          times.push(performance.now() - started);
          await extra.onEvent?.(event);
        },
      },
    );
    return { result, events, times };
  };
  const text = (events: ExecEvent[], stream: "stdout" | "stderr") => {
    const d = decoder();
    return events.map((e) => (e.type === stream ? d.decode(e.data, { stream: true }) : "")).join("") + d.decode();
  };
  const expectCode = async (promise: Promise<unknown>, code: string) => {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(StigmerError.isInstance(error), `expected a StigmerError with code ${code}, got ${String(error)}`);
      assert.equal(error.code, code);
      return true;
    });
  };
  const group = (name: BackendConformanceGroup, body: () => void) => {
    if (!options.skip?.[name]) test.describe(name, body);
  };
  // A process-name marker unique to this suite run, to find leftovers of the process-tree tests.
  const marker = String(900000 + Math.floor(Math.random() * 90000));
  const scanMarker = `for f in /proc/[0-9]*/cmdline; do tr '\\000' ' ' < "$f" 2>/dev/null; echo; done`;
  const countMarker = `${scanMarker} | grep -c 'sleep ${marker}[0-9]' || true`;
  // Kills leftovers of the tests that leave a background process running on purpose.
  const killMarker = `for f in /proc/[0-9]*/cmdline; do if tr '\\000' ' ' < "$f" 2>/dev/null | grep -q 'sleep ${marker}[0-9]'; then p=\${f#/proc/}; kill -9 \${p%/cmdline} 2>/dev/null; fi; done; true`;

  test.describe(`${options.name}: backend conformance`, () => {
    test.beforeAll(async () => {
      backend = await options.create();
      if (options.workdir) {
        workdir = await options.workdir();
      } else {
        workdir = mkdtempSync(join(tmpdir(), "stigmer-conformance-"));
        ownWorkdir = true;
      }
    }, limit(120_000));
    test.afterAll(async () => {
      await backend?.dispose();
      if (ownWorkdir) rmSync(workdir, { recursive: true, force: true });
    }, limit(60_000));

    test.it("declares the plugin contract version, a name and its capabilities", async () => {
      assert.ok(
        SUPPORTED_SPECIFICATION_VERSIONS.includes(backend.specificationVersion),
        `specificationVersion must be one of ${SUPPORTED_SPECIFICATION_VERSIONS.join(", ")} (got ${String(backend.specificationVersion)})`,
      );
      assert.equal(typeof backend.name, "string");
      assert.ok(backend.name.length > 0);
      for (const key of ["stdin", "env", "cancel", "separateStreams"] as const) {
        assert.equal(typeof backend.capabilities[key], "boolean", `capabilities.${key} must be a boolean`);
      }
    });

    group("exit-codes", () => {
      for (const code of [0, 1, 42, 255]) {
        test.it(
          `reports exit code ${code}`,
          async () => {
            const { result } = await run({ command: `exit ${code}` });
            assert.equal(result.exitCode, code);
            assert.equal(result.timedOut, false);
            assert.equal(result.cancelled, false);
          },
          limit(30_000),
        );
      }
      test.it(
        "reports a command killed by a signal as signal or 128+n",
        async () => {
          const { result } = await run({ command: "kill -9 $$" });
          assert.ok(result.signal === "SIGKILL" || result.exitCode === 137, `got exitCode ${result.exitCode}, signal ${result.signal}`);
        },
        limit(30_000),
      );
      test.it(
        "a failing command is a result, not an error",
        async () => {
          const { result } = await run({ command: "definitely-not-a-command-stigmer" });
          assert.equal(result.exitCode, 127);
        },
        limit(30_000),
      );
    });

    group("streams", () => {
      test.it(
        "keeps stdout and stderr apart, each in order",
        async () => {
          const { result, events } = await run({
            command: 'i=1; while [ $i -le 300 ]; do echo "o$i"; echo "e$i" >&2; i=$((i+1)); done',
          });
          const expected = (p: string) => Array.from({ length: 300 }, (_, i) => `${p}${i + 1}\n`).join("");
          if (backend.capabilities.separateStreams) {
            assert.equal(text(events, "stdout"), expected("o"));
            assert.equal(text(events, "stderr"), expected("e"));
            assert.equal(result.stdout, expected("o"));
            assert.equal(result.stderr, expected("e"));
          } else {
            const all = text(events, "stdout");
            assert.equal(
              all
                .split("\n")
                .filter((l) => l.startsWith("o"))
                .join("\n"),
              expected("o").trimEnd(),
            );
          }
        },
        limit(30_000),
      );
      test.it(
        "a slow reader still gets every byte, also what was written just before the exit",
        async () => {
          let streamed = 0;
          const { result } = await run(
            // Printable lines: this is about backpressure, not binary transparency (line-based
            // transports such as a cloud sandbox's session logs carry text).
            { command: "yes abcdefghi | head -c 400000" },
            {
              onEvent: async (e) => {
                if (e.type !== "stdout") return;
                streamed += e.data.length;
                await new Promise((resolve) => setTimeout(resolve, 20));
              },
            },
          );
          assert.equal(result.exitCode, 0);
          assert.equal(streamed, 400_000);
          assert.equal(result.stdoutBytes, 400_000);
        },
        limit(60_000),
      );
      test.it(
        "a background process that keeps the output pipes open does not hold the result",
        async () => {
          const started = performance.now();
          const { result } = await run({ command: `sleep ${marker}5 & echo done` });
          await run({ command: killMarker });
          assert.equal(result.exitCode, 0);
          assert.equal(result.stdout, "done\n");
          assert.ok(performance.now() - started < limit(15_000), "exec waited for the background process");
        },
        limit(30_000),
      );
      test.it(
        "emits start first and exit last, once each",
        async () => {
          const { events } = await run({ command: "echo hi" });
          assert.equal(events[0]?.type, "start");
          assert.equal(events.at(-1)?.type, "exit");
          assert.equal(events.filter((e) => e.type === "start").length, 1);
          assert.equal(events.filter((e) => e.type === "exit").length, 1);
        },
        limit(30_000),
      );
    });

    group("streaming", () => {
      test.it(
        "delivers a chunk before the command ends",
        async () => {
          const { events, times } = await run({ command: "echo first; sleep 1.5; echo second" });
          const first = events.findIndex((e) => e.type === "stdout" && decoder().decode(e.data).includes("first"));
          const exit = events.findIndex((e) => e.type === "exit");
          assert.ok(first >= 0 && exit > first);
          const gap = (times[exit] as number) - (times[first] as number);
          assert.ok(gap >= 1000, `"first" arrived only ${gap.toFixed(0)} ms before the end: output is buffered, not streamed`);
        },
        limit(30_000),
      );
    });

    group("env", () => {
      test.it(
        "adds request variables to the environment",
        async () => {
          const env = { STIGMER_T1: "two words", STIGMER_T2: `quote's "and" $dollar`, STIGMER_T3: "ünï©ødé" };
          if (!backend.capabilities.env) {
            await expectCode(run({ command: "true", env }), ErrorCode.CAPABILITY_UNSUPPORTED);
            return;
          }
          const { result } = await run({ command: 'printf "%s|%s|%s" "$STIGMER_T1" "$STIGMER_T2" "$STIGMER_T3"', env });
          assert.equal(result.stdout, `${env.STIGMER_T1}|${env.STIGMER_T2}|${env.STIGMER_T3}`);
        },
        limit(30_000),
      );
    });

    group("cwd", () => {
      test.it(
        "runs in the project directory",
        async () => {
          const name = `conformance-${marker}.txt`;
          writeFileSync(join(workdir, name), "from the host\n");
          const { result } = await run({ command: `cat ${name} && echo "from the command" > back-${name}` });
          assert.equal(result.exitCode, 0, result.stderr);
          assert.equal(result.stdout, "from the host\n");
          assert.equal(readFileSync(join(workdir, `back-${name}`), "utf8"), "from the command\n");
        },
        limit(30_000),
      );
    });

    group("workspace", () => {
      test.it(
        "sync: changes and deletions come back; what must not (setuid, links out, git config, Stigmer's config) is refused and reported",
        async () => {
          if (!backend.capabilities.workspace?.includes("sync")) return;
          const dir = join(workdir, `sync-${marker}`);
          mkdirSync(join(dir, "sub"), { recursive: true });
          writeFileSync(join(dir, "keep.txt"), "host\n");
          writeFileSync(join(dir, "sub", "gone.txt"), "host\n");
          const { result } = await run(
            {
              command: [
                "echo changed > keep.txt",
                "rm sub/gone.txt",
                "mkdir -p new && echo new > new/made.txt && chmod 4755 new/made.txt",
                "ln -s /etc/passwd out",
                "mkdir -p .git && echo '[core]' > .git/config",
                "echo '{}' > stigmer.config.json",
              ].join(" && "),
              cwd: dir,
            },
            { workspace: "sync" },
          );
          assert.equal(result.exitCode, 0, result.stderr);
          assert.equal(readFileSync(join(dir, "keep.txt"), "utf8"), "changed\n");
          assert.equal(existsSync(join(dir, "sub", "gone.txt")), false, "a deletion in the sandbox comes back");
          assert.equal(readFileSync(join(dir, "new", "made.txt"), "utf8"), "new\n");
          assert.equal(lstatSync(join(dir, "new", "made.txt")).mode & 0o7000, 0, "never setuid on the host");
          for (const path of ["out", ".git/config", "stigmer.config.json"]) {
            assert.equal(existsSync(join(dir, path)), false, `${path} is kept out of the project`);
            assert.ok(
              result.workspace?.refused.some((r) => r.path === path),
              `the exit event reports ${path} as refused: ${JSON.stringify(result.workspace)}`,
            );
          }
        },
        limit(60_000),
      );

      test.it(
        "mount: the command works on the project directory itself",
        async () => {
          if (!backend.capabilities.workspace?.includes("mount")) return;
          const dir = join(workdir, `mount-${marker}`);
          mkdirSync(dir, { recursive: true });
          writeFileSync(join(dir, "in.txt"), "host\n");
          const { result } = await run({ command: "cat in.txt && echo made > out.txt", cwd: dir }, { workspace: "mount" });
          assert.equal(result.stdout, "host\n", result.stderr);
          assert.equal(readFileSync(join(dir, "out.txt"), "utf8"), "made\n");
        },
        limit(60_000),
      );
    });

    group("stdin", () => {
      test.it(
        "feeds text, bytes and streams to stdin",
        async () => {
          if (!backend.capabilities.stdin) {
            await expectCode(run({ command: "cat", stdin: "x" }), ErrorCode.CAPABILITY_UNSUPPORTED);
            return;
          }
          assert.equal((await run({ command: "cat", stdin: "line1\nline2\n" })).result.stdout, "line1\nline2\n");
          assert.equal((await run({ command: "wc -c", stdin: new Uint8Array(1000).fill(65) })).result.stdout.trim(), "1000");
          async function* chunks() {
            for (const part of ["a", "b", "c"]) yield new TextEncoder().encode(`${part}\n`);
          }
          assert.equal((await run({ command: "cat", stdin: chunks() })).result.stdout, "a\nb\nc\n");
        },
        limit(30_000),
      );
      test.it(
        "gives end-of-file at once when there is no stdin",
        async () => {
          const { result } = await run({ command: "cat; echo done", ...(backend.capabilities.cancel ? { timeoutMs: limit(10_000) } : {}) });
          assert.equal(result.timedOut, false, "a command reading stdin must not wait for input that never comes");
          assert.equal(result.stdout, "done\n");
        },
        limit(30_000),
      );
    });

    group("large-output", () => {
      test.it(
        "streams every byte and retains head and tail within the limit",
        async () => {
          const total = 3_000_000;
          let streamed = 0;
          const { result } = await run(
            { command: `head -c ${total} /dev/zero | tr '\\000' x; echo; echo END` },
            {
              outputLimitBytes: 65_536,
              onEvent: (e) => {
                if (e.type === "stdout") streamed += e.data.length;
              },
            },
          );
          assert.equal(streamed, total + 5);
          assert.equal(result.stdoutBytes, total + 5);
          assert.equal(result.truncated, true);
          assert.ok(result.stdout.length < 70_000, `retained ${result.stdout.length} characters`);
          assert.ok(result.stdout.startsWith("xxxx"));
          assert.ok(result.stdout.endsWith("x\nEND\n"));
          assert.match(result.stdout, /\[stigmer: \d+ bytes omitted\]/);
        },
        limit(60_000),
      );
    });

    group("timeout", () => {
      test.it(
        "kills the command when the timeout passes",
        async () => {
          if (!backend.capabilities.cancel) {
            await expectCode(run({ command: "true", timeoutMs: 1000 }), ErrorCode.CAPABILITY_UNSUPPORTED);
            return;
          }
          const started = performance.now();
          const { result } = await run({ command: `echo started; sleep ${marker}6`, timeoutMs: 500 });
          assert.equal(result.timedOut, true);
          assert.equal(result.cancelled, false);
          assert.notEqual(result.exitCode, 0);
          assert.ok(performance.now() - started < limit(15_000), "the timed-out command was not stopped");
          assert.equal((await run({ command: countMarker })).result.stdout.trim(), "0", "the timed-out command is still running");
        },
        limit(30_000),
      );
    });

    group("cancel", () => {
      test.it(
        "an AbortSignal stops the running command",
        async () => {
          if (!backend.capabilities.cancel) {
            await expectCode(run({ command: "true", signal: new AbortController().signal }), ErrorCode.CAPABILITY_UNSUPPORTED);
            return;
          }
          const controller = new AbortController();
          const { result } = await run(
            { command: `echo started; sleep ${marker}7`, signal: controller.signal },
            {
              onEvent: (e) => {
                if (e.type === "stdout") controller.abort();
              },
            },
          );
          assert.equal(result.cancelled, true);
          assert.equal(result.timedOut, false);
          assert.equal((await run({ command: countMarker })).result.stdout.trim(), "0", "the cancelled command is still running");
        },
        limit(30_000),
      );
      test.it(
        "an already aborted signal rejects with CANCELLED and runs nothing",
        async () => {
          if (!backend.capabilities.cancel) return;
          const controller = new AbortController();
          controller.abort();
          const name = `never-${marker}.txt`;
          await expectCode(run({ command: `touch ${name}`, signal: controller.signal }), ErrorCode.CANCELLED);
          const { result } = await run({ command: `test -e ${name} && echo exists || echo absent` });
          assert.equal(result.stdout, "absent\n");
        },
        limit(30_000),
      );
    });

    group("process-tree", () => {
      test.it(
        "timeout and cancellation kill the whole process tree",
        async () => {
          if (!backend.capabilities.cancel) return;
          const tree = `sh -c 'sleep ${marker}1 & sleep ${marker}2 & echo started; wait'`;
          const { result } = await run({ command: tree, timeoutMs: 1500 });
          assert.equal(result.timedOut, true);
          const controller = new AbortController();
          await run(
            { command: `${tree} & sleep ${marker}3; wait`, signal: controller.signal },
            {
              onEvent: (e) => {
                if (e.type === "stdout") controller.abort();
              },
            },
          );
          const left = await run({ command: countMarker });
          assert.equal(left.result.stdout.trim(), "0", "processes of killed commands are still running");
        },
        limit(60_000),
      );
    });

    group("concurrency", () => {
      test.it(
        "runs concurrent commands with unmixed output",
        async () => {
          const runs = await Promise.all(
            Array.from({ length: 8 }, (_, i) =>
              run({ command: `echo start-${i}; sleep 0.3; echo end-${i} >&2; echo end-${i}; exit ${i}` }),
            ),
          );
          runs.forEach(({ result }, i) => {
            assert.equal(result.exitCode, i);
            assert.equal(result.stdout, `start-${i}\nend-${i}\n`);
            if (backend.capabilities.separateStreams) assert.equal(result.stderr, `end-${i}\n`);
          });
        },
        limit(60_000),
      );
    });

    group("capabilities", () => {
      test.it(
        "refuses what it does not declare, accepts what it does",
        async () => {
          const caps = backend.capabilities;
          const probes: Array<[boolean, Omit<ExecRequest, "cwd">]> = [
            [caps.stdin, { command: "cat >/dev/null", stdin: "x" }],
            [caps.env, { command: "true", env: { STIGMER_PROBE: "1" } }],
            [caps.cancel, { command: "true", timeoutMs: 20_000 }],
          ];
          for (const [supported, request] of probes) {
            if (supported) assert.equal((await run(request)).result.exitCode, 0);
            else await expectCode(run(request), ErrorCode.CAPABILITY_UNSUPPORTED);
          }
        },
        limit(30_000),
      );
    });

    group("dispose", () => {
      test.it(
        "dispose stops running commands and later exec calls fail with BACKEND_UNAVAILABLE",
        async () => {
          const own = await options.create();
          // Settled into a value at once: dispose may reject it before we get to await it.
          const running = executeOn(own, { command: `echo started; sleep ${marker}4`, cwd: workdir }).catch((error: unknown) => error);
          await new Promise((resolve) => setTimeout(resolve, 300));
          await own.dispose();
          const result = await running;
          if (StigmerError.isInstance(result)) {
            assert.ok(
              [ErrorCode.CANCELLED, ErrorCode.BACKEND_UNAVAILABLE, ErrorCode.EXECUTION_FAILED].includes(result.code as never),
              `unexpected ${result.code}`,
            );
          } else {
            assert.ok(!(result instanceof Error), String(result));
            assert.notEqual((result as ExecResult).exitCode, 0);
          }
          await own.dispose(); // idempotent
          await expectCode(executeOn(own, { command: "true", cwd: workdir }), ErrorCode.BACKEND_UNAVAILABLE);
          const left = await run({ command: countMarker });
          assert.equal(left.result.stdout.trim(), "0", "dispose left the running command's processes behind");
        },
        limit(60_000),
      );
    });
  });
}
