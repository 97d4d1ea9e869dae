// The source set gates the sweep: ready once every enabled source has synced, or once
// graceful.stale-time has passed on the clock, whichever comes first; once, never twice.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { SyncSignal, type RouteSource } from '../../src/sources/route-source.js';
import { SourceSet } from '../../src/sources/source-set.js';
import { ManualClock } from '../helpers/manual-clock.js';

class FakeSource implements RouteSource<{ started: boolean }> {
  readonly sync = new SyncSignal();
  started = false;
  stopped = false;
  constructor(readonly name: string) {}
  start(): Promise<void> {
    this.started = true;
    return Promise.resolve();
  }
  stop(): void {
    this.stopped = true;
  }
  stats(): { started: boolean } {
    return { started: this.started };
  }
  totals() {
    return { messages: 0, malformed: 0 };
  }
  get synced(): boolean {
    return this.sync.synced;
  }
  onSynced(listener: () => void): () => void {
    return this.sync.listen(listener);
  }
}

function setUp(names: string[]) {
  const clock = new ManualClock();
  const sources = names.map((n) => new FakeSource(n));
  const ready: string[] = [];
  const set = new SourceSet(sources, { clock, staleTimeMs: 30_000, log: pino({ level: 'silent' }), onReady: (why) => ready.push(why) });
  return { clock, sources, ready, set };
}

describe('SourceSet', () => {
  it('is ready when the last source has synced, and only once', async () => {
    const { sources: [a, b], ready, set, clock } = setUp(['a', 'b']);
    await set.start();
    expect(a!.started && b!.started).toBe(true);
    a!.sync.ended();
    expect(ready).toEqual([]);
    expect(set.waitingFor()).toEqual(['b']);
    b!.sync.ended();
    b!.sync.ended(); // a second replay of the same source
    await clock.advance(60_000); // the stale timer was cancelled
    expect(ready).toEqual(['every source replayed (last: b)']);
    expect(set.ready).toBe(true);
  });

  it('is ready when graceful.stale-time has passed since the start, synced or not', async () => {
    const { sources: [a], ready, set, clock } = setUp(['a', 'b']);
    await set.start();
    a!.sync.ended();
    await clock.advance(29_999);
    expect(ready).toEqual([]);
    await clock.advance(1);
    expect(ready).toEqual(['graceful.stale-time elapsed']);
  });

  it('counts a source that syncs before start (the kernel-table source syncs in the first dump)', async () => {
    const { sources: [a], ready, set } = setUp(['kernel-table']);
    a!.sync.ended();
    expect(ready).toEqual(['every source replayed (last: kernel-table)']);
    await set.start();
    expect(ready).toHaveLength(1);
  });

  it('with no source enabled it is ready at start; stop() stops every source and the timer', async () => {
    const none = setUp([]);
    await none.set.start();
    expect(none.ready).toEqual(['no sources enabled']);
    const some = setUp(['a']);
    await some.set.start();
    some.set.stop();
    await some.clock.advance(60_000);
    expect(some.ready).toEqual([]);
    expect(some.sources[0]!.stopped).toBe(true);
    expect(some.clock.pending).toBe(0);
  });
});
