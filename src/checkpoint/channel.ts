/**
 * Flow control for the engine's pipelines:
 * - Gate: a counting semaphore (at most `n` holders), to bound work in flight.
 * - Channel: a bounded async queue between a producer and one consumer that reads it with
 *   `for await`; `push` waits while the queue is full, `fail` hands an error to the consumer and
 *   makes later pushes throw, so that neither side keeps working after the other stopped.
 */

export class Gate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }
}

/** What a producer gets from push() once the consumer stopped reading (it failed or broke off). */
export class ConsumerStoppedError extends Error {
  constructor() {
    super("The consumer stopped reading");
    this.name = "ConsumerStoppedError";
  }
}

export class Channel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private closed = false;
  private error: unknown;
  private failed = false;
  private wakeConsumer: (() => void) | undefined;
  private readonly wakeProducers: (() => void)[] = [];

  constructor(private readonly capacity: number) {}

  async push(item: T): Promise<void> {
    while (!this.failed && this.items.length >= this.capacity) {
      await new Promise<void>((resolve) => this.wakeProducers.push(resolve));
    }
    if (this.failed) throw this.error;
    if (this.closed) throw new Error("push after close");
    this.items.push(item);
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.error = error;
    this.wake();
    for (const resolve of this.wakeProducers.splice(0)) resolve();
  }

  private wake(): void {
    const consumer = this.wakeConsumer;
    this.wakeConsumer = undefined;
    consumer?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      for (;;) {
        if (this.failed) throw this.error;
        const item = this.items.shift();
        if (item !== undefined) {
          this.wakeProducers.shift()?.();
          yield item;
          continue;
        }
        if (this.closed) return;
        await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
      }
    } finally {
      // The consumer stopped early (break or error): producers must not wait forever.
      if (!this.closed || this.items.length > 0) this.fail(this.error ?? new ConsumerStoppedError());
    }
  }
}
