// The FPM server's generations over a real loopback TCP connection (no root needed): a
// restarted zebra's replay must not withdraw what bgpd has not re-sent yet; what the new
// generation never re-sends goes when graceful.stale-time is over.
import { describe, expect, it } from 'vitest';
import { announce, fpmLoopbackPerTest, waitUntil } from '../helpers/fpm-loopback.js';
import { ManualClock } from '../helpers/manual-clock.js';

const SETTLE = 60;
const STALE = 400;
const NET_A = 0x0a000100; // 10.0.1.0/24
const NET_B = 0x0a000200; // 10.0.2.0/24

describe('FPM generations (zebra restarts)', () => {
  const fpm = fpmLoopbackPerTest();
  const startSource = () => fpm.start({ mainTable: 1000, settleTimeMs: SETTLE, staleTimeMs: STALE });
  // timers on a ManualClock: what happens at stale time does not depend on the machine's load
  const startOnClock = async (): Promise<ManualClock> => {
    const clock = new ManualClock(0);
    await fpm.start({ mainTable: 1000, settleTimeMs: SETTLE, staleTimeMs: STALE, clock });
    return clock;
  };
  const zebra = (...frames: Buffer[]) => fpm.zebra(...frames);
  const keys = () => [...fpm.rib.keys()].sort();

  it('first replay: entries are taken, the replay settles and the source reports synced', async () => {
    await startSource();
    let synced = 0;
    fpm.source.onSynced(() => synced++);
    await zebra(announce(NET_A), announce(NET_B));
    await waitUntil('synced', () => synced === 1);
    expect(keys()).toEqual(['1000:10.0.1.0/24', '1000:10.0.2.0/24']);
    expect(fpm.source.stats()).toMatchObject({ connected: true, generation: 1, replaying: false });
  });

  it('zebra restarts with an empty replay: routes are held until graceful.stale-time, then what was not re-sent goes', async () => {
    const clock = await startOnClock();
    const z1 = await zebra(announce(NET_A), announce(NET_B));
    await waitUntil('first replay read', () => fpm.rib.size === 2);
    await clock.advance(SETTLE);
    expect(fpm.source.stats().replaying).toBe(false);
    z1.destroy();
    await waitUntil('disconnect', () => !fpm.source.stats().connected);
    const z2 = await zebra(); // zebra back, bgpd not yet: nothing to replay
    await waitUntil('second generation', () => fpm.source.stats().generation === 2);
    await clock.advance(SETTLE * 2);
    expect(fpm.source.stats().replaying).toBe(false);
    expect(keys()).toEqual(['1000:10.0.1.0/24', '1000:10.0.2.0/24']); // settle alone withdraws nothing
    const read = fpm.source.totals().messages;
    z2.write(announce(NET_A)); // bgpd reconnected and re-sent only A
    await waitUntil('A read again', () => fpm.source.totals().messages === read + 1);
    await clock.advance(STALE - SETTLE * 2 - 1); // 1 ms before stale time ends (it runs from the disconnect)
    expect(keys()).toEqual(['1000:10.0.1.0/24', '1000:10.0.2.0/24']);
    await clock.advance(1);
    expect(keys()).toEqual(['1000:10.0.1.0/24']);
  });

  it('zebra never comes back: everything is withdrawn after graceful.stale-time', async () => {
    const clock = await startOnClock();
    const z1 = await zebra(announce(NET_A));
    await waitUntil('first replay read', () => fpm.rib.size === 1);
    await clock.advance(SETTLE);
    z1.destroy();
    await waitUntil('disconnect', () => !fpm.source.stats().connected);
    await clock.advance(STALE - 1);
    expect(fpm.rib.size).toBe(1);
    await clock.advance(1);
    expect(fpm.rib.size).toBe(0);
  });

  it('stale time ends while the new replay is still running: the sweep waits for it to settle', async () => {
    const clock = await startOnClock();
    const z1 = await zebra(announce(NET_A), announce(NET_B));
    await waitUntil('first replay read', () => fpm.rib.size === 2);
    await clock.advance(SETTLE);
    z1.destroy();
    await waitUntil('disconnect', () => !fpm.source.stats().connected);
    await clock.advance(STALE - 100);
    const z2 = await zebra();
    await waitUntil('second generation', () => fpm.source.stats().generation === 2);
    // keep the replay busy across the stale deadline, re-sending only B every SETTLE/3
    for (let t = 0; t < 250; t += SETTLE / 3) {
      const read = fpm.source.totals().messages;
      z2.write(announce(NET_B));
      await waitUntil('B read again', () => fpm.source.totals().messages === read + 1);
      await clock.advance(SETTLE / 3);
    }
    expect(fpm.source.stats().replaying).toBe(true);
    expect(keys()).toEqual(['1000:10.0.1.0/24', '1000:10.0.2.0/24']);
    await clock.advance(SETTLE);
    expect(keys()).toEqual(['1000:10.0.2.0/24']);
  });
});
