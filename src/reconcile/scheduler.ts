// When passes run. Events and source updates only mark work (slots, everything, the
// neighbours, a dump); a short debounce coalesces a burst of them into one pass, and one pass
// runs at a time until no work is left. A failed pass dumps and re-plans everything a second
// later. Burst mode keeps our own route events off around big writes.
// A pass that only writes routes may leave them in flight (PassRunner): the next pass plans
// meanwhile, but not the slots still being written (F_WRITING): those wait for their record.
import type { Logger } from '../log.js';
import type { Clock, Timer } from '../runtime/clock.js';
import { F_DIRTY, F_WRITING, type RouteStore } from '../rib/route-store.js';

/** coalesces a replay, or a flood of echoes, into one pass */
const DEBOUNCE_MS = 2;
const RESYNC_AFTER_FAILURE_MS = 1000;
/**
 * While route writes are in flight, a pass plans before their record only once this many
 * slots are queued: tiny passes cost more (a sendmsg and two thread hand-overs each) than
 * the overlap saves. Fewer wait for the record, as before.
 */
export const PLAN_IN_FLIGHT_MIN = 2000;
/** route events stay off until the writing has been quiet this long */
export const BURST_END_MS = 250;

export interface SchedulerHooks {
  /** one pass; a throw is a failed pass */
  pass(): Promise<void>;
  /** work held outside the scheduler (our table's rule and throws) */
  otherWork(): boolean;
  /** whether route writes of an earlier pass are still in flight */
  writing(): boolean;
  /** waits until no route write is in flight (a throw is a failed pass) */
  drain(): Promise<void>;
  /** resolves (never rejects) when one of the route writes in flight is recorded */
  recorded(): Promise<void>;
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
  /** the slots of each pass not yet finished (its writes may be in flight): queued again on a failure */
  private readonly taken = new Set<readonly number[]>();
  /** passes whose big writes are in flight (burst mode) */
  private bursts = 0;
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
  private idleWaiters: Array<() => void> = [];
  /** the running loop waits for a record or new work: this wakes it on new work */
  private wake: (() => void) | undefined;
  private wakeTimer: Timer | undefined;

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
   * Whether the next pass only plans queued routes: no dump, no full plan, no neighbour or
   * own-table work. Only such a pass may plan while earlier route writes are in flight.
   */
  get routesOnly(): boolean {
    return !this.needDump && !this.allDirty && !this.neighboursDirty && !this.hooks.otherWork();
  }

  /**
   * Called by a pass after the dump: the slots to plan. A slot whose write is still in flight
   * stays queued for after its record (planned now, it would be planned from the observed
   * state before that write: a second create, EEXIST).
   */
  takeWork(): PassWork {
    const full = this.allDirty;
    this.allDirty = false;
    const flags = this.store.flags;
    const queued: number[] = [];
    const later: number[] = [];
    for (const s of this.dirty) {
      if (flags[s]! & F_WRITING) later.push(s);
      else {
        flags[s] = (flags[s]! & ~F_DIRTY) | F_WRITING;
        queued.push(s);
      }
    }
    this.dirty = later;
    this.taken.add(queued);
    return { full, queued };
  }

  /** The pass's writes are recorded: its slots are off the queue, and freed when nothing refers to them. */
  finishWork(queued: readonly number[]): void {
    const { store } = this;
    if (!this.taken.delete(queued)) return;
    for (const s of queued) {
      store.flags[s]! &= ~F_WRITING;
      store.releaseIfUnused(s);
    }
    // slots marked again while in flight can be planned now
    if (this.dirty.length > 0) this.schedule();
  }

  /** Resolves when no pass is running or scheduled (a resync after a failure included). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const t of [this.timer, this.resyncTimer, this.burstTimer, this.wakeTimer]) t?.cancel();
    this.timer = this.resyncTimer = this.burstTimer = this.wakeTimer = undefined;
    this.wakeUp();
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
    this.bursts++;
    this.hooks.routeEvents(false);
    this.burstTimer?.cancel();
    this.burstTimer = undefined;
  }

  /** the quiet time counts from the end of the last big write in flight */
  endBurst(): void {
    if (--this.bursts > 0) return;
    this.burstTimer?.cancel();
    this.burstTimer = this.clock.setTimeout(() => {
      this.burstTimer = undefined;
      this.hooks.routeEvents(true); // before the dump, so nothing falls between the two
      this.requestDump(this.hooks.mainRereadAfterBurst());
    }, BURST_END_MS);
  }

  private hasWork(): boolean {
    return this.needDump || this.allDirty || this.neighboursDirty || this.hasPlannableSlot() || this.hooks.otherWork();
  }

  /** a queued slot whose write is not in flight (the others wait for their record) */
  private hasPlannableSlot(): boolean {
    const flags = this.store.flags;
    for (const s of this.dirty) if (!(flags[s]! & F_WRITING)) return true;
    return false;
  }

  private isIdle(): boolean {
    return !this.running && !this.timer && !this.resyncTimer;
  }

  private schedule(): void {
    if (this.running && this.wake && !this.wakeTimer && !this.stopped && this.dirty.length >= PLAN_IN_FLIGHT_MIN) {
      // writes in flight: new work is planned after the same debounce, not after their record
      this.wakeTimer = this.clock.setTimeout(() => {
        this.wakeTimer = undefined;
        this.wakeUp();
      }, DEBOUNCE_MS, true);
    }
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
      for (;;) {
        if (!this.stopped && this.hasWork()) await this.timedPass();
        else if (!this.stopped && this.hooks.writing()) await this.recordOrWork();
        else {
          // idle only once nothing is in flight; a write that failed fails the pass here
          await this.hooks.drain();
          if (this.stopped || !this.hasWork()) break;
        }
      }
    } catch (err) {
      this.log.error({ event: 'reconcileFailed', err }, 'reconcile pass failed; resync in 1 s');
      this.requeueTaken();
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

  private recordOrWork(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      void this.hooks.recorded().then(() => this.wakeUp());
    });
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    this.wakeTimer?.cancel();
    this.wakeTimer = undefined;
    w?.();
  }

  /** after a failed pass (its writes drained): every unfinished pass's slots are queued again */
  private requeueTaken(): void {
    const flags = this.store.flags;
    for (const queued of this.taken) {
      for (const s of queued) {
        flags[s]! &= ~F_WRITING;
        if (!(flags[s]! & F_DIRTY)) {
          flags[s]! |= F_DIRTY;
          this.dirty.push(s);
        }
      }
    }
    this.taken.clear();
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
