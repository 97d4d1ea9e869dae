// The routes of one zebra connection that name a nexthop object (RTA_NH_ID), as columns, so
// that an object that arrives late, changes or is refused re-resolves exactly its routes. One
// slot per (table, prefix): the prefix as integers, the id it names and its place in that id's
// list of routes; the few routes whose id cannot be resolved are kept apart, with an interned
// reason. Typed arrays and an open-addressing index (the scheme of src/rib/route-store.ts),
// no string or object per route: the Maps keyed by route text this replaces held about 320
// bytes of heap a route (546 MB RSS at 1M routes, issue 14); this holds about 40.
// Hand-written for the same reason as the route store.
import { grown, routeKeyHash } from '../../rib/route-columns.js';

const NIL = -1;
/** the slot is in the index */
const LIVE = 1;
/** index buckets are pairs: slot + 1 (0: empty), then the hash of its key */
const BUCKET = 2;

/** a doubly linked list of slots, through the columns `prev` and `next` */
interface SlotList {
  head: number;
  tail: number;
  size: number;
}

export class NexthopUsers {
  private capacity = 0;
  /** slots below this have been handed out at least once */
  private highWater = 0;
  /** freed slots, chained through `next` */
  private freeHead = NIL;
  private tableCol = new Uint32Array(0);
  private addrCol = new Uint32Array(0);
  private lenCol = new Uint8Array(0);
  private nhIdCol = new Uint32Array(0);
  /** the route's neighbours in its id's list (arrival order) */
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private flags = new Uint8Array(0);
  /**
   * open addressing, linear probing, deletes shift back (no tombstones). The hash beside the
   * slot spares lookups, deletes and growth a read of the columns of other slots: at a
   * million routes each such read is a cache miss.
   */
  private index = new Int32Array(1024 * BUCKET);
  /** id -> its routes; as many entries as ids in use, bounded by the nexthop id cap */
  private readonly lists = new Map<number, SlotList>();
  /** pending slot -> its reason, in the order they first waited (rare: a Map, not a column) */
  private readonly pending = new Map<number, number>();
  /** reasons by number, with the count of pending routes giving each (few: one per id or member missing) */
  private readonly reasons: (string | undefined)[] = [undefined];
  private readonly reasonRefs: number[] = [0];
  private readonly reasonIds = new Map<string, number>();
  private readonly freeReasons: number[] = [];
  /** slots in use */
  live = 0;

  constructor(initialSlots = 1024) {
    this.growSlots(initialSlots);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** buckets of the index, a power of two */
  private get buckets(): number {
    return this.index.length / BUCKET;
  }

  table(s: number): number {
    return this.tableCol[s]!;
  }

  addr(s: number): number {
    return this.addrCol[s]!;
  }

  len(s: number): number {
    return this.lenCol[s]!;
  }

  nhId(s: number): number {
    return this.nhIdCol[s]!;
  }

  isPending(s: number): boolean {
    return this.pending.has(s);
  }

  /** why a pending route waits */
  reason(s: number): string {
    return this.reasons[this.pending.get(s) ?? 0] ?? '';
  }

  /** routes naming an id */
  countOf(nhId: number): number {
    return this.lists.get(nhId)?.size ?? 0;
  }

  find(table: number, addr: number, len: number): number {
    if (this.live === 0) return NIL;
    const index = this.index;
    const mask = this.buckets - 1;
    const h = routeKeyHash(table, addr, len);
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = index[i * BUCKET]!;
      if (v === 0) return NIL;
      if (index[i * BUCKET + 1] !== h) continue;
      const s = v - 1;
      if (this.addrCol[s] === addr >>> 0 && this.tableCol[s] === table >>> 0 && this.lenCol[s] === len) return s;
    }
  }

  /**
   * The slot of (table, prefix), now naming nhId: made at the end of nhId's list if new, moved
   * there if it named another id, left in its place if it named nhId already.
   */
  use(table: number, addr: number, len: number, nhId: number): number {
    let s = this.find(table, addr, len);
    if (s >= 0) {
      if (this.nhIdCol[s] === nhId >>> 0) return s;
      this.unlinkFromId(s);
    } else {
      s = this.newSlot(table, addr, len);
    }
    this.nhIdCol[s] = nhId;
    let list = this.lists.get(nhId >>> 0);
    if (!list) this.lists.set(nhId >>> 0, (list = { head: NIL, tail: NIL, size: 0 }));
    this.append(list, s, this.prev, this.next);
    return s;
  }

  /** Forgets a route: out of its id's list, out of the pending list, its slot free. */
  release(s: number): void {
    this.clearPending(s);
    this.unlinkFromId(s);
    this.removeIndex(s);
    this.flags[s] = 0;
    this.next[s] = this.freeHead;
    this.freeHead = s;
    this.live--;
  }

  /** Marks a route pending with a reason; one already pending keeps its place, with the new reason. */
  setPending(s: number, reason: string): void {
    const id = this.intern(reason);
    const old = this.pending.get(s);
    if (old !== undefined) this.unref(old);
    this.pending.set(s, id);
  }

  /** Whether the route was pending (and is no longer). */
  clearPending(s: number): boolean {
    const id = this.pending.get(s);
    if (id === undefined) return false;
    this.pending.delete(s);
    this.unref(id);
    return true;
  }

  /**
   * The routes naming an id, in arrival order. The walk reads each next slot before yielding,
   * so the caller may change the yielded route's pending state (not move or release it).
   */
  *routesOf(nhId: number): IterableIterator<number> {
    for (let s = this.lists.get(nhId >>> 0)?.head ?? NIL; s !== NIL;) {
      const n = this.next[s]!;
      yield s;
      s = n;
    }
  }

  /** pending routes in the order they first waited */
  pendingSlots(): IterableIterator<number> {
    return this.pending.keys();
  }

  private newSlot(table: number, addr: number, len: number): number {
    if ((this.live + 1) * 4 > this.buckets * 3) this.rehash();
    let s: number;
    if (this.freeHead !== NIL) {
      s = this.freeHead;
      this.freeHead = this.next[s]!;
    } else {
      s = this.highWater++;
      if (s >= this.capacity) this.growSlots(this.capacity * 2);
    }
    this.tableCol[s] = table;
    this.addrCol[s] = addr;
    this.lenCol[s] = len;
    this.flags[s] = LIVE;
    this.insertIndex(this.index, routeKeyHash(table, addr, len), s);
    this.live++;
    return s;
  }

  private unlinkFromId(s: number): void {
    const id = this.nhIdCol[s]!;
    const list = this.lists.get(id)!;
    this.unlink(list, s, this.prev, this.next);
    if (list.size === 0) this.lists.delete(id);
  }

  private append(list: SlotList, s: number, prev: Int32Array, next: Int32Array): void {
    prev[s] = list.tail;
    next[s] = NIL;
    if (list.tail === NIL) list.head = s;
    else next[list.tail] = s;
    list.tail = s;
    list.size++;
  }

  private unlink(list: SlotList, s: number, prev: Int32Array, next: Int32Array): void {
    const p = prev[s]!;
    const n = next[s]!;
    if (p === NIL) list.head = n;
    else next[p] = n;
    if (n === NIL) list.tail = p;
    else prev[n] = p;
    list.size--;
  }

  /** reason numbers start at 1 (0: none) */
  private intern(reason: string): number {
    let id = this.reasonIds.get(reason);
    if (id === undefined) {
      id = this.freeReasons.pop();
      if (id === undefined) {
        id = this.reasons.length;
        this.reasons.push(reason);
        this.reasonRefs.push(0);
      } else {
        this.reasons[id] = reason;
      }
      this.reasonIds.set(reason, id);
    }
    this.reasonRefs[id]!++;
    return id;
  }

  private unref(id: number): void {
    if (--this.reasonRefs[id]! > 0) return;
    this.reasonIds.delete(this.reasons[id]!);
    this.reasons[id] = undefined;
    this.freeReasons.push(id);
  }

  private growSlots(size: number): void {
    this.capacity = size;
    this.tableCol = grown(this.tableCol, size);
    this.addrCol = grown(this.addrCol, size);
    this.lenCol = grown(this.lenCol, size);
    this.nhIdCol = grown(this.nhIdCol, size);
    this.prev = grown(this.prev, size);
    this.next = grown(this.next, size);
    this.flags = grown(this.flags, size);
  }

  private insertIndex(index: Int32Array, h: number, s: number): void {
    const mask = index.length / BUCKET - 1;
    let i = h & mask;
    while (index[i * BUCKET] !== 0) i = (i + 1) & mask;
    index[i * BUCKET] = s + 1;
    index[i * BUCKET + 1] = h;
  }

  /** Backward-shift deletion: later entries of the probe run move into the hole. */
  private removeIndex(s: number): void {
    const index = this.index;
    const mask = this.buckets - 1;
    let i = routeKeyHash(this.tableCol[s]!, this.addrCol[s]!, this.lenCol[s]!) & mask;
    while (index[i * BUCKET] !== s + 1) {
      if (index[i * BUCKET] === 0) throw new Error(`nexthop users: slot ${s} is not indexed`);
      i = (i + 1) & mask;
    }
    for (let j = (i + 1) & mask; index[j * BUCKET] !== 0; j = (j + 1) & mask) {
      const h = index[j * BUCKET + 1]! & mask;
      // Move j into the hole at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? h > i && h <= j : h > i || h <= j;
      if (!stays) {
        index[i * BUCKET] = index[j * BUCKET]!;
        index[i * BUCKET + 1] = index[j * BUCKET + 1]!;
        i = j;
      }
    }
    index[i * BUCKET] = 0;
    index[i * BUCKET + 1] = 0;
  }

  /** Grows the index from the old one in bucket order: its writes go to two moving fronts, not all over. */
  private rehash(): void {
    let size = 1024;
    while (size < (this.live + 1) * 2) size *= 2;
    const old = this.index;
    const index = new Int32Array(size * BUCKET);
    for (let i = 0; i < old.length; i += BUCKET) if (old[i] !== 0) this.insertIndex(index, old[i + 1]!, old[i]! - 1);
    this.index = index;
  }
}
