// A Clock that moves only when a test says so. advance() runs due timers in time order and
// lets the promises they start settle between them (a reconcile pass awaits the FakeKernel),
// so a scenario of minutes runs in milliseconds and the same way every time.
import type { Clock, Timer } from '../../src/runtime/clock.js';

interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private queue: Scheduled[] = [];

  constructor(startMs = 1_000_000) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const s: Scheduled = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.queue.push(s);
    return { cancel: () => (s.cancelled = true) };
  }

  /** timers waiting to run */
  get pending(): number {
    return this.queue.filter((s) => !s.cancelled).length;
  }

  /** moves time forward by `ms`, running every timer that falls due on the way */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      const next = this.nextDue(end);
      if (!next) break;
      this.t = next.at;
      this.queue = this.queue.filter((s) => s !== next);
      next.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }

  private nextDue(end: number): Scheduled | undefined {
    let best: Scheduled | undefined;
    for (const s of this.queue) {
      if (s.cancelled || s.at > end) continue;
      if (!best || s.at < best.at || (s.at === best.at && s.seq < best.seq)) best = s;
    }
    return best;
  }
}

/** lets every promise chain that can progress without a timer do so */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
