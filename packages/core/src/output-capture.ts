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

  /** The retained text; when bytes were dropped, a marker line between head and tail says how many. */
  text(): string {
    const head = Buffer.concat(this.head).toString("utf8");
    if (!this.truncated) return head + Buffer.concat(this.tail).toString("utf8");
    const dropped = this.total - this.headBytes - this.tailBytes;
    return `${head}\n[stigmer: ${dropped} bytes omitted]\n${Buffer.concat(this.tail).toString("utf8")}`;
  }
}
