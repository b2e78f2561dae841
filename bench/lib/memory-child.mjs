// Memory while streaming 1e9 bytes (`head -c 1000000000 /dev/zero`), in a fresh process started
// by bench/local.mjs, so earlier benches do not pollute RSS.
//
//   node bench/lib/memory-child.mjs executor   through Executor.run, onEvent counting bytes
//   node bench/lib/memory-child.mjs execa      bare execa('bash', ['-c', …], { buffer: false }) for comparison
//
// RSS is sampled every 10 ms by a worker thread (process.memoryUsage.rss() is process-wide), so the
// samples keep coming even when the main thread is busy moving chunks. The kernel's high-water
// mark (process.resourceUsage().maxRSS) is reported too: it catches a peak between two samples.
//
// Prints one JSON line on stdout.
import { Worker } from "node:worker_threads";
import { execa } from "execa";
import { benchExecutor } from "./executor.mjs";

const BYTES = 1_000_000_000;
const COMMAND = `head -c ${BYTES} /dev/zero`;
const INTERVAL_MS = 10;
const side = process.argv[2];
if (side !== "executor" && side !== "execa") throw new Error("usage: memory-child.mjs executor|execa");

// Shared state, in KiB so it fits Int32 and Atomics: [stop, peakKiB, samples, lastKiB].
const shared = new Int32Array(new SharedArrayBuffer(16));
const STOP = 0;
const PEAK = 1;
const SAMPLES = 2;
const sampler = new Worker(
  `const { workerData: shared } = require("node:worker_threads");
   while (Atomics.load(shared, 0) === 0) {
     const kib = Math.round(process.memoryUsage.rss() / 1024);
     if (kib > Atomics.load(shared, 1)) Atomics.store(shared, 1, kib);
     Atomics.add(shared, 2, 1);
     Atomics.store(shared, 3, kib);
     Atomics.wait(shared, 0, 0, ${INTERVAL_MS});
   }`,
  { eval: true, workerData: shared },
);
const samplerDone = new Promise((resolve, reject) => {
  sampler.once("exit", resolve);
  sampler.once("error", reject);
});
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
while (Atomics.load(shared, SAMPLES) < 5) await sleep(INTERVAL_MS);

const executor = side === "executor" ? await benchExecutor() : undefined;
if (side === "execa") await execa("bash", ["-c", "true"]); // the same warm-up as the executor side
await sleep(200);

// Baseline: median of the RSS over 200 ms of idling, then the peak is reset.
const idle = [];
for (let i = 0; i < 20; i++) {
  idle.push(process.memoryUsage.rss());
  await sleep(INTERVAL_MS);
}
idle.sort((a, b) => a - b);
const baselineRss = idle[idle.length >> 1];
const maxRssBefore = process.resourceUsage().maxRSS * 1024;
Atomics.store(shared, PEAK, 0);
const samplesBefore = Atomics.load(shared, SAMPLES);

let streamed = 0;
let chunks = 0;
let exitCode;
let resultBytes;
const started = performance.now();
if (executor) {
  const result = await executor.run(
    { command: COMMAND },
    {
      onEvent(event) {
        if (event.type === "stdout") {
          streamed += event.data.byteLength;
          chunks++;
        }
      },
    },
  );
  exitCode = result.exitCode;
  resultBytes = result.stdoutBytes;
} else {
  const child = execa("bash", ["-c", COMMAND], { buffer: false, encoding: "buffer", stdin: "ignore" });
  child.stdout.on("data", (chunk) => {
    streamed += chunk.byteLength;
    chunks++;
  });
  exitCode = (await child).exitCode;
  resultBytes = streamed;
}
const seconds = (performance.now() - started) / 1000;
const rssAtEnd = process.memoryUsage.rss();
Atomics.store(shared, STOP, 1);
Atomics.notify(shared, STOP);
await samplerDone;
const peakRss = Math.max(Atomics.load(shared, PEAK) * 1024, rssAtEnd);
const samples = Atomics.load(shared, SAMPLES) - samplesBefore;
const maxRssAfter = process.resourceUsage().maxRSS * 1024;
await executor?.dispose();

process.stdout.write(
  `${JSON.stringify({
    side,
    command: COMMAND,
    exitCode,
    bytesExpected: BYTES,
    bytesStreamed: streamed,
    bytesInResult: resultBytes,
    chunks,
    seconds,
    throughputMBps: streamed / 1e6 / seconds,
    baselineRss,
    peakRss,
    growth: peakRss - baselineRss,
    rssAtEnd,
    maxRssBefore,
    maxRssAfter,
    // The kernel's high-water mark above the baseline: a peak the 10 ms samples could have missed.
    maxRssGrowth: maxRssAfter - baselineRss,
    samples,
    sampleIntervalMs: (seconds * 1000) / Math.max(1, samples),
  })}\n`,
);
