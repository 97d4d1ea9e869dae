// The post-burst dump and routes that arrive as the writing falls quiet, on the real
// PassScheduler with a ManualClock: every pass writes its queue at once, as a burst.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BURST_END_MS, MAX_DEAF_MS, PassScheduler } from '../../src/reconcile/scheduler.js';
import { RouteStore } from '../../src/rib/route-store.js';
import { ManualClock } from '../helpers/manual-clock.js';

interface PassSeen {
  readonly at: number;
  readonly dumped: boolean;
  readonly slots: number;
}

function rig() {
  const clock = new ManualClock();
  const store = new RouteStore();
  const passes: PassSeen[] = [];
  const events: boolean[] = [];
  const scheduler: PassScheduler = new PassScheduler(store, clock, pino({ level: 'silent' }), {
    pass: () => {
      const dumped = scheduler.takeDump() !== undefined;
      const work = scheduler.takeWork();
      if (work.queued.length > 0) {
        scheduler.beginBurst();
        scheduler.endBurst();
      }
      scheduler.finishWork();
      passes.push({ at: clock.now(), dumped, slots: work.queued.length });
      return Promise.resolve();
    },
    otherWork: () => false,
    routeEvents: (on) => { if (events.at(-1) !== on) events.push(on); }, // the kernel port ignores a repeat
    mainRereadAfterBurst: () => false,
  });
  let next = 0;
  const queue = (): void => scheduler.markDirty(store.slotFor(5549, (0x0a000000 + next++) >>> 0, 32));
  return { clock, passes, events, queue, scheduler };
}

describe('the dump after a burst', () => {
  it('waits for routes queued as the writing fell quiet: they are written first, the dump follows', async () => {
    const { clock, passes, events, queue, scheduler } = rig();
    queue();
    await clock.advance(10); // the first pass: the start-up dump, then a burst
    expect(passes.map((p) => p.dumped)).toEqual([true]);
    const burstEnd = passes[0]!.at + BURST_END_MS;
    // the next feed's first route lands 1 ms before the quiet spell ends; its pass is due 1 ms after
    await clock.advance(burstEnd - 1 - clock.now());
    queue();
    await clock.advance(10);
    expect(passes.slice(1).map((p) => ({ dumped: p.dumped, slots: p.slots }))).toEqual([{ dumped: false, slots: 1 }]);
    expect(events).toEqual([false]);
    await clock.advance(BURST_END_MS);
    expect(events).toEqual([false, true]);
    expect(passes.at(-1)).toMatchObject({ dumped: true, slots: 0 });
    scheduler.stop();
  });

  it(`held back by routes at every quiet spell at most ${MAX_DEAF_MS} ms after the events went off`, async () => {
    const { clock, passes, events, queue, scheduler } = rig();
    queue();
    await clock.advance(10);
    const deafAt = passes[0]!.at;
    // a route queued 1 ms before each quiet spell ends (each pass is a burst and starts another spell)
    while (!passes.slice(1).some((p) => p.dumped) && clock.now() < deafAt + 3 * MAX_DEAF_MS) {
      const due = passes.at(-1)!.at + BURST_END_MS;
      await clock.advance(due - 1 - clock.now());
      queue();
      await clock.advance(5);
    }
    const dump = passes.slice(1).find((p) => p.dumped)!;
    expect(dump.at - deafAt).toBeGreaterThanOrEqual(MAX_DEAF_MS);
    expect(dump.at - deafAt).toBeLessThanOrEqual(MAX_DEAF_MS + 2 * BURST_END_MS);
    expect(events.slice(0, 2)).toEqual([false, true]); // on for the dump (the route with it starts the next burst)
    scheduler.stop();
  });
});
