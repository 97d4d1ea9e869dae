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

/** whether a prefix of main needs a throw in our table: strictly inside one of ours, and not ours itself */
export function needsThrow(ours: OurPrefixes, addr: number, len: number): boolean {
  if (len === 0) return false;
  // only lengths 0 .. len-1 of ours can contain it
  const shorter = ours.lengths & (len >= 32 ? 0xffffffff : (2 ** len - 1));
  if (shorter === 0 || ours.has(addr, len)) return false;
  for (let l = len - 1; l >= 0; l--) {
    if ((shorter & (2 ** l)) !== 0 && ours.has((addr & maskOf(l)) >>> 0, l)) return true;
  }
  return false;
}

/**
 * The throw routes our table needs: each of `main`'s prefixes that is strictly inside one of
 * ours and not one of ours itself. Cost: one look-up per main prefix plus one per length of
 * ours shorter than it. OwnTable keeps the same set incrementally (a unit test holds the two
 * equal); this is the whole-table form it starts from after every dump.
 */
export function planThrows(ours: OurPrefixes, main: Iterable<PrefixKey>): Set<PrefixKey> {
  const out = new Set<PrefixKey>();
  for (const k of main) if (needsThrow(ours, keyAddr(k), keyLen(k))) out.add(k);
  return out;
}

/** planThrows over a MainTable, without a key per prefix on the way (a million prefixes next to zebra) */
export function planThrowsIn(ours: OurPrefixes, main: MainTable): Set<PrefixKey> {
  const out = new Set<PrefixKey>();
  main.forEachPrefix((addr, len) => {
    if (needsThrow(ours, addr, len)) out.add(prefixKey(addr, len));
  });
  return out;
}

/**
 * The routes of main that may shadow ours, by prefix length then address: the metric present
 * there, or the metrics when a prefix is in main more than once (different metrics or
 * protocols). A plain number per prefix, not an object: next to zebra main holds a copy of
 * every route of ours (a million at scale), re-read on every dump.
 */
export class MainTable {
  private readonly byLen: Map<number, number | number[]>[] = Array.from({ length: 33 }, () => new Map<number, number | number[]>());
  /** bumped on every change */
  version = 0;

  get size(): number {
    let n = 0;
    for (const m of this.byLen) n += m.size;
    return n;
  }

  has(addr: number, len: number): boolean {
    return this.byLen[len]!.has(addr >>> 0);
  }

  forEachPrefix(fn: (addr: number, len: number) => void): void {
    for (let len = 1; len <= 32; len++) {
      const at = this.byLen[len]!;
      if (at.size === 0) continue;
      for (const addr of at.keys()) fn(addr, len);
    }
  }

  *prefixes(): IterableIterator<PrefixKey> {
    for (let len = 0; len <= 32; len++) for (const addr of this.byLen[len]!.keys()) yield prefixKey(addr, len);
  }

  /** whether main holds a prefix longer than `len` (one inside a prefix of ours of that length could need a throw) */
  hasLongerThan(len: number): boolean {
    for (let m = len + 1; m <= 32; m++) if (this.byLen[m]!.size > 0) return true;
    return false;
  }

  /** calls `fn` for each prefix of main strictly inside (addr, len) */
  forEachInside(addr: number, len: number, fn: (k: PrefixKey) => void): void {
    const base = (addr & maskOf(len)) >>> 0;
    for (let m = len + 1; m <= 32; m++) {
      const at = this.byLen[m]!;
      if (at.size === 0) continue;
      const count = 2 ** (m - len);
      if (count <= at.size) {
        // fewer candidates than entries: look each one up
        const step = 2 ** (32 - m);
        for (let i = 0; i < count; i++) {
          const a = base + i * step;
          if (at.has(a)) fn(prefixKey(a, m));
        }
      } else {
        const mask = maskOf(len);
        for (const a of at.keys()) if (((a & mask) >>> 0) === base) fn(prefixKey(a, m));
      }
    }
  }

  /** a route of main at (prefix, metric), shadowing or not (a replace can turn one into a throw) */
  put(addr: number, len: number, metric: number, shadowing: boolean): void {
    if (!shadowing) {
      this.remove(addr, len, metric);
      return;
    }
    const at = this.byLen[len]!;
    const a = addr >>> 0;
    const held = at.get(a);
    if (held === undefined) at.set(a, metric);
    else if (typeof held === 'number') {
      if (held === metric) return;
      at.set(a, [held, metric]);
    } else if (!held.includes(metric)) held.push(metric);
    else return;
    this.version++;
  }

  remove(addr: number, len: number, metric: number): void {
    const at = this.byLen[len]!;
    const a = addr >>> 0;
    const held = at.get(a);
    if (held === undefined) return;
    if (typeof held === 'number') {
      if (held !== metric) return;
      at.delete(a);
    } else {
      const rest = held.filter((m) => m !== metric);
      if (rest.length === held.length) return;
      at.set(a, rest.length === 1 ? rest[0]! : rest);
    }
    this.version++;
  }

  clear(): void {
    if (this.size > 0) this.version++;
    for (const m of this.byLen) m.clear();
  }
}
