// Batcher collects live updates and hands them over once per animation
// frame, so a burst of 1,000 updates a second costs one render per frame.

export type Schedule = (cb: () => void) => void;

const rafSchedule: Schedule = (cb) => {
  if (typeof requestAnimationFrame === "function" && typeof document !== "undefined" && !document.hidden) {
    requestAnimationFrame(() => cb());
  } else {
    // Hidden tabs get no frames; a timer keeps the data fresh for when they return.
    setTimeout(cb, 250);
  }
};

/** Batcher queues items and flushes them together. */
export class Batcher<T> {
  private queue: T[] = [];
  private scheduled = false;
  /** flushes counts how many times the batcher handed over a batch. */
  flushes = 0;

  constructor(
    private readonly flush: (items: T[]) => void,
    private readonly schedule: Schedule = rafSchedule,
  ) {}

  push(item: T) {
    this.queue.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => this.run());
    }
  }

  /** run flushes now (also called by the scheduler). */
  run() {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const items = this.queue;
    this.queue = [];
    this.flushes++;
    this.flush(items);
  }

  get pending(): number {
    return this.queue.length;
  }
}
