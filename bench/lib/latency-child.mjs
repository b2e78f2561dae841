// Streaming latency, in a fresh process (started by bench/local.mjs): the command prints bash's
// $EPOCHREALTIME (wall clock, microseconds) as its first chunk, sleeps 1 s, and prints it again.
// The listener stamps each chunk on arrival with performance.timeOrigin + performance.now() (wall
// clock, sub-millisecond); the difference is the time from the child's write to the caller's
// onEvent. A bare execa('bash', ['-c', same command]) reading its stdout pipe directly is
// interleaved with it, so the pipe's own share is visible.
//
// Prints one JSON line on stdout.
import { execa } from "execa";
import { benchExecutor } from "./executor.mjs";

const RUNS = Number(process.env.BENCH_LATENCY_RUNS ?? 10);
const COMMAND = "echo $EPOCHREALTIME; sleep 1; echo $EPOCHREALTIME";

const wallNow = () => performance.timeOrigin + performance.now();

/** Stamps chunks as they arrive; returns per-line latencies once both lines are in. */
function collector() {
  let text = "";
  const arrivals = [];
  return {
    chunk(data) {
      const at = wallNow();
      text += Buffer.from(data).toString("utf8");
      arrivals.push({ at, bytes: data.byteLength, textLength: text.length });
    },
    finish() {
      const lines = text.split("\n").filter((line) => line !== "");
      if (lines.length !== 2) throw new Error(`expected two timestamp lines, got ${JSON.stringify(text)}`);
      // Which chunk carried each line: the first arrival whose accumulated text reaches the line's end.
      let offset = 0;
      return lines.map((line) => {
        offset = text.indexOf("\n", offset) + 1;
        const arrival = arrivals.find((a) => a.textLength >= offset);
        const sentMs = Number(line.trim().replace(",", ".")) * 1000;
        if (!Number.isFinite(sentMs)) throw new Error(`not a timestamp: ${JSON.stringify(line)} (bash without $EPOCHREALTIME?)`);
        return { latencyMs: arrival.at - sentMs, chunks: arrivals.length };
      });
    },
  };
}

async function viaExecutor(executor) {
  const c = collector();
  const result = await executor.run(
    { command: COMMAND },
    {
      onEvent(event) {
        if (event.type === "stdout") c.chunk(event.data);
      },
    },
  );
  if (result.exitCode !== 0) throw new Error(`executor run exited ${result.exitCode}: ${result.stderr}`);
  return c.finish();
}

async function viaExeca() {
  const c = collector();
  const child = execa("bash", ["-c", COMMAND], { buffer: false });
  child.stdout.on("data", (chunk) => c.chunk(chunk));
  await child;
  return c.finish();
}

// The two clocks must agree for the measurement to mean anything. Date.now() is the wall clock
// truncated to 1 ms, so over many calls mean(Date.now() - wallNow()) + 0.5 estimates the offset of
// wallNow() from the wall clock: negative means wallNow() runs ahead, so latencies read too high.
function clockOffsetMs() {
  let sum = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) sum += Date.now() - wallNow();
  return sum / n + 0.5;
}

const executor = await benchExecutor();
await viaExecutor(executor); // warm-up
await viaExeca();
const offsetBefore = clockOffsetMs();
const executorRuns = [];
const execaRuns = [];
for (let i = 0; i < RUNS; i++) {
  // Alternate which side goes first.
  if (i % 2 === 0) {
    executorRuns.push(await viaExecutor(executor));
    execaRuns.push(await viaExeca());
  } else {
    execaRuns.push(await viaExeca());
    executorRuns.push(await viaExecutor(executor));
  }
}
const offsetAfter = clockOffsetMs();
await executor.dispose();

process.stdout.write(
  `${JSON.stringify({
    runs: RUNS,
    command: COMMAND,
    clockOffsetMs: [offsetBefore, offsetAfter],
    executor: {
      firstChunkMs: executorRuns.map((r) => r[0].latencyMs),
      secondChunkMs: executorRuns.map((r) => r[1].latencyMs),
      chunks: executorRuns.map((r) => r[0].chunks),
    },
    execa: {
      firstChunkMs: execaRuns.map((r) => r[0].latencyMs),
      secondChunkMs: execaRuns.map((r) => r[1].latencyMs),
      chunks: execaRuns.map((r) => r[0].chunks),
    },
  })}\n`,
);
