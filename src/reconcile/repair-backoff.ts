// Backs off repairs of a key that another writer keeps changing, so that two writers
// never spin: more than `burst` repairs within `windowMs` start an episode with delays
// doubling from `baseMs` up to `maxMs`; the episode ends when a window passes quietly.
export interface BackoffDecision {
  readonly allowed: boolean;
  /** the first refusal of an episode: log it once */
  readonly episodeStarted: boolean;
  readonly retryAtMs: number;
}

interface KeyState {
  times: number[];
  until: number;
  level: number;
  last: number;
}

export class RepairBackoff {
  private readonly keys = new Map<string, KeyState>();

  constructor(
    private readonly now: () => number,
    private readonly burst = 5,
    private readonly windowMs = 10_000,
    private readonly baseMs = 1_000,
    private readonly maxMs = 60_000,
  ) {}

  /** Asks to repair `key` now; records the repair when allowed. */
  request(key: string): BackoffDecision {
    const now = this.now();
    let s = this.keys.get(key);
    if (!s) this.keys.set(key, (s = { times: [], until: 0, level: 0, last: -Infinity }));
    s.times = s.times.filter((t) => now - t < this.windowMs);
    if (now >= s.until && now - s.last >= this.windowMs) s.level = 0; // a quiet window ends the episode
    if (now < s.until) return { allowed: false, episodeStarted: false, retryAtMs: s.until };
    if (s.times.length >= this.burst) {
      s.level++;
      s.until = now + Math.min(this.maxMs, this.baseMs * 2 ** (s.level - 1));
      s.times = [];
      return { allowed: false, episodeStarted: s.level === 1, retryAtMs: s.until };
    }
    s.times.push(now);
    s.last = now;
    return { allowed: true, episodeStarted: false, retryAtMs: now };
  }

  /** Forgets keys with nothing left to remember (bounded memory). */
  prune(): void {
    const now = this.now();
    for (const [k, s] of this.keys) {
      if (now >= s.until && s.times.every((t) => now - t >= this.windowMs)) this.keys.delete(k);
    }
  }

  get size(): number {
    return this.keys.size;
  }
}
