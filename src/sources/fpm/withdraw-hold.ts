// FPM withdrawals applied only after zebra has stayed connected for a short hold.
//
// Why: `systemctl restart frr` stops bgpd first. bgpd withdraws its routes from zebra as it
// exits (with or without `bgp graceful-restart`, measured on FRR 8.4), zebra streams those
// deletes over FPM (16 ms after the SIGINT), and only ~100 ms later zebra itself is stopped
// and disconnects. Applied at once, those deletes empty our table for the seconds until bgpd
// is back. A withdrawal still held when zebra disconnects is dropped instead: its route stays
// as the old generation's, held like every route of a vanished zebra (graceful.stale-time),
// refreshed by the new generation or swept once that has replayed.
// The cost: a real withdrawal (the peer stopped announcing the prefix) takes effect `holdMs`
// late. A next-hop change is an add, so ECMP legs leaving or coming back are never held.
import type { Ipv4Prefix } from '../../model/ipv4-prefix.js';
import { routeKey } from '../../rib/route.js';

interface HeldWithdrawal {
  readonly table: number;
  readonly prefix: Ipv4Prefix;
  readonly due: number;
}

export class WithdrawHold {
  /** by route key; Map order is arrival order, and so due order (one holdMs for all) */
  private readonly held = new Map<string, HeldWithdrawal>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly holdMs: number,
    private readonly apply: (table: number, prefix: Ipv4Prefix) => void,
  ) {}

  /** withdrawals waiting for their hold to pass */
  get size(): number {
    return this.held.size;
  }

  withdraw(table: number, prefix: Ipv4Prefix): void {
    if (!(this.holdMs > 0)) return this.apply(table, prefix);
    const key = routeKey(table, prefix.key);
    this.held.delete(key); // a repeat starts its hold again, at the back of the queue
    this.held.set(key, { table, prefix, due: Date.now() + this.holdMs });
    this.arm();
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

  private arm(): void {
    if (this.timer) return;
    const first = this.held.values().next().value;
    if (!first) return;
    this.timer = setTimeout(() => this.release(), Math.max(0, first.due - Date.now()));
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private release(): void {
    this.timer = undefined;
    const now = Date.now();
    for (const [key, w] of this.held) {
      if (w.due > now) break;
      this.held.delete(key);
      this.apply(w.table, w.prefix);
    }
    this.arm();
  }
}
