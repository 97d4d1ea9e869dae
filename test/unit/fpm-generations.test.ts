// The FPM server's generations over a real loopback TCP connection (no root needed): a
// restarted zebra's replay must not withdraw what bgpd has not re-sent yet; what the new
// generation never re-sends goes when graceful.stale-time is over.
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { writeNewRoute } from '../../src/kernel/rtnetlink-codec.js';
import { Rib } from '../../src/rib/rib.js';
import { FpmSource } from '../../src/sources/fpm/fpm-server.js';
import { fpmFrame, fpmRoute, PEER_VIA } from '../helpers/fpm-frames.js';

const SETTLE = 60;
const STALE = 400;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const announce = (dst: number): Buffer =>
  fpmFrame((w) => writeNewRoute(w, 0, fpmRoute([{ ifindex: 2, via6: PEER_VIA, flags: 0 }], { dst }), 'replace', false));
const NET_A = 0x0a000100; // 10.0.1.0/24
const NET_B = 0x0a000200; // 10.0.2.0/24

describe('FPM generations (zebra restarts)', () => {
  let source: FpmSource;
  let rib: Rib;
  let port: number;
  const zebras: Socket[] = [];

  async function startSource(): Promise<void> {
    rib = new Rib();
    source = new FpmSource({
      host: '127.0.0.1', port: 0, protocols: new Set([186]), mainTable: 1000, settleTimeMs: SETTLE, staleTimeMs: STALE, allowReplace: false, withdrawHoldMs: 0,
      ifname: (i) => (i === 2 ? 'h0' : undefined),
    }, rib, pino({ level: 'silent' }));
    await source.start();
    port = source.port!;
  }

  async function zebra(...frames: Buffer[]): Promise<Socket> {
    const sock = connect(port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    for (const f of frames) sock.write(f);
    zebras.push(sock);
    return sock;
  }

  const keys = () => [...rib.keys()].sort();

  afterEach(() => {
    for (const z of zebras) z.destroy();
    zebras.length = 0;
    source?.stop();
  });

  it('first replay: entries are taken, the replay settles and the source reports synced', async () => {
    await startSource();
    let synced = 0;
    source.onSynced(() => synced++);
    await zebra(announce(NET_A), announce(NET_B));
    await waitUntil('synced', () => synced === 1);
    expect(keys()).toEqual(['1000:10.0.1.0/24', '1000:10.0.2.0/24']);
    expect(source.stats()).toMatchObject({ connected: true, generation: 1, replaying: false });
  });

  it('zebra restarts with an empty replay: routes are held until graceful.stale-time, then what was not re-sent goes', async () => {
    await startSource();
    const z1 = await zebra(announce(NET_A), announce(NET_B));
    await waitUntil('first replay', () => rib.size === 2 && !source.stats().replaying);
    const died = Date.now();
    z1.destroy();
    await waitUntil('disconnect', () => !source.stats().connected);
    const z2 = await zebra(); // zebra back, bgpd not yet: nothing to replay
    await waitUntil('second generation settled', () => source.stats().generation === 2 && !source.stats().replaying);
    await sleep(SETTLE * 2);
    expect(keys()).toEqual(['1000:10.0.1.0/24', '1000:10.0.2.0/24']); // settle alone withdraws nothing
    z2.write(announce(NET_A)); // bgpd reconnected and re-sent only A
    await waitUntil('stale time over', () => rib.size === 1, STALE * 3);
    expect(Date.now() - died).toBeGreaterThanOrEqual(STALE - 20);
    expect(keys()).toEqual(['1000:10.0.1.0/24']);
  });

  it('zebra never comes back: everything is withdrawn after graceful.stale-time', async () => {
    await startSource();
    const z1 = await zebra(announce(NET_A));
    await waitUntil('first replay', () => rib.size === 1 && !source.stats().replaying);
    z1.destroy();
    await sleep(STALE / 2);
    expect(rib.size).toBe(1);
    await waitUntil('withdrawn', () => rib.size === 0, STALE * 3);
  });

  it('stale time ends while the new replay is still running: the sweep waits for it to settle', async () => {
    await startSource();
    const z1 = await zebra(announce(NET_A), announce(NET_B));
    await waitUntil('first replay', () => rib.size === 2 && !source.stats().replaying);
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
    await waitUntil('swept after settle', () => rib.size === 1, 2000);
    expect(keys()).toEqual(['1000:10.0.2.0/24']);
  });
});
