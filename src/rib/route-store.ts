// Every route the daemon knows, as columns: one slot per (table, prefix) holding what the
// sources want (an interned next-hop set), what the kernel holds at our metric (an interned
// forwarding) and the reconcile state. Typed arrays and an open-addressing index instead of
// an object and a string key per route: a Map-of-objects RIB plus kernel mirror took about
// 2 KB a route (2.1 GB at 1M, issue 5); this takes about 40 bytes.
// Hand-written: no maintained npm package offers a compound-key hash over typed columns.
import { grown, routeKeyHash } from './route-columns.js';

/** no next-hop set, no forwarding, no pending reason */
export const NONE = 0;

// The bits of `flags`, all of them, each with the layer that sets and clears it. A slot is
// freed (releaseIfUnused) only when no layer refers to it: not desired (RIB), not held
// (kernel mirror), no pending reason, not queued and without strays. Each layer that drops
// its reference asks for that: Rib.remove, KernelState.endDump and the reconcile pass.

/** the slot is in the index. Store: set by slotFor, cleared by releaseIfUnused. */
export const F_LIVE = 1;
/** queued for the next reconcile pass. Reconciler: set by markDirty, cleared by the pass that planned it. */
export const F_DIRTY = 2;
/**
 * a source named this key since start: ours to delete even before the sweep. Reconciler:
 * set by markDesiredChanged; never cleared while the slot lives.
 */
export const F_KNOWN = 4;
/** copies of our protocol at other metrics exist (kept in `strays`). Kernel mirror: setStrays sets and clears it. */
export const F_STRAYS = 8;
/**
 * a kernel dump in progress has reported this slot. Kernel mirror (KernelState): cleared by
 * beginDump, set by putRoute while a dump runs, cleared again by endDump, which forgets the
 * routes of the slots without it.
 */
export const F_SEEN = 16;
/**
 * the running reconcile pass planned this slot and may still be writing it; marked again
 * meanwhile, it is queued (F_DIRTY) for the next pass. Reconciler: set by takeWork,
 * cleared by finishWork or, after a failed pass, when it is queued again.
 */
export const F_WRITING = 32;

const EMPTY = 0;

/** +1 when a column entry goes from NONE to set, -1 when it goes back, 0 otherwise */
function setOrCleared(before: number, after: number): number {
  return (before === NONE ? 0 : -1) + (after === NONE ? 0 : 1);
}

export class RouteStore {
  private capacity = 0;
  /** slots below this have been handed out at least once */
  private highWater = 0;
  private freeSlots: number[] = [];
  table = new Uint32Array(0);
  addr = new Uint32Array(0);
  len = new Uint8Array(0);
  /** next-hop set id the sources want (NONE: not desired) */
  desired = new Uint32Array(0);
  /** forwarding id the kernel holds for us at our metric (NONE: nothing) */
  observed = new Uint32Array(0);
  /** session id of the source that last wrote the slot */
  session = new Uint32Array(0);
  /** RIB epoch of the last write (replays withdraw what is older); the RIB renumbers before 2^32 */
  epoch = new Uint32Array(0);
  /** why the route is not installed (a reason id), NONE when it is or is not desired */
  pending = new Uint32Array(0);
  flags = new Uint8Array(0);
  /** metrics of our protocol's copies at other metrics, by slot (rare: a metric change) */
  readonly strays = new Map<number, number[]>();

  /** open addressing, linear probing, slot + 1 (0: empty); deletes shift back, no tombstones */
  private index = new Int32Array(1024);
  /** slots in use */
  live = 0;
  desiredCount = 0;
  observedCount = 0;
  pendingCount = 0;

  constructor(initialSlots = 1024) {
    this.growSlots(initialSlots);
  }

  find(table: number, addr: number, len: number): number {
    const mask = this.index.length - 1;
    for (let i = routeKeyHash(table, addr, len) & mask; ; i = (i + 1) & mask) {
      const v = this.index[i]!;
      if (v === EMPTY) return -1;
      const s = v - 1;
      if (this.addr[s] === addr >>> 0 && this.table[s] === table >>> 0 && this.len[s] === len) return s;
    }
  }

  /** The slot of (table, prefix), made if there is none. */
  slotFor(table: number, addr: number, len: number): number {
    const found = this.find(table, addr, len);
    if (found >= 0) return found;
    if ((this.live + 1) * 4 > this.index.length * 3) this.rehash();
    const s = this.freeSlots.length > 0 ? this.freeSlots.pop()! : this.highWater++;
    if (s >= this.capacity) this.growSlots(this.capacity * 2);
    this.table[s] = table;
    this.addr[s] = addr;
    this.len[s] = len;
    this.desired[s] = NONE;
    this.observed[s] = NONE;
    this.session[s] = 0;
    this.epoch[s] = 0;
    this.pending[s] = NONE;
    this.flags[s] = F_LIVE;
    this.insertIndex(s);
    this.live++;
    return s;
  }

  setDesired(s: number, id: number): void {
    this.desiredCount += setOrCleared(this.desired[s]!, id);
    this.desired[s] = id;
  }

  setObserved(s: number, id: number): void {
    this.observedCount += setOrCleared(this.observed[s]!, id);
    this.observed[s] = id;
  }

  setPending(s: number, reason: number): void {
    this.pendingCount += setOrCleared(this.pending[s]!, reason);
    this.pending[s] = reason;
  }

  setStrays(s: number, metrics: number[] | undefined): void {
    if (metrics && metrics.length > 0) {
      this.strays.set(s, metrics);
      this.flags[s]! |= F_STRAYS;
    } else {
      this.strays.delete(s);
      this.flags[s]! &= ~F_STRAYS;
    }
  }

  /** Frees the slot once nothing refers to it any more: not desired, not held, not queued. */
  releaseIfUnused(s: number): void {
    const f = this.flags[s]!;
    if (!(f & F_LIVE) || f & (F_DIRTY | F_STRAYS | F_WRITING)) return;
    if (this.desired[s] !== NONE || this.observed[s] !== NONE || this.pending[s] !== NONE) return;
    this.removeIndex(s);
    this.flags[s] = 0;
    this.freeSlots.push(s);
    this.live--;
  }

  /** whether some slot has one of these flag bits (a scan: for rare questions, not per route) */
  anyFlagged(bits: number): boolean {
    const { flags } = this;
    for (let s = 0; s < this.highWater; s++) if (flags[s]! & bits) return true;
    return false;
  }

  isLive(s: number): boolean {
    return (this.flags[s]! & F_LIVE) !== 0;
  }

  /** Live slots, in slot order. Safe against releases during the walk. */
  *slots(): IterableIterator<number> {
    const end = this.highWater;
    for (let s = 0; s < end; s++) if (this.flags[s]! & F_LIVE) yield s;
  }

  /** for loops on the hot path: every slot id below this may be live */
  get end(): number {
    return this.highWater;
  }

  private growSlots(size: number): void {
    this.capacity = size;
    this.table = grown(this.table, size);
    this.addr = grown(this.addr, size);
    this.len = grown(this.len, size);
    this.desired = grown(this.desired, size);
    this.observed = grown(this.observed, size);
    this.session = grown(this.session, size);
    this.epoch = grown(this.epoch, size);
    this.pending = grown(this.pending, size);
    this.flags = grown(this.flags, size);
  }

  private home(s: number): number {
    return routeKeyHash(this.table[s]!, this.addr[s]!, this.len[s]!) & (this.index.length - 1);
  }

  private insertIndex(s: number): void {
    const mask = this.index.length - 1;
    let i = this.home(s);
    while (this.index[i] !== EMPTY) i = (i + 1) & mask;
    this.index[i] = s + 1;
  }

  /**
   * Backward-shift deletion: later entries of the probe run move into the hole, so a
   * million withdrawals leave no tombstones for lookups to wade through.
   */
  private removeIndex(s: number): void {
    const mask = this.index.length - 1;
    let i = this.home(s);
    while (this.index[i] !== s + 1) {
      if (this.index[i] === EMPTY) throw new Error(`route store: slot ${s} is not indexed`);
      i = (i + 1) & mask;
    }
    for (let j = (i + 1) & mask; this.index[j] !== EMPTY; j = (j + 1) & mask) {
      const h = this.home(this.index[j]! - 1);
      // Move j into the hole at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? h > i && h <= j : h > i || h <= j;
      if (!stays) {
        this.index[i] = this.index[j]!;
        i = j;
      }
    }
    this.index[i] = EMPTY;
  }

  private rehash(): void {
    let size = 1024;
    while (size < (this.live + 1) * 2) size *= 2;
    this.index = new Int32Array(size);
    for (let s = 0; s < this.highWater; s++) if (this.flags[s]! & F_LIVE) this.insertIndex(s);
  }
}
