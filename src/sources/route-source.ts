// What every route source is to the daemon: something that starts, stops, says how it is
// doing and says when its initial sync (the first full replay) is over. The daemon starts
// them through a SourceSet (source-set.ts), which gates the sweep on their readiness.
import { Observers } from '../runtime/observers.js';

/** counts every source keeps across its sessions (metrics) */
export interface SourceTotals {
  /** messages taken: JSON lines, FPM netlink messages, gRPC messages, kernel route events */
  readonly messages: number;
  /** messages that did not decode (skipped) */
  readonly malformed: number;
}

export interface RouteSource<Stats extends object = object> {
  /** "jsonl", "fpm", "gobgp", "kernel-table": the key of its status and metrics */
  readonly name: string;
  start(): Promise<void>;
  stop(): void;
  /** a copy of what `rfc5549d status` shows for it */
  stats(): Stats;
  totals(): SourceTotals;
  /** whether its first replay is over: until every source's is, owned leftovers stay */
  readonly synced: boolean;
  /** hears every end of a replay (the first one sets `synced`) */
  onSynced(listener: () => void): () => void;
}

/** The sync state a source keeps: `synced` from the first end of a replay, observers of each. */
export class SyncSignal {
  private done = false;
  private readonly observers = new Observers<[]>();

  get synced(): boolean {
    return this.done;
  }

  listen(listener: () => void): () => void {
    return this.observers.add(listener);
  }

  /** a replay ended */
  ended(): void {
    this.done = true;
    this.observers.notify();
  }
}
