import type { OutputSink, OutputStream } from "@stigmer/core";
import WebSocket from "ws";

/**
 * Splits Daytona's session log stream into stdout and stderr, byte-exact. The daemon prefixes each
 * stdout line with 01 01 01 and each stderr line with 02 02 02; frames split anywhere, also inside
 * a marker. (The SDK's own demuxer decodes to text and, in 0.218, leaks a marker into the output
 * when a frame boundary falls inside one: this one carries partial markers over.)
 */
export class LogDemuxer {
  private current: OutputStream | undefined;
  private carry: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array, emit: (stream: OutputStream, bytes: Uint8Array) => void): void {
    const buf = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.carry = Buffer.alloc(0);
    const out = (from: number, to: number) => {
      if (to > from && this.current) emit(this.current, buf.subarray(from, to));
    };
    let start = 0;
    for (let i = 0; i < buf.length; ) {
      const b = buf[i];
      if (b !== 1 && b !== 2) {
        i++;
        continue;
      }
      if (i + 2 >= buf.length) {
        // Maybe the start of a marker cut by the frame: keep it for the next frame.
        if (buf.subarray(i).every((x) => x === b)) {
          out(start, i);
          this.carry = Buffer.from(buf.subarray(i));
          return;
        }
        i++;
        continue;
      }
      if (buf[i + 1] === b && buf[i + 2] === b) {
        out(start, i);
        this.current = b === 1 ? "stdout" : "stderr";
        i += 3;
        start = i;
        continue;
      }
      i++;
    }
    out(start, buf.length);
  }

  /** Bytes held back at the end of the stream were output after all. */
  flush(emit: (stream: OutputStream, bytes: Uint8Array) => void): void {
    if (this.carry.length > 0 && this.current) emit(this.current, this.carry);
    this.carry = Buffer.alloc(0);
  }
}

/**
 * Writes to the sink in order, one write at a time, merging chunks of the same stream that queue
 * up behind a slow write (a slow reader gets fewer, larger chunks instead of a backlog of lines).
 */
export class OrderedWriter {
  private readonly queue: Array<{ stream: OutputStream; parts: Uint8Array[] }> = [];
  private pumping: Promise<void> | undefined;
  private failure: unknown;
  queuedBytes = 0;

  constructor(
    private readonly output: OutputSink,
    private readonly onDrained: () => void = () => {},
  ) {}

  push(stream: OutputStream, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const last = this.queue.at(-1);
    if (last && last.stream === stream) last.parts.push(bytes);
    else this.queue.push({ stream, parts: [bytes] });
    this.queuedBytes += bytes.length;
    this.pumping ??= this.pump();
  }

  private async pump(): Promise<void> {
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        const data = next.parts.length === 1 ? (next.parts[0] as Uint8Array) : Buffer.concat(next.parts);
        this.queuedBytes -= data.length;
        await this.output.write(next.stream, data);
        if (this.queuedBytes === 0) this.onDrained();
      }
    } catch (error) {
      this.failure = error;
      this.queue.length = 0;
    } finally {
      this.pumping = undefined;
    }
  }

  /** Resolves when everything pushed so far is written; rejects with the sink's error. */
  async drain(): Promise<void> {
    while (this.pumping) await this.pumping;
    if (this.failure) throw this.failure;
  }
}

/** How a followed log ended. */
export interface LogEnd {
  /** The WebSocket was opened (the upgrade answered 101). */
  opened: boolean;
  /**
   * The server closed it normally (1000): the daemon does that only once the command's exit code
   * is written (or its session is deleted), after sending the whole log. Anything else (refused,
   * dropped, another close code) says nothing about whether the output is complete.
   */
  normal: boolean;
  /** What went wrong, for messages: `HTTP 502`, `close 1011`, `ECONNRESET`… */
  why?: string;
}

/** A followed log: ends (resolves) when the server closes it or it drops; never rejects. */
export interface LogFollow {
  readonly ended: Promise<LogEnd>;
  pause(): void;
  resume(): void;
  close(): void;
}

/** Opens `…/command/{cid}/logs?follow=true` with the SDK's own toolbox URL and headers. */
export function followLog(url: string, headers: Record<string, string>, onFrame: (bytes: Uint8Array) => void): LogFollow {
  const socket = new WebSocket(url.replace(/^http/, "ws"), { headers });
  let opened = false;
  let why: string | undefined;
  const ended = new Promise<LogEnd>((resolve) => {
    socket.on("open", () => {
      opened = true;
    });
    socket.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => {
      onFrame(Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data);
    });
    // The upgrade was answered with an HTTP status instead of 101 (a proxy's 502, a 401…).
    socket.on("unexpected-response", (_request, response) => {
      why = `HTTP ${response.statusCode}`;
      response.resume();
      socket.terminate();
    });
    socket.on("close", (code: number) => {
      const normal = opened && code === 1000;
      if (!normal && why === undefined) why = opened ? `close ${code}` : "not opened";
      resolve({ opened, normal, ...(why !== undefined ? { why } : {}) });
    });
    socket.on("error", (error: Error & { code?: string }) => {
      why ??= error.code ?? error.message;
    });
  });
  return {
    ended,
    pause: () => socket.readyState === WebSocket.OPEN && socket.pause(),
    resume: () => socket.readyState === WebSocket.OPEN && socket.resume(),
    close: () => socket.terminate(),
  };
}
