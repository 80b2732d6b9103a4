// RateLimiter turns a stream of "something changed" triggers into refetches
// that run at most once per interval, each shortly after the first trigger.

/** RateLimiterOptions tune a RateLimiter. */
export interface RateLimiterOptions {
  /** interval: at least this many ms between two runs (default 1000). */
  interval?: number;
  /** settle: wait this long after the first trigger so a burst folds into one run (default 200). */
  settle?: number;
  now?: () => number;
}

/** RateLimiter runs fn after trigger(), at most once per interval, however often it is triggered. */
export class RateLimiter {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private last = -Infinity;
  /** runs counts how many times fn ran. */
  runs = 0;
  private readonly interval: number;
  private readonly settle: number;
  private readonly now: () => number;

  constructor(
    private readonly fn: () => void,
    opts: RateLimiterOptions = {},
  ) {
    this.interval = opts.interval ?? 1000;
    this.settle = opts.settle ?? 200;
    this.now = opts.now ?? (() => Date.now());
  }

  /** trigger asks for a run; triggers while one is pending fold into it. */
  trigger() {
    if (this.timer) return;
    const delay = Math.max(this.settle, this.last + this.interval - this.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.last = this.now();
      this.runs++;
      this.fn();
    }, delay);
  }

  /** cancel drops a pending run. */
  cancel() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  get pending(): boolean {
    return this.timer !== null;
  }
}
