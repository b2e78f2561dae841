/**
 * Keeps at most `limit` bytes of one output stream: the first half and the last half, so a caller
 * sees how a long output began and how it ended. Memory stays bounded whatever the command writes.
 */
export class OutputCapture {
  private readonly half: number;
  private readonly head: Uint8Array[] = [];
  private headBytes = 0;
  private tail: Uint8Array[] = [];
  private tailBytes = 0;
  /** Every byte seen, retained or not. */
  total = 0;

  constructor(limit: number) {
    this.half = Math.max(1, Math.floor(limit / 2));
  }

  get truncated(): boolean {
    return this.total > this.headBytes + this.tailBytes;
  }

  push(chunk: Uint8Array): void {
    this.total += chunk.length;
    let rest = chunk;
    if (this.headBytes < this.half) {
      const take = Math.min(this.half - this.headBytes, rest.length);
      // Copy: the backend may reuse its buffer after the write resolves.
      this.head.push(rest.slice(0, take));
      this.headBytes += take;
      rest = rest.subarray(take);
    }
    if (rest.length === 0) return;
    if (rest.length >= this.half) {
      this.tail = [rest.slice(rest.length - this.half)];
      this.tailBytes = this.half;
      return;
    }
    this.tail.push(rest.slice());
    this.tailBytes += rest.length;
    while (this.tailBytes > this.half) {
      const first = this.tail[0] as Uint8Array;
      const excess = this.tailBytes - this.half;
      if (first.length <= excess) {
        this.tail.shift();
        this.tailBytes -= first.length;
      } else {
        this.tail[0] = first.subarray(excess);
        this.tailBytes -= excess;
      }
    }
  }

  /**
   * The retained text; when bytes were dropped, a marker line between head and tail says how many.
   * The cut falls on UTF-8 character boundaries: a character split by it is dropped (and counted).
   */
  text(): string {
    const head = Buffer.concat(this.head);
    const tail = Buffer.concat(this.tail);
    if (!this.truncated) return Buffer.concat([head, tail]).toString("utf8");
    const headEnd = completeEnd(head);
    const tailStart = characterStart(tail);
    const dropped = this.total - headEnd - (tail.length - tailStart);
    return `${head.subarray(0, headEnd).toString("utf8")}\n[stigmer: ${dropped} bytes omitted]\n${tail.subarray(tailStart).toString("utf8")}`;
  }
}

const isContinuation = (byte: number) => (byte & 0xc0) === 0x80;

/** Length of `bytes` without a character its end cuts short. */
function completeEnd(bytes: Uint8Array): number {
  for (let i = bytes.length - 1; i >= Math.max(0, bytes.length - 4); i--) {
    const byte = bytes[i] as number;
    if (isContinuation(byte)) continue;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return bytes.length - i >= length ? bytes.length : i;
  }
  return bytes.length;
}

/** Index of the first character that `bytes` holds whole (past the rest of one its start cut). */
function characterStart(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length && i < 3 && isContinuation(bytes[i] as number)) i++;
  return i;
}
