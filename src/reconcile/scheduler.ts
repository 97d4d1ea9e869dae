// When passes run. Events and source updates only mark work (slots, everything, the
// neighbours, a dump); a short debounce coalesces a burst of them into one pass, and one pass
// runs at a time until no work is left. A failed pass dumps and re-plans everything a second
// later. Burst mode keeps our own route events off around big writes.
import type { Logger } from '../log.js';
import type { Clock, Timer } from '../runtime/clock.js';
import { F_DIRTY, F_WRITING, type RouteStore } from '../rib/route-store.js';

/** coalesces a replay, or a flood of echoes, into one pass */
const DEBOUNCE_MS = 2;
const RESYNC_AFTER_FAILURE_MS = 1000;
/** route events stay off until the writing has been quiet this long */
export const BURST_END_MS = 250;
/** the longest the post-burst dump waits behind queued routes (events stay off meanwhile) */
export const MAX_DEAF_MS = 5000;

export interface SchedulerHooks {
  /** one pass; a throw is a failed pass */
  pass(): Promise<void>;
  /** work held outside the scheduler (our table's rule and throws) */
  otherWork(): boolean;
  /** our route events on or off (burst mode) */
  routeEvents(on: boolean): void;
  /** whether the dump after a burst re-reads main too */
  mainRereadAfterBurst(): boolean;
}

/** what a pass is to plan */
export interface PassWork {
  /** every slot, not only the queued ones */
  readonly full: boolean;
  /** the slots marked dirty since the last pass */
  readonly queued: readonly number[];
}

export interface SchedulerStats {
  /** how long the running pass has taken so far; 0 when idle */
  readonly busyForMs: number;
}

export class PassScheduler {
  private dirty: number[] = [];
  /** the slots the running pass took: queued again if it fails */
  private taken: number[] = [];
  private allDirty = false;
  private neighboursDirty = false;
  private needDump = true;
  /** main is re-read with the next dump */
  private mainDumpDue = true;
  private running = false;
  private stopped = false;
  private passStartedAt: number | undefined;
  private timer: Timer | undefined;
  private resyncTimer: Timer | undefined;
  private burstTimer: Timer | undefined;
  /** when our route events went off, for MAX_DEAF_MS */
  private deafSince: number | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly store: RouteStore, private readonly clock: Clock, private readonly log: Logger, private readonly hooks: SchedulerHooks) {}

  markDirty(slot: number): void {
    const flags = this.store.flags;
    if (!(flags[slot]! & F_DIRTY)) {
      flags[slot]! |= F_DIRTY;
      this.dirty.push(slot);
    }
    this.schedule();
  }

  /** re-plan every slot */
  markAll(): void {
    this.allDirty = true;
    this.schedule();
  }

  /** the neighbour plan runs in every pass; this only makes one run */
  markNeighbours(): void {
    this.neighboursDirty = true;
    this.schedule();
  }

  /** a pass soon, if any part has work (our table's rule and throws keep their own) */
  poke(): void {
    this.schedule();
  }

  /** dump before the next pass (main only when asked) */
  requestDump(main = false): void {
    this.needDump = true;
    if (main) this.mainDumpDue = true;
    this.schedule();
  }

  /** dump everything, main too, then re-plan every slot */
  requestResync(): void {
    this.needDump = true;
    this.mainDumpDue = true;
    this.allDirty = true;
    this.schedule();
  }

  /** Called by a pass first: whether to dump, and main with it. */
  takeDump(): { readonly main: boolean } | undefined {
    this.neighboursDirty = false;
    if (!this.needDump) return undefined;
    this.needDump = false;
    const main = this.mainDumpDue;
    this.mainDumpDue = false;
    return { main };
  }

  /**
   * Called by a pass after the dump: the slots to plan. They are off the queue from here
   * (F_WRITING instead of F_DIRTY): a change while the pass writes them queues them again
   * for the next pass instead of being folded into this one's F_DIRTY and lost.
   */
  takeWork(): PassWork {
    const full = this.allDirty;
    this.allDirty = false;
    const flags = this.store.flags;
    const dirty = this.dirty;
    // index loops on these per-route paths: an iterator's result objects were garbage per route
    for (let i = 0; i < dirty.length; i++) flags[dirty[i]!] = (flags[dirty[i]!]! & ~F_DIRTY) | F_WRITING;
    this.taken = this.dirty;
    this.dirty = [];
    return { full, queued: this.taken };
  }

  /** The pass went through: its slots are off the queue, and freed when nothing refers to them. */
  finishWork(): void {
    const { store } = this;
    const taken = this.taken;
    for (let i = 0; i < taken.length; i++) {
      const s = taken[i]!;
      store.flags[s]! &= ~F_WRITING;
      store.releaseIfUnused(s);
    }
    this.taken = [];
  }

  /** Resolves when no pass is running or scheduled (a resync after a failure included). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const t of [this.timer, this.resyncTimer, this.burstTimer]) t?.cancel();
    this.timer = this.resyncTimer = this.burstTimer = undefined;
    if (!this.running) this.wakeIdle();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  stats(): SchedulerStats {
    return { busyForMs: this.passStartedAt === undefined ? 0 : performance.now() - this.passStartedAt };
  }

  /**
   * A big write batch: our own route events would only flood the event socket (and cost a
   * decode each), so they are off while it is written and until the writing has been quiet
   * for BURST_END_MS (counted from the end of the last big write, not its start: a
   * million-route write outlasts any fixed delay); then one dump tells whatever happened
   * meanwhile. One dump per burst, not per pass: a dump per pass re-reads a growing table
   * and is quadratic over a million-route feed.
   */
  beginBurst(): void {
    this.hooks.routeEvents(false);
    this.deafSince ??= this.clock.now();
    this.burstTimer?.cancel();
    this.burstTimer = undefined;
  }

  endBurst(): void {
    this.burstTimer = this.clock.setTimeout(() => this.burstQuiet(), BURST_END_MS);
  }

  /**
   * The writing has been quiet for BURST_END_MS. With routes queued meanwhile (the next feed
   * began: zebra's deletes right after its adds), they are written first and the dump waits
   * for the next quiet spell, up to MAX_DEAF_MS: a dump of a million-route table takes a second
   * or more, and the queued routes would wait behind it.
   */
  private burstQuiet(): void {
    this.burstTimer = undefined;
    if (this.dirty.length > 0 && this.clock.now() - (this.deafSince ?? 0) < MAX_DEAF_MS) {
      this.burstTimer = this.clock.setTimeout(() => this.burstQuiet(), BURST_END_MS);
      return;
    }
    this.deafSince = undefined;
    this.hooks.routeEvents(true); // before the dump, so nothing falls between the two
    this.requestDump(this.hooks.mainRereadAfterBurst());
  }

  private hasWork(): boolean {
    return this.needDump || this.allDirty || this.neighboursDirty || this.dirty.length > 0 || this.hooks.otherWork();
  }

  private isIdle(): boolean {
    return !this.running && !this.timer && !this.resyncTimer;
  }

  private schedule(): void {
    if (this.stopped || this.timer || this.running || this.resyncTimer) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, DEBOUNCE_MS, true);
  }

  private async run(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      while (!this.stopped && this.hasWork()) await this.timedPass();
    } catch (err) {
      this.log.error({ event: 'reconcileFailed', err }, 'reconcile pass failed; resync in 1 s');
      // queued again; one marked again meanwhile is queued already (F_DIRTY): never twice
      const flags = this.store.flags;
      for (const s of this.taken) {
        flags[s]! &= ~F_WRITING;
        if (!(flags[s]! & F_DIRTY)) {
          flags[s]! |= F_DIRTY;
          this.dirty.push(s);
        }
      }
      this.taken = [];
      this.needDump = this.mainDumpDue = this.allDirty = true;
      // a kernel that keeps failing is retried each second, not in a tight loop
      this.resyncTimer = this.clock.setTimeout(() => {
        this.resyncTimer = undefined;
        this.schedule();
      }, RESYNC_AFTER_FAILURE_MS);
    } finally {
      this.running = false;
      if (!this.stopped && this.hasWork()) this.schedule();
      if (this.isIdle()) this.wakeIdle();
    }
  }

  private async timedPass(): Promise<void> {
    this.passStartedAt = performance.now();
    try {
      await this.hooks.pass();
    } finally {
      this.passStartedAt = undefined;
    }
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
