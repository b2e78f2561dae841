/**
 * A bounded hand-off from one producer to one async-iterating consumer. `push` resolves once the
 * queue has room again, so a slow consumer slows the producer instead of growing memory.
 */
export class EventChannel<T> implements AsyncIterable<T> {
  private readonly queue: T[] = [];
  private readonly waitingForRoom: Array<() => void> = [];
  private waitingForItem: (() => void) | undefined;
  private closed = false;
  private failure: { error: unknown } | undefined;

  constructor(private readonly capacity = 16) {}

  push(item: T): Promise<void> | undefined {
    if (this.closed) return undefined;
    this.queue.push(item);
    this.wakeConsumer();
    if (this.queue.length < this.capacity) return undefined;
    return new Promise((resolve) => this.waitingForRoom.push(resolve));
  }

  /** Ends the iteration after the queued items; with `error`, the iteration then throws it. */
  close(error?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    if (error !== undefined) this.failure = { error };
    this.wakeConsumer();
  }

  /** Releases a blocked producer for good (the consumer has gone away). */
  abandon(): void {
    this.closed = true;
    this.queue.length = 0;
    for (const resolve of this.waitingForRoom.splice(0)) resolve();
  }

  private wakeConsumer(): void {
    const wake = this.waitingForItem;
    this.waitingForItem = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      const item = this.queue.shift();
      if (item !== undefined) {
        if (this.queue.length < this.capacity) this.waitingForRoom.shift()?.();
        yield item;
        continue;
      }
      if (this.closed) {
        if (this.failure) throw this.failure.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.waitingForItem = resolve;
      });
    }
  }
}
