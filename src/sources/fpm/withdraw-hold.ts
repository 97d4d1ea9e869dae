// FPM withdrawals applied only once zebra has sent none for a short hold and is still connected.
//
// Why: `systemctl restart frr` stops bgpd first. bgpd withdraws its routes from zebra as it
// exits (with or without `bgp graceful-restart`, measured on FRR 8.4), zebra streams those
// deletes over FPM (from ~17 ms after the SIGINT; at 50k routes still streaming ~0.9 s later)
// until it is stopped itself and disconnects. Applied at once, those deletes empty our table
// for the seconds until bgpd is back. Withdrawals still held when zebra disconnects are dropped
// instead: their routes stay as the old generation's, held like every route of a vanished
// zebra (graceful.stale-time), refreshed by the new generation or swept once that has replayed.
// The hold counts from the LAST withdrawal of a burst, so a burst of any length that runs up to
// the disconnect is dropped whole; a burst is never held longer than CAP_FACTOR holds.
// The cost: a real withdrawal (the peer stopped announcing the prefix, a session went down)
// takes effect a hold after its burst ended. A next-hop change is an add, so ECMP legs leaving
// or coming back are never held.
import type { Ipv4Prefix } from '../../model/ipv4-prefix.js';
import { routeKey } from '../../rib/route.js';
import { systemClock, type Clock, type Timer } from '../../runtime/clock.js';

interface HeldWithdrawal {
  readonly table: number;
  readonly prefix: Ipv4Prefix;
  readonly since: number;
}

/** a withdrawal waits at most this many holds, however long its burst goes on */
export const CAP_FACTOR = 10;

export class WithdrawHold {
  /** by route key; Map order is arrival order */
  private readonly held = new Map<string, HeldWithdrawal>();
  private lastArrival = 0;
  private timer: Timer | undefined;

  constructor(
    private readonly holdMs: number,
    private readonly apply: (table: number, prefix: Ipv4Prefix) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  /** withdrawals waiting for their hold to pass */
  get size(): number {
    return this.held.size;
  }

  /** how long the oldest held withdrawal has waited (0 when none is held) */
  oldestAgeMs(now = this.clock.now()): number {
    const first = this.held.values().next().value;
    return first ? now - first.since : 0;
  }

  withdraw(table: number, prefix: Ipv4Prefix): void {
    if (!(this.holdMs > 0)) return this.apply(table, prefix);
    const key = routeKey(table, prefix.key);
    const now = this.clock.now();
    this.held.delete(key); // a repeat goes to the back of the queue
    this.held.set(key, { table, prefix, since: now });
    this.lastArrival = now;
    if (!this.timer) this.schedule(now);
  }

  /** An add for the route supersedes a withdrawal still held for it. */
  supersede(table: number, prefix: Ipv4Prefix): void {
    if (this.held.delete(routeKey(table, prefix.key)) && this.held.size === 0) this.disarm();
  }

  /** zebra went away: the held withdrawals are not applied. Returns how many there were. */
  dropAll(): number {
    const n = this.held.size;
    this.held.clear();
    this.disarm();
    return n;
  }

  /** Wakes at the burst's quiet deadline or the oldest one's cap, whichever is first. */
  private schedule(now: number): void {
    const first = this.held.values().next().value;
    if (!first) return;
    const at = Math.min(this.lastArrival + this.holdMs, first.since + CAP_FACTOR * this.holdMs);
    this.timer = this.clock.setTimeout(() => this.release(), Math.max(0, at - now));
  }

  private disarm(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private release(): void {
    this.timer = undefined;
    const now = this.clock.now();
    const quiet = now - this.lastArrival >= this.holdMs;
    for (const [key, w] of this.held) {
      if (!quiet && now - w.since < CAP_FACTOR * this.holdMs) break;
      this.held.delete(key);
      this.apply(w.table, w.prefix);
    }
    this.schedule(now);
  }
}
