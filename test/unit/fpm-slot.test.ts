// The single zebra slot under a hostile or stuck local peer (issue 12), over real loopback
// TCP (port 0, no root): half a frame that stalls is closed; a connection that never spoke,
// or sits on half a frame, gives way to a new one, so a restarted zebra is never locked out.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { announce, fpmLoopbackPerTest, sleep, waitUntil } from '../helpers/fpm-loopback.js';

describe('the FPM slot', () => {
  const fpm = fpmLoopbackPerTest();
  const start = (opts: { frameStallMs?: number; stalledReplaceMs?: number } = {}) =>
    fpm.start({ mainTable: 5549, settleTimeMs: 50, staleTimeMs: 60_000, ...opts });
  const client = (...frames: Buffer[]) => fpm.zebra(...frames);

  it('half a frame that stalls closes the connection; the slot is free again', async () => {
    await start({ frameStallMs: 150 });
    const frame = announce(0x0a000100);
    const stuck = await client(frame.subarray(0, 10));
    await waitUntil('the stalled connection to be closed', () => stuck.closed);
    expect(fpm.source.stats()).toMatchObject({ connected: false, stalledFrames: 1 });
    const zebra = await client(frame);
    await waitUntil('the route', () => fpm.rib.size === 1);
    expect(zebra.closed).toBe(false);
    expect(fpm.source.stats()).toMatchObject({ connected: true, refused: 0 });
  });

  it('a connection that never sent a frame gives way to a zebra', async () => {
    await start();
    const silent = await client();
    await waitUntil('the silent connection to hold the slot', () => fpm.source.stats().connected);
    const zebra = await client(announce(0x0a000100));
    await waitUntil('the silent one closed', () => silent.closed);
    await waitUntil('the route from the new zebra', () => fpm.rib.size === 1);
    expect(fpm.source.stats()).toMatchObject({ connected: true, generation: 2, refused: 0 });
    expect(zebra.closed).toBe(false);
  });

  it('a connection stuck on half a frame gives way; one that speaks FPM keeps the slot', async () => {
    await start({ stalledReplaceMs: 50 });
    const frame = announce(0x0a000100);
    const first = await client(frame);
    await waitUntil('the first route', () => fpm.rib.size === 1);
    // a second zebra while the first is healthy: refused, as before
    const second = await client(announce(0x0a000200));
    await waitUntil('the second to be refused', () => second.closed);
    expect(fpm.source.stats().refused).toBe(1);
    // the first sticks on half a frame: a newcomer now takes the slot
    first.write(frame.subarray(0, 7));
    await sleep(120);
    const third = await client(announce(0x0a000300));
    await waitUntil('the stuck one closed', () => first.closed);
    await waitUntil('the newcomer\'s route', () => fpm.rib.get(5549, { addr: 0x0a000300, len: 24, key: '10.0.3.0/24' }) !== undefined);
    expect(third.closed).toBe(false);
    expect(fpm.source.stats()).toMatchObject({ connected: true, generation: 2, refused: 1 });
  });

  it('the zebra connection has TCP keepalive on (ss, from iproute2, shows its timer)', async () => {
    await start();
    await client(announce(0x0a000100));
    await waitUntil('the route', () => fpm.rib.size === 1);
    const out = spawnSync('ss', ['-tnoH', 'state', 'established', `( sport = :${fpm.port} )`], { encoding: 'utf8' }).stdout;
    expect(out).toMatch(/timer:\(keepalive,/);
  });
});
