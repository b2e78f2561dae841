import type { Socket } from "node:net";
import { writeOrWait } from "@stigmer/core";
import { encodeFrame } from "./frames.js";

export interface AgentFrame {
  type: number;
  payload: Buffer;
}

/** Bytes of parsed frames held for a slow reader before the socket is paused (backpressure). */
const HIGH_WATER = 1024 * 1024;

/**
 * One connection to the in-sandbox agent, as frames: read them one at a time with `next()` (or
 * `for await`), write them with `send`. The socket is paused while unread frames pile up, so a
 * slow reader slows the agent down instead of filling memory.
 */
export class FrameSocket implements AsyncIterable<AgentFrame> {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly queue: AgentFrame[] = [];
  private queued = 0;
  private ended = false;
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;

  constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => this.finish());
    socket.on("close", () => this.finish());
    socket.on("error", (error) => {
      this.failure = error;
      this.finish();
    });
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 5) {
      const size = this.buffer.readUInt32BE(1);
      if (this.buffer.length < 5 + size) break;
      const frame = { type: this.buffer.readUInt8(0), payload: this.buffer.subarray(5, 5 + size) };
      this.buffer = this.buffer.subarray(5 + size);
      this.queue.push(frame);
      this.queued += size + 5;
    }
    if (this.queued > HIGH_WATER) this.socket.pause();
    this.wake();
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /** The next frame, or undefined once the connection has ended. */
  async next(): Promise<AgentFrame | undefined> {
    for (;;) {
      const frame = this.queue.shift();
      if (frame) {
        this.queued -= frame.payload.length + 5;
        if (this.queued <= HIGH_WATER && this.socket.isPaused()) this.socket.resume();
        return frame;
      }
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<AgentFrame> {
    for (let frame = await this.next(); frame; frame = await this.next()) yield frame;
  }

  /** The error that closed the connection, if any. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Writes one frame; resolves once the socket can take more. */
  send(type: number, payload?: Uint8Array | string): Promise<void> {
    if (!this.socket.writable) return Promise.resolve();
    return writeOrWait(this.socket, encodeFrame(type, payload)) ?? Promise.resolve();
  }

  sendJson(type: number, value: unknown): Promise<void> {
    return this.send(type, JSON.stringify(value));
  }

  close(): void {
    this.socket.destroy();
  }
}
