// The enabled route sources as one: starts them in order, tracks which have finished their
// initial sync, and says once when owned leftovers may be swept - when every source has
// synced, or when graceful.stale-time has passed since the sources were started, whichever
// comes first (subscribe, then dump; never prune before ready).
import type { Logger } from '../log.js';
import type { Clock, Timer } from '../runtime/clock.js';
import type { RouteSource } from './route-source.js';

export interface SourceSetOptions {
  readonly clock: Clock;
  readonly staleTimeMs: number;
  readonly log: Logger;
  /** called once: owned leftovers may now be removed */
  readonly onReady: (why: string) => void;
}

export class SourceSet {
  private readonly unsynced = new Set<string>();
  private readonly unhook: Array<() => void> = [];
  private staleTimer: Timer | undefined;
  private isReady = false;

  /** Counts every source from here on: one may sync before start() (the kernel-table source syncs in the first dump). */
  constructor(readonly sources: readonly RouteSource[], private readonly opts: SourceSetOptions) {
    for (const s of sources) {
      if (s.synced) continue;
      this.unsynced.add(s.name);
      this.unhook.push(s.onSynced(() => this.synced(s.name)));
    }
  }

  /** Starts each source in turn; then the sweep waits for them, at most graceful.stale-time. */
  async start(): Promise<void> {
    for (const s of this.sources) await s.start();
    if (this.unsynced.size === 0) this.becomeReady(this.sources.length === 0 ? 'no sources enabled' : 'every source replayed');
    else this.staleTimer = this.opts.clock.setTimeout(() => this.becomeReady('graceful.stale-time elapsed'), this.opts.staleTimeMs);
  }

  stop(): void {
    this.staleTimer?.cancel();
    for (const u of this.unhook.splice(0)) u();
    for (const s of this.sources) s.stop();
  }

  /** every source has synced, or stale-time is over */
  get ready(): boolean {
    return this.isReady;
  }

  /** the names of enabled sources still in their first replay */
  waitingFor(): string[] {
    return [...this.unsynced];
  }

  private synced(name: string): void {
    if (!this.unsynced.delete(name)) return;
    if (this.unsynced.size === 0) this.becomeReady(`every source replayed (last: ${name})`);
  }

  private becomeReady(why: string): void {
    if (this.isReady) return;
    this.isReady = true;
    this.staleTimer?.cancel();
    this.opts.log.info({ event: 'sweepAllowed', why }, 'sources synced: owned leftovers may now be removed');
    this.opts.onReady(why);
  }
}
