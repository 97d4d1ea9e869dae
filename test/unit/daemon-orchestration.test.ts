// Orchestration scenarios through the real Daemon, without root: the FakeKernel as the
// kernel, a ManualClock as time, real sockets on loopback and in a temp dir for the sources
// and the control socket. What is asserted is the fake kernel's dump, as `ip route` would
// show it. No timed assertion: time moves only when the test says so.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { configFromDocument } from '../../src/config/config.js';
import { Daemon } from '../../src/daemon.js';
import { FakeKernel } from '../../src/kernel/fake-kernel.js';
import { RTN_UNICAST, RTNH_F_ONLINK, writeNewRoute, type KernelRoute } from '../../src/kernel/rtnetlink-codec.js';
import { parseRtTables } from '../../src/model/route-table.js';
import { fpmFrame, fpmRoute } from '../helpers/fpm-frames.js';
import { ManualClock } from '../helpers/manual-clock.js';

const PROTOCOL = 200;
const TABLE = 5549;
const H0 = 2;
const STALE_S = 30;
const SETTLE_S = 1;
/** fe80::ff:fe00:101, the EUI-64 link-local of h0's peer 02:00:00:00:01:01 */
const PEER_EUI64 = Buffer.from('fe80000000000000000000fffe000101', 'hex');

/** an owned route a previous run left behind: 10.77.0.0/24 via 169.254.0.9 dev h0 onlink proto 200 table 5549 */
const LEFTOVER: KernelRoute = {
  table: TABLE, dst: 0x0a4d0000, dstLen: 24, protocol: PROTOCOL, metric: 20, type: RTN_UNICAST,
  legs: [{ ifindex: H0, gateway: 0xa9fe0009, flags: RTNH_F_ONLINK }],
};

const realTick = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

interface World {
  readonly dir: string;
  readonly kernel: FakeKernel;
  readonly clock: ManualClock;
  readonly daemon: Daemon;
  readonly jsonlSocket: string;
  readonly controlSocket: string;
  readonly fpmPort: number;
}

let world: World | undefined;
const clients: Socket[] = [];

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const a = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  if (!a || typeof a !== 'object') throw new Error('no port');
  return a.port;
}

/** Moves the manual clock in small steps, letting real I/O happen between them, until `p` settles. */
async function drive<T>(clock: ManualClock, p: Promise<T>): Promise<T> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  for (let i = 0; i < 1000 && !done; i++) {
    await clock.advance(5);
    await realTick();
  }
  if (!done) throw new Error('never settled');
  return p;
}

/** Polls `ok`, moving the clock `stepMs` at a time (0: timers due now only). */
async function until(what: string, ok: () => boolean | Promise<boolean>, stepMs = 5): Promise<void> {
  const w = world!;
  for (let i = 0; i < 1000; i++) {
    if (await ok()) return;
    await w.clock.advance(stepMs);
    await realTick();
  }
  throw new Error(`never happened: ${what}`);
}

async function start(sources: { jsonl?: boolean; fpm?: boolean }, leftovers: KernelRoute[] = []): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'rfc5549d-orch-'));
  const fpmPort = await freePort();
  const jsonlSocket = join(dir, 'routes.sock');
  const controlSocket = join(dir, 'control.sock');
  const config = configFromDocument({
    kernel: { protocol: PROTOCOL, table: TABLE, 'rule-priority': 5549 },
    interfaces: ['h0'],
    ra: { enabled: false },
    control: { socket: controlSocket },
    graceful: { 'stale-time': STALE_S },
    sources: {
      jsonl: { enabled: sources.jsonl === true, socket: jsonlSocket },
      fpm: { enabled: sources.fpm === true, listen: `127.0.0.1:${fpmPort}`, protocols: [186], 'settle-time': SETTLE_S, 'withdraw-hold': 0 },
    },
  }, parseRtTables(''));
  const kernel = new FakeKernel([{ ifindex: H0, name: 'h0', mac: Buffer.from('020000000201', 'hex') }]);
  for (const r of leftovers) expect(kernel.foreignRoute('replace', r)).toEqual({ ok: true });
  const clock = new ManualClock();
  const daemon = new Daemon({ config, log: pino({ level: 'silent' }), tables: parseRtTables(''), kernel, clock, version: 'test' });
  world = { dir, kernel, clock, daemon, jsonlSocket, controlSocket, fpmPort };
  await drive(clock, daemon.start());
  return world;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  const w = world;
  world = undefined;
  if (!w) return;
  await drive(w.clock, w.daemon.stop());
  rmSync(w.dir, { recursive: true, force: true });
});

/** our routes in the fake kernel, as `ip route show table 5549 proto 200` lists them */
async function ourRoutes(): Promise<string[]> {
  const out: string[] = [];
  await world!.kernel.dumpRoutes(PROTOCOL, {
    begin: () => (out.length = 0),
    route: (_r, decode) => {
      const r = decode();
      if (r.table === TABLE) out.push(`${r.dst >>> 24}.${(r.dst >>> 16) & 255}.${(r.dst >>> 8) & 255}.${r.dst & 255}/${r.dstLen}`);
    },
  });
  return out.sort();
}

async function client(path: string | number): Promise<Socket> {
  const sock = typeof path === 'number' ? connect(path, '127.0.0.1') : connect(path);
  await new Promise<void>((r, j) => sock.once('connect', () => r()).once('error', j));
  clients.push(sock);
  return sock;
}

async function control(command: string): Promise<unknown> {
  const sock = await client(world!.controlSocket);
  sock.write(`${JSON.stringify({ command })}\n`);
  let buf = '';
  sock.on('data', (d: Buffer) => (buf += d.toString()));
  await until(`an answer to ${command}`, () => buf.includes('\n'), 0);
  return JSON.parse(buf) as unknown;
}

const jsonAdd = (prefix: string): string => `${JSON.stringify({ op: 'add', prefix, nexthops: [{ via: 'fe80::ff:fe00:101', dev: 'h0' }] })}\n`;

const fpmAnnounce = (dst: number): Buffer =>
  fpmFrame((w) => writeNewRoute(w, 0, fpmRoute([{ ifindex: H0, via6: PEER_EUI64, flags: 0 }], { dst }), 'replace', false));
const NET_A = 0x0a000100; // 10.0.1.0/24
const NET_B = 0x0a000200; // 10.0.2.0/24

describe('sweep gating through the daemon', () => {
  it('an owned leftover survives until the last source has synced, then goes', async () => {
    await start({ jsonl: true }, [LEFTOVER]);
    const feed = await client(world!.jsonlSocket);
    feed.write(`{"op":"sync-begin"}\n${jsonAdd('10.99.2.0/24')}`);
    await until('the new route installed', async () => (await ourRoutes()).includes('10.99.2.0/24'));
    await world!.clock.advance(5_000);
    expect(await ourRoutes()).toEqual(['10.77.0.0/24', '10.99.2.0/24']); // not swept: jsonl has not synced
    expect(await control('status')).toMatchObject({ reconciler: { sweeping: false }, sources: { jsonl: { synced: false, lines: 2 } } });
    feed.write('{"op":"sync-end"}\n');
    await until('the leftover swept', async () => !(await ourRoutes()).includes('10.77.0.0/24'));
    expect(await ourRoutes()).toEqual(['10.99.2.0/24']);
    expect(await control('status')).toMatchObject({ reconciler: { sweeping: true }, sources: { jsonl: { synced: true } }, routes: { desired: 1, installed: 1 } });
  });

  it('without a sync from every source, the leftover goes once graceful.stale-time has passed on the clock', async () => {
    await start({ jsonl: true }, [LEFTOVER]);
    await world!.clock.advance(STALE_S * 1000 - 100);
    expect(await ourRoutes()).toEqual(['10.77.0.0/24']);
    expect(world!.daemon.status().sources.ready).toBe(false);
    await world!.clock.advance(100);
    await until('the leftover swept', async () => (await ourRoutes()).length === 0);
    expect(world!.daemon.status()).toMatchObject({ sources: { ready: true, jsonl: { synced: false } }, reconciler: { sweeping: true } });
  });
});

describe('FPM generations through the daemon (zebra restarts)', () => {
  async function firstGeneration(): Promise<Socket> {
    const z1 = await client(world!.fpmPort);
    z1.write(Buffer.concat([fpmAnnounce(NET_A), fpmAnnounce(NET_B)]));
    await until('both routes taken', () => world!.daemon.status().sources.fpm?.totals.messages === 2, 0);
    expect(await ourRoutes()).toContain('10.77.0.0/24'); // the replay has not settled: no sweep yet
    await world!.clock.advance(SETTLE_S * 1000);
    await until('installed, leftover swept', async () => (await ourRoutes()).join() === '10.0.1.0/24,10.0.2.0/24');
    return z1;
  }

  it('a reconnect is a new generation: the old one\'s routes are held past the new replay, then swept at stale-time', async () => {
    await start({ fpm: true }, [LEFTOVER]);
    const z1 = await firstGeneration();
    z1.destroy();
    await until('zebra gone', () => world!.daemon.status().sources.fpm?.stats.connected === false, 0);
    const lostAt = world!.clock.now();
    const z2 = await client(world!.fpmPort);
    z2.write(fpmAnnounce(NET_A)); // bgpd has re-sent only A so far
    await until('the second generation heard', () => world!.daemon.status().sources.fpm?.totals.messages === 3, 0);
    expect(world!.daemon.status().sources.fpm?.stats).toMatchObject({ generation: 2, connected: true, replaying: true });
    await world!.clock.advance(SETTLE_S * 1000);
    await until('the new replay settled', () => world!.daemon.status().sources.fpm?.stats.replaying === false);
    expect(await ourRoutes()).toEqual(['10.0.1.0/24', '10.0.2.0/24']); // B held: stale-time is not over
    const sources = Object.fromEntries((await control('routes') as Array<{ prefix: string; source: string }>).map((r) => [r.prefix, r.source]));
    expect(sources).toEqual({ '10.0.1.0/24': 'fpm#2', '10.0.2.0/24': 'fpm#1' });
    await world!.clock.advance(lostAt + STALE_S * 1000 - world!.clock.now());
    await until('B swept', async () => (await ourRoutes()).join() === '10.0.1.0/24');
  });

  it('zebra never comes back: its routes go when graceful.stale-time is over', async () => {
    await start({ fpm: true }, [LEFTOVER]);
    const z1 = await firstGeneration();
    z1.destroy();
    await until('zebra gone', () => world!.daemon.status().sources.fpm?.stats.connected === false, 0);
    await world!.clock.advance(STALE_S * 1000 - 100);
    expect(await ourRoutes()).toEqual(['10.0.1.0/24', '10.0.2.0/24']);
    await world!.clock.advance(100);
    await until('everything withdrawn', async () => (await ourRoutes()).length === 0);
    expect(world!.daemon.status().rib.desired).toBe(0);
  });
});
