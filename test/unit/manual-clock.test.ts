// The test clock the orchestration scenarios run on: timers fire in time order, only when
// advanced, and not at all once cancelled.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';

describe('ManualClock', () => {
  it('runs due timers in time order and lets their promises settle between them', async () => {
    const clock = new ManualClock(0);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push('b@20'), 20);
    clock.setTimeout(() => {
      seen.push('a@10');
      void Promise.resolve().then(() => clock.setTimeout(() => seen.push('c@15'), 5));
    }, 10);
    const cancelled = clock.setTimeout(() => seen.push('never'), 12);
    cancelled.cancel();
    await clock.advance(9);
    expect(seen).toEqual([]);
    await clock.advance(11);
    expect(seen).toEqual(['a@10', 'c@15', 'b@20']);
    expect(clock.now()).toBe(20);
    expect(clock.pending).toBe(0);
  });
});
