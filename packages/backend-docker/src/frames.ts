/** Frame types of the agent protocol (see agent/stigmer_agent.py). */
export const Frame = {
  HELLO: 1,
  AUTH: 2,
  READY: 3,
  OPEN: 5,
  PING: 6,
  RUN: 10,
  STDIN: 11,
  STDIN_EOF: 12,
  KILL: 13,
  PUSH: 14,
  PULL: 15,
  STATS: 16,
  DATA: 17,
  DATA_END: 18,
  STARTED: 32,
  STDOUT: 33,
  STDERR: 34,
  EXIT: 35,
  ERROR: 36,
  DONE: 37,
  DELETIONS: 38,
} as const;

export function encodeFrame(type: number, payload: Uint8Array | string = new Uint8Array(0)): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const head = Buffer.allocUnsafe(5);
  head.writeUInt8(type, 0);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/**
 * Splits a byte stream into frames with a 1-byte type and a 4-byte big-endian length. Docker's
 * multiplexed exec stream uses an 8-byte header (type, 3 zero bytes, length), hence `headerSize`.
 */
export async function* readFrames(
  source: AsyncIterable<Buffer | Uint8Array>,
  headerSize: 5 | 8,
): AsyncGenerator<{ type: number; payload: Buffer }> {
  let buffer: Buffer = Buffer.alloc(0);
  for await (const chunk of source) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    buffer = buffer.length === 0 ? bytes : Buffer.concat([buffer, bytes]);
    while (buffer.length >= headerSize) {
      const size = buffer.readUInt32BE(headerSize - 4);
      if (buffer.length < headerSize + size) break;
      const type = buffer.readUInt8(0);
      const payload = buffer.subarray(headerSize, headerSize + size);
      buffer = buffer.subarray(headerSize + size);
      yield { type, payload };
    }
  }
}
