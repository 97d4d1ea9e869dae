import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/config.js';

export type { Logger };

/** JSON lines on stdout for journald; components take child loggers ({ component }). */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { name: 'rfc5549d' } }, pino.destination({ dest: 1, sync: true }));
}

/**
 * At most `burst` log lines per `windowMs`; the rest are counted, and the count is handed
 * to the next line that gets through, so a flood of bad input cannot flood journald.
 */
export class LogThrottle {
  private windowStart = -Infinity;
  private inWindow = 0;
  private suppressed = 0;

  constructor(private readonly burst = 20, private readonly windowMs = 10_000, private readonly now: () => number = Date.now) {}

  /** undefined: drop this line; a number: log it, with that many dropped before it */
  admit(): number | undefined {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.burst) {
      this.suppressed++;
      return undefined;
    }
    this.inWindow++;
    const dropped = this.suppressed;
    this.suppressed = 0;
    return dropped;
  }
}
