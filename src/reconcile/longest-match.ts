// Longest match across two tables, pure. Our routes live in their own table behind a rule
// ahead of main, so the kernel looks there first and takes the best match *in that table*:
// with our 10.99.2.0/24 there and a connected 10.99.2.128/25 in main, `ip route get
// 10.99.2.130` would go to the peer. A `throw` route in our table for 10.99.2.128/25 ends
// the lookup there as if nothing matched, and the kernel goes on to main, where the /25
// wins. So: one throw for each route in main that is not ours and is strictly more
// specific than one of our prefixes, unless we hold that exact prefix ourselves (then our
// own route is the longest match in our table, as it would be in one table).
import { maskOf } from '../model/ipv4-prefix.js';
import {
  RTN_ANYCAST, RTN_BLACKHOLE, RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST, RTN_PROHIBIT, RTN_UNICAST, RTN_UNREACHABLE,
} from '../kernel/rtnetlink-codec.js';

/** (addr, len) as one number: len * 2^32 + addr (below 2^38, exact in a double) */
export type PrefixKey = number;

export function prefixKey(addr: number, len: number): PrefixKey {
  return len * 0x1_0000_0000 + (addr >>> 0);
}

export function keyAddr(k: PrefixKey): number {
  return k % 0x1_0000_0000;
}

export function keyLen(k: PrefixKey): number {
  return Math.floor(k / 0x1_0000_0000);
}

/**
 * Route types that forward or end the lookup in main (a throw or a NAT route there does
 * neither, so it shadows nothing of ours).
 */
const SHADOWING_TYPES: ReadonlySet<number> = new Set([
  RTN_UNICAST, RTN_LOCAL, RTN_BROADCAST, RTN_ANYCAST, RTN_MULTICAST, RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT,
]);

/** whether a main-table route of this type and TOS would win for its addresses in one table */
export function shadows(type: number, tos: number): boolean {
  // a TOS-specific route matches only packets of that TOS: no throw for everyone's sake
  return tos === 0 && SHADOWING_TYPES.has(type);
}

/** Our prefixes in our table: a membership test, and which lengths occur (bit l: some /l). */
export interface OurPrefixes {
  has(addr: number, len: number): boolean;
  /** a superset is fine (it only costs look-ups); bit 31 is the longest that can matter */
  readonly lengths: number;
}

/**
 * The throw routes our table needs: each of `main`'s prefixes that is strictly inside one of
 * ours and not one of ours itself. Cost: one look-up per main prefix plus one per length of
 * ours shorter than it.
 */
export function planThrows(ours: OurPrefixes, main: Iterable<PrefixKey>): Set<PrefixKey> {
  const out = new Set<PrefixKey>();
  for (const k of main) {
    const len = keyLen(k);
    const addr = keyAddr(k);
    if (len === 0) continue;
    // only lengths 0 .. len-1 of ours can contain it
    const shorter = ours.lengths & (len >= 32 ? 0xffffffff : (2 ** len - 1));
    if (shorter === 0 || ours.has(addr, len)) continue;
    for (let l = len - 1; l >= 0; l--) {
      if ((shorter & (2 ** l)) === 0) continue;
      if (ours.has((addr & maskOf(l)) >>> 0, l)) {
        out.add(k);
        break;
      }
    }
  }
  return out;
}

/**
 * The routes of main that may shadow ours, by prefix: the metrics present there (a prefix
 * can be in main more than once, at different metrics or of different protocols).
 */
export class MainTable {
  private readonly metrics = new Map<PrefixKey, number[]>();
  /** bumped on every change: the planner re-runs when it moved */
  version = 0;

  get size(): number {
    return this.metrics.size;
  }

  prefixes(): IterableIterator<PrefixKey> {
    return this.metrics.keys();
  }

  /** a route of main at (prefix, metric), shadowing or not (a replace can turn one into a throw) */
  put(addr: number, len: number, metric: number, shadowing: boolean): void {
    if (!shadowing) {
      this.remove(addr, len, metric);
      return;
    }
    const k = prefixKey(addr, len);
    const list = this.metrics.get(k);
    if (!list) this.metrics.set(k, [metric]);
    else if (!list.includes(metric)) list.push(metric);
    else return;
    this.version++;
  }

  remove(addr: number, len: number, metric: number): void {
    const k = prefixKey(addr, len);
    const list = this.metrics.get(k);
    const i = list ? list.indexOf(metric) : -1;
    if (i < 0) return;
    list!.splice(i, 1);
    if (list!.length === 0) this.metrics.delete(k);
    this.version++;
  }

  clear(): void {
    if (this.metrics.size > 0) this.version++;
    this.metrics.clear();
  }
}
