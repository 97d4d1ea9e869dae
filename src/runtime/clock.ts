// Time as a dependency: every timer in the daemon goes through a Clock, so that orchestration
// (debounce, backoff, burst end, stale timers) runs in unit tests on a manual clock.

/** a scheduled callback; cancel() is a no-op once it has run */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** milliseconds; only differences are meaningful */
  now(): number;
  /**
   * runs `fn` once after `ms`. Timers do not keep the process alive (the daemon's sockets
   * do), unless `keepAlive`.
   */
  setTimeout(fn: () => void, ms: number, keepAlive?: boolean): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms, keepAlive = false) {
    const t = setTimeout(fn, ms);
    if (!keepAlive) t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
