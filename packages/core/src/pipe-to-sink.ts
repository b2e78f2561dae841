import type { Readable } from "node:stream";
import type { OutputSink } from "./backend.js";
import type { OutputStream } from "./types.js";

/**
 * For backends: copies `stream` to `output` chunk by chunk and resolves when the pipe has closed. The pipe is
 * paused until each `output.write` settles: that is the backpressure the contract asks for.
 *
 * Once `exited` settles, the pipe is given `drainMs` of waiting in total, then closed, because a
 * background process that inherited it can keep it open for ever. Only time spent waiting for the
 * pipe counts, not time spent in `output.write`: a slow reader must not lose output that the
 * command wrote before it exited.
 */
export function pipeToSink(
  stream: Readable,
  name: OutputStream,
  output: OutputSink,
  exited: Promise<unknown>,
  drainMs: number,
): Promise<void> {
  return new Promise((resolve) => {
    let budget = drainMs;
    let draining = false;
    let closed = false;
    let waitingSince: number | undefined;
    let timer: NodeJS.Timeout | undefined;

    const startWaiting = () => {
      if (!draining || closed) return;
      waitingSince = performance.now();
      timer = setTimeout(() => stream.destroy(), Math.max(0, budget));
    };
    const stopWaiting = () => {
      if (waitingSince === undefined) return;
      clearTimeout(timer);
      budget -= performance.now() - waitingSince;
      waitingSince = undefined;
    };

    stream.on("data", (chunk: Buffer) => {
      stopWaiting();
      stream.pause();
      Promise.resolve(output.write(name, chunk)).then(
        () => {
          stream.resume();
          startWaiting();
        },
        // The sink failed: the executor aborts the request, which kills the command.
        () => stream.destroy(),
      );
    });
    // A read error ends the pipe like EOF; 'close' follows.
    stream.on("error", () => {});
    stream.on("close", () => {
      closed = true;
      stopWaiting();
      resolve();
    });
    const onExit = () => {
      draining = true;
      if (!stream.isPaused()) startWaiting();
    };
    exited.then(onExit, onExit);
  });
}

/**
 * Writes `chunk` to `stream` with backpressure: `undefined` when the stream can take more at once
 * (no promise to await on the hot path), else a promise that resolves once it drains, fails or
 * closes. Nothing is written to a stream that is already destroyed or has failed.
 */
export function writeOrWait(
  stream: NodeJS.WritableStream & { destroyed?: boolean; errored?: unknown },
  chunk: string | Uint8Array,
): Promise<void> | undefined {
  if (stream.destroyed || stream.errored) return undefined;
  if (stream.write(chunk)) return undefined;
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done).off("error", done).off("close", done);
      resolve();
    };
    stream.on("drain", done).on("error", done).on("close", done);
  });
}
