// sources.fpm.withdraw-hold: zebra's withdrawals wait out a short hold; a zebra that
// disconnects within it (FRR stopping: bgpd withdraws everything ~0.1 s before zebra goes)
// gets its routes held with the rest of its generation instead of withdrawn.
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeDelRoute, writeNewRoute } from '../../src/kernel/rtnetlink-codec.js';
import { makePrefix } from '../../src/model/ipv4-prefix.js';
import { Rib } from '../../src/rib/rib.js';
import { FpmSource } from '../../src/sources/fpm/fpm-server.js';
import { CAP_FACTOR, WithdrawHold } from '../../src/sources/fpm/withdraw-hold.js';
import { fpmFrame, fpmRoute, PEER_VIA } from '../helpers/fpm-frames.js';

const A = makePrefix(0x0a000100, 24);
const B = makePrefix(0x0a000200, 24);

describe('WithdrawHold', () => {
  afterEach(() => vi.useRealTimers());

  it('applies a burst once no withdrawal has come for the hold, in arrival order', () => {
    vi.useFakeTimers();
    const applied: string[] = [];
    const hold = new WithdrawHold(1000, (t, p) => applied.push(`${t}:${p.key}`));
    hold.withdraw(1000, A);
    vi.advanceTimersByTime(400);
    hold.withdraw(1000, B);
    vi.advanceTimersByTime(999);
    expect(applied).toEqual([]);
    expect(hold.size).toBe(2);
    expect(hold.oldestAgeMs()).toBe(1399);
    vi.advanceTimersByTime(1);
    expect(applied).toEqual(['1000:10.0.1.0/24', '1000:10.0.2.0/24']);
    expect(hold.size).toBe(0);
  });

  it(`a burst that never pauses is applied at the latest ${CAP_FACTOR} holds after each withdrawal`, () => {
    vi.useFakeTimers();
    const applied: string[] = [];
    const hold = new WithdrawHold(100, (_t, p) => applied.push(p.key));
    for (let i = 0; i < 30; i++) {
      hold.withdraw(1000, makePrefix(0x0a000000 + (i << 8), 24));
      vi.advanceTimersByTime(50);
    }
    // t = 1500: withdrawals 0..10 (made at 0..500 ms) have waited 1000 ms or more
    expect(applied).toEqual(Array.from({ length: 11 }, (_, i) => `10.0.${i}.0/24`));
    vi.advanceTimersByTime(100); // quiet for a hold: the rest
    expect(applied).toHaveLength(30);
  });

  it('an add supersedes a held withdrawal; a repeated withdrawal starts its hold again', () => {
    vi.useFakeTimers();
    const applied: string[] = [];
    const hold = new WithdrawHold(1000, (t, p) => applied.push(`${t}:${p.key}`));
    hold.withdraw(1000, A);
    hold.supersede(1000, A);
    vi.advanceTimersByTime(2000);
    expect(applied).toEqual([]);
    hold.withdraw(1000, B);
    vi.advanceTimersByTime(900);
    hold.withdraw(1000, B);
    vi.advanceTimersByTime(900);
    expect(applied).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(applied).toEqual(['1000:10.0.2.0/24']);
  });

  it('dropAll: nothing held is ever applied', () => {
    vi.useFakeTimers();
    const applied: string[] = [];
    const hold = new WithdrawHold(1000, (t, p) => applied.push(`${t}:${p.key}`));
    hold.withdraw(1000, A);
    hold.withdraw(1000, B);
    expect(hold.dropAll()).toBe(2);
    vi.advanceTimersByTime(5000);
    expect(applied).toEqual([]);
  });

  it('a hold of 0 applies at once', () => {
    const applied: string[] = [];
    new WithdrawHold(0, (t, p) => applied.push(`${t}:${p.key}`)).withdraw(254, A);
    expect(applied).toEqual(['254:10.0.1.0/24']);
  });
});

describe('FPM source with a withdraw hold (over loopback TCP)', () => {
  const HOLD = 300;
  const STALE = 1500;
  let source: FpmSource;
  let rib: Rib;
  const zebras: Socket[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const announce = (dst: number) => fpmFrame((w) => writeNewRoute(w, 0, fpmRoute([{ ifindex: 2, via6: PEER_VIA, flags: 0 }], { dst }), 'replace', false));
  const withdraw = (dst: number) => fpmFrame((w) => writeDelRoute(w, 0, { table: 254, dst, dstLen: 24, protocol: 186, metric: 20 }, false));

  async function start(): Promise<number> {
    rib = new Rib();
    source = new FpmSource({
      host: '127.0.0.1', port: 0, protocols: new Set([186]), mainTable: 1000, settleTimeMs: 50, staleTimeMs: STALE, allowReplace: false, withdrawHoldMs: HOLD,
      ifname: (i) => (i === 2 ? 'h0' : undefined),
    }, rib, pino({ level: 'silent' }));
    await source.start();
    return source.port!;
  }
  async function zebra(port: number, ...frames: Buffer[]): Promise<Socket> {
    const sock = connect(port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    for (const f of frames) sock.write(f);
    zebras.push(sock);
    return sock;
  }
  async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
    const t0 = Date.now();
    while (!cond()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
      await sleep(5);
    }
  }
  const keys = () => [...rib.keys()].sort();

  afterEach(() => {
    for (const z of zebras) z.destroy();
    zebras.length = 0;
    source?.stop();
  });

  it('a withdrawal while zebra stays connected takes effect after the hold', async () => {
    const port = await start();
    const z = await zebra(port, announce(0x0a000100), announce(0x0a000200));
    await until('replay', () => rib.size === 2 && !source.stats().replaying);
    const t0 = Date.now();
    z.write(withdraw(0x0a000100));
    await until('held', () => source.stats().heldWithdrawals === 1);
    expect(rib.size).toBe(2);
    await until('withdrawn', () => rib.size === 1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(HOLD - 20);
    expect(keys()).toEqual(['1000:10.0.2.0/24']);
  });

  it('FRR stopping (every route withdrawn, then zebra disconnects within the hold): routes held, refreshed by the next generation, the rest swept after stale-time', async () => {
    const port = await start();
    const z1 = await zebra(port, announce(0x0a000100), announce(0x0a000200));
    await until('replay', () => rib.size === 2 && !source.stats().replaying);
    z1.write(Buffer.concat([withdraw(0x0a000100), withdraw(0x0a000200)]));
    await until('held', () => source.stats().heldWithdrawals === 2);
    z1.destroy();
    await until('disconnected', () => !source.stats().connected);
    expect(source.stats().heldWithdrawals).toBe(0);
    await sleep(HOLD * 2);
    expect(keys()).toEqual(['1000:10.0.1.0/24', '1000:10.0.2.0/24']);
    await zebra(port, announce(0x0a000100)); // the new generation has only A
    await until('swept after stale-time', () => rib.size === 1, STALE * 3);
    expect(keys()).toEqual(['1000:10.0.1.0/24']);
  });

  it('a withdrawal followed by an add for the same route (zebra replacing it) never withdraws it', async () => {
    const port = await start();
    const z = await zebra(port, announce(0x0a000100));
    await until('replay', () => rib.size === 1 && !source.stats().replaying);
    let removed = 0;
    const orig = rib.withdraw.bind(rib);
    rib.withdraw = (t, p) => {
      removed++;
      return orig(t, p);
    };
    z.write(Buffer.concat([withdraw(0x0a000100), announce(0x0a000100)]));
    await sleep(HOLD * 2);
    expect(removed).toBe(0);
    expect(keys()).toEqual(['1000:10.0.1.0/24']);
  });

  it('an add that can no longer be installed (no IPv6 next hop left) is withdrawn at once, not held', async () => {
    const port = await start();
    const z = await zebra(port, announce(0x0a000100));
    await until('replay', () => rib.size === 1 && !source.stats().replaying);
    // zebra re-points the route at an IPv4 gateway: nothing we install, so the old legs must go now
    z.write(fpmFrame((w) => writeNewRoute(w, 0, fpmRoute([{ ifindex: 2, gateway: 0x0a000001, flags: 0 }], { dst: 0x0a000100 }), 'replace', false)));
    await until('withdrawn', () => rib.size === 0, HOLD - 100);
    expect(source.stats().heldWithdrawals).toBe(0);
  });
});
