// The FPM server's generations over a real loopback TCP connection (no root needed): a
// restarted zebra's replay must not withdraw what bgpd has not re-sent yet; what the new
// generation never re-sends goes when graceful.stale-time is over.
import { describe, expect, it } from 'vitest';
import { announce, fpmLoopbackPerTest, sleep, waitUntil } from '../helpers/fpm-loopback.js';

const SETTLE = 60;
const STALE = 400;
const NET_A = 0x0a000100; // 10.0.1.0/24
const NET_B = 0x0a000200; // 10.0.2.0/24

describe('FPM generations (zebra restarts)', () => {
  const fpm = fpmLoopbackPerTest();
  const startSource = () => fpm.start({ mainTable: 1000, settleTimeMs: SETTLE, staleTimeMs: STALE });
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
    await startSource();
    const z1 = await zebra(announce(NET_A), announce(NET_B));
    await waitUntil('first replay', () => fpm.rib.size === 2 && !fpm.source.stats().replaying);
    const died = Date.now();
    z1.destroy();
    await waitUntil('disconnect', () => !fpm.source.stats().connected);
    const z2 = await zebra(); // zebra back, bgpd not yet: nothing to replay
    await waitUntil('second generation settled', () => fpm.source.stats().generation === 2 && !fpm.source.stats().replaying);
    await sleep(SETTLE * 2);
    expect(keys()).toEqual(['1000:10.0.1.0/24', '1000:10.0.2.0/24']); // settle alone withdraws nothing
    z2.write(announce(NET_A)); // bgpd reconnected and re-sent only A
    await waitUntil('stale time over', () => fpm.rib.size === 1, STALE * 3);
    expect(Date.now() - died).toBeGreaterThanOrEqual(STALE - 20);
    expect(keys()).toEqual(['1000:10.0.1.0/24']);
  });

  it('zebra never comes back: everything is withdrawn after graceful.stale-time', async () => {
    await startSource();
    const z1 = await zebra(announce(NET_A));
    await waitUntil('first replay', () => fpm.rib.size === 1 && !fpm.source.stats().replaying);
    z1.destroy();
    await sleep(STALE / 2);
    expect(fpm.rib.size).toBe(1);
    await waitUntil('withdrawn', () => fpm.rib.size === 0, STALE * 3);
  });

  it('stale time ends while the new replay is still running: the sweep waits for it to settle', async () => {
    await startSource();
    const z1 = await zebra(announce(NET_A), announce(NET_B));
    await waitUntil('first replay', () => fpm.rib.size === 2 && !fpm.source.stats().replaying);
    z1.destroy();
    await sleep(STALE - 100);
    const z2 = await zebra();
    // keep the replay busy across the stale deadline, re-sending only B
    const until = Date.now() + 250;
    while (Date.now() < until) {
      z2.write(announce(NET_B));
      await sleep(SETTLE / 3);
    }
    expect(keys()).toEqual(['1000:10.0.1.0/24', '1000:10.0.2.0/24']);
    await waitUntil('swept after settle', () => fpm.rib.size === 1, 2000);
    expect(keys()).toEqual(['1000:10.0.2.0/24']);
  });
});
