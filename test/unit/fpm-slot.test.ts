// The single zebra slot under a hostile or stuck local peer (issue 12), over real loopback
// TCP (port 0, no root): half a frame that stalls is closed; a connection that never spoke,
// or sits on half a frame, gives way to a new one, so a restarted zebra is never locked out.
import { spawnSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { writeNewRoute } from '../../src/kernel/rtnetlink-codec.js';
import { Rib } from '../../src/rib/rib.js';
import { FpmSource } from '../../src/sources/fpm/fpm-server.js';
import { fpmFrame, fpmRoute, PEER_VIA } from '../helpers/fpm-frames.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const announce = (dst: number): Buffer =>
  fpmFrame((w) => writeNewRoute(w, 0, fpmRoute([{ ifindex: 2, via6: PEER_VIA, flags: 0 }], { dst }), 'replace', false));

describe('the FPM slot', () => {
  let source: FpmSource;
  let rib: Rib;
  let port: number;
  const clients: Array<{ sock: Socket; closed: boolean }> = [];

  async function start(opts: { frameStallMs?: number; stalledReplaceMs?: number } = {}): Promise<void> {
    rib = new Rib();
    source = new FpmSource({
      host: '127.0.0.1', port: 0, protocols: new Set([186]), mainTable: 5549, settleTimeMs: 50, staleTimeMs: 60_000, allowReplace: false, withdrawHoldMs: 0,
      ifname: (i) => (i === 2 ? 'h0' : undefined), ...opts,
    }, rib, pino({ level: 'silent' }));
    await source.start();
    port = source.port!;
  }

  async function client(...bytes: Buffer[]): Promise<{ sock: Socket; closed: boolean }> {
    const sock = connect(port, '127.0.0.1');
    const c = { sock, closed: false };
    sock.on('close', () => (c.closed = true));
    sock.on('error', () => {});
    await new Promise<void>((r) => sock.once('connect', () => r()));
    for (const b of bytes) sock.write(b);
    clients.push(c);
    return c;
  }

  afterEach(() => {
    for (const c of clients) c.sock.destroy();
    clients.length = 0;
    source?.stop();
  });

  it('half a frame that stalls closes the connection; the slot is free again', async () => {
    await start({ frameStallMs: 150 });
    const frame = announce(0x0a000100);
    const stuck = await client(frame.subarray(0, 10));
    await waitUntil('the stalled connection to be closed', () => stuck.closed);
    expect(source.stats()).toMatchObject({ connected: false, stalledFrames: 1 });
    const zebra = await client(frame);
    await waitUntil('the route', () => rib.size === 1);
    expect(zebra.closed).toBe(false);
    expect(source.stats()).toMatchObject({ connected: true, refused: 0 });
  });

  it('a connection that never sent a frame gives way to a zebra', async () => {
    await start();
    const silent = await client();
    await waitUntil('the silent connection to hold the slot', () => source.stats().connected);
    const zebra = await client(announce(0x0a000100));
    await waitUntil('the silent one closed', () => silent.closed);
    await waitUntil('the route from the new zebra', () => rib.size === 1);
    expect(source.stats()).toMatchObject({ connected: true, generation: 2, refused: 0 });
    expect(zebra.closed).toBe(false);
  });

  it('a connection stuck on half a frame gives way; one that speaks FPM keeps the slot', async () => {
    await start({ stalledReplaceMs: 50 });
    const frame = announce(0x0a000100);
    const first = await client(frame);
    await waitUntil('the first route', () => rib.size === 1);
    // a second zebra while the first is healthy: refused, as before
    const second = await client(announce(0x0a000200));
    await waitUntil('the second to be refused', () => second.closed);
    expect(source.stats().refused).toBe(1);
    // the first sticks on half a frame: a newcomer now takes the slot
    first.sock.write(frame.subarray(0, 7));
    await sleep(120);
    const third = await client(announce(0x0a000300));
    await waitUntil('the stuck one closed', () => first.closed);
    await waitUntil('the newcomer\'s route', () => rib.get(5549, { addr: 0x0a000300, len: 24, key: '10.0.3.0/24' }) !== undefined);
    expect(third.closed).toBe(false);
    expect(source.stats()).toMatchObject({ connected: true, generation: 2, refused: 1 });
  });

  it('the zebra connection has TCP keepalive on (ss, from iproute2, shows its timer)', async () => {
    await start();
    await client(announce(0x0a000100));
    await waitUntil('the route', () => rib.size === 1);
    const out = spawnSync('ss', ['-tnoH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' }).stdout;
    expect(out).toMatch(/timer:\(keepalive,/);
  });
});
