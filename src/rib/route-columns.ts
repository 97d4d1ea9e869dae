// What every per-route column store shares (the RIB's route store, the FPM session's routes by
// nexthop id): typed-array columns grown by copy, and the hash of a (table, addr, len) key
// for their open-addressing indexes.

export type Column = Uint8Array | Uint32Array | Int32Array;

/** a column of `size` entries holding `a`'s */
export function grown<T extends Column>(a: T, size: number): T {
  const next = new (a.constructor as new (n: number) => T)(size);
  next.set(a);
  return next;
}

/** the index hash of a route key */
export function routeKeyHash(table: number, addr: number, len: number): number {
  let h = Math.imul(addr ^ Math.imul(table, 0x85ebca6b) ^ (len << 26), 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x27d4eb2d);
  return h ^ (h >>> 13);
}
