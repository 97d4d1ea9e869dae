// One validation for every source, against the kernel (issue 12): the longest route
// limits.max-legs allows installs and dumps (a resync writes nothing); one leg more is
// refused and never reaches the kernel; FPM routes for reserved tables are refused too.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { writeNewRoute } from '../../src/kernel/rtnetlink-codec.js';
import { DEFAULT_MAX_LEGS } from '../../src/rib/route-validation.js';
import { daemonPerTest } from '../helpers/daemon-per-test.js';
import { fpmFrame, fpmRoute } from '../helpers/fpm-frames.js';
import { kernelSuiteEnabled, PEER_LL, waitFor } from '../helpers/netns.js';

const enabled = kernelSuiteEnabled('route validation and limits.max-legs (netns)');

interface RouteJson { dst: string; table?: string; nexthops?: { gateway?: string; via?: { host: string }; dev: string }[] }
interface RouteStatusJson { table: number; prefix: string; state: string; reason?: string }

const PROTOCOL = 200;
const TABLE = 1000;
/** EUI-64 link-locals of made-up peers on h0 (MACs 02:00:00:00:03:xx, clear of HOST_MAC and PEER_MAC): derived, no RA needed */
const peer = (i: number): string => `fe80::ff:fe00:${(0x300 + i).toString(16)}`;
const legs = (n: number) => Array.from({ length: n }, (_, i) => ({ via: peer(i), dev: 'h0' }));

describe.runIf(enabled)('route validation in the kernel', () => {
  const bed = daemonPerTest();
  const ownRoutes = () => bed.topo.host.json<RouteJson>('route', 'show', 'table', 'all', 'proto', String(PROTOCOL));
  const routeStatuses = () => JSON.parse(bed.daemon.cli('routes', '--json')) as RouteStatusJson[];

  it.each(['neighbor', 'via'] as const)(`kernel.mode %s: a route of limits.max-legs (default ${DEFAULT_MAX_LEGS}) legs installs and dumps; one more is refused`, async (mode) => {
    const daemon = await bed.start({ kernel: { mode, protocol: PROTOCOL, table: TABLE } });
    const feed = await bed.connect();
    feed.send({ op: 'add', prefix: '10.98.1.0/24', nexthops: legs(DEFAULT_MAX_LEGS) });
    feed.send({ op: 'add', prefix: '10.98.2.0/24', nexthops: legs(DEFAULT_MAX_LEGS + 1) });
    const route = await waitFor('the long route in ip -j route', () => ownRoutes().find((r) => r.dst === '10.98.1.0/24' && r.nexthops?.length === DEFAULT_MAX_LEGS));
    expect(route.table).toBe(String(TABLE));
    await waitFor('the reply to the over-long route', () => feed.replies.length === 1);
    expect(feed.replies[0]).toEqual({
      code: 'LIMIT_EXCEEDED', line: 2,
      error: `prefix "10.98.2.0/24": nexthops: ${DEFAULT_MAX_LEGS + 1} next hops, more than limits.max-legs (${DEFAULT_MAX_LEGS}): the kernel would hold a route it cannot dump`,
    });
    expect(ownRoutes().map((r) => r.dst)).toEqual(['10.98.1.0/24']);
    // the daemon's own dump sees the long route: a full resync finds nothing to write
    expect(JSON.parse(daemon.cli('resync', '--json'))).toMatchObject({ writes: 0, pending: 0 });
    expect(routeStatuses().find((r) => r.prefix === '10.98.2.0/24')).toMatchObject({ state: 'refused', reason: expect.stringContaining('limits.max-legs') });
  });

  it('FPM routes for the local table, table 0, table 253 and with host bits are refused; a good one in the same frame installs', async () => {
    const daemon = await bed.start({ kernel: { protocol: PROTOCOL, table: TABLE }, sources: { fpm: { enabled: true, listen: '127.0.0.1:2620' } } });
    const ifindex = bed.topo.host.json<{ ifindex: number }>('link', 'show', 'h0')[0]!.ifindex;
    const via6 = Buffer.alloc(16);
    via6.writeUInt16BE(0xfe80, 0);
    via6.writeUInt32BE(0x00fffe00, 10);
    via6.writeUInt16BE(0x0101, 14); // PEER_LL, fe80::ff:fe00:101
    expect(PEER_LL).toBe('fe80::ff:fe00:101');
    const leg = [{ ifindex, via6, flags: 0 }];
    const frame = fpmFrame((w) => {
      writeNewRoute(w, 0, fpmRoute(leg, { dst: 0x0a4d0100, table: 255 }), 'replace', false); // 10.77.1.0/24
      writeNewRoute(w, 0, fpmRoute(leg, { dst: 0x0a4d0200, table: 0 }), 'replace', false);
      writeNewRoute(w, 0, fpmRoute(leg, { dst: 0x0a4d0300, table: 253 }), 'replace', false);
      writeNewRoute(w, 0, fpmRoute(leg, { dst: 0x0a4d0401 }), 'replace', false); // host bits: 10.77.4.1/24
      writeNewRoute(w, 0, fpmRoute(leg, { dst: 0x0a4d0500 }), 'replace', false); // good, main -> kernel.table
    });
    // a zebra stand-in inside the namespace: sends the frame, holds the connection a while
    const zebra = spawnSync('ip', ['netns', 'exec', bed.topo.host.name, 'socat', '-u', '-t', '3', 'STDIN', 'TCP:127.0.0.1:2620'], { input: frame, timeout: 10_000 });
    expect(zebra.status, String(zebra.stderr)).toBe(0);
    await waitFor('the good FPM route', () => ownRoutes().some((r) => r.dst === '10.77.5.0/24'));
    expect(ownRoutes().map((r) => r.dst)).toEqual(['10.77.5.0/24']);
    expect(bed.topo.host.json<RouteJson>('route', 'show', 'table', 'local').filter((r) => r.dst.startsWith('10.77.'))).toEqual([]);
    const refused = routeStatuses().filter((r) => r.state === 'refused').map((r) => `${r.table}:${r.prefix} ${r.reason}`);
    expect(refused).toEqual([
      expect.stringMatching(/^0:10\.77\.2\.0\/24 table: 0 is RT_TABLE_UNSPEC/),
      expect.stringMatching(/^253:10\.77\.3\.0\/24 table: 253 is the kernel's "default" table/),
      expect.stringMatching(/^255:10\.77\.1\.0\/24 table: 255 is the kernel's local table/),
      expect.stringMatching(new RegExp(`^${TABLE}:10\\.77\\.4\\.1/24 prefix: "10\\.77\\.4\\.1/24" has host bits set \\(did you mean 10\\.77\\.4\\.0/24\\?\\)`)),
    ]);
    const logged = daemon.logs().filter((l) => l.event === 'fpmRouteRefused').map((l) => l.code);
    expect(logged[0]).toBe('INPUT_INVALID');
  });

  // issue 11 item 5: `no zebra nexthop kernel enable` with `fpm use-next-hop-groups`
  it('routes naming nexthop ids zebra never sends: routes --pending lists them with what to do, status agrees, one warning', async () => {
    const daemon = await bed.start({ kernel: { protocol: PROTOCOL, table: TABLE }, sources: { fpm: { enabled: true, listen: '127.0.0.1:2620' } } });
    const frame = fpmFrame((w) => {
      for (let i = 0; i < 3; i++) writeNewRoute(w, 0, fpmRoute([], { dst: 0x0a4e0000 + i * 256, nhId: 70 + i }), 'replace', false); // 10.78.i.0/24
    });
    const zebra: ChildProcess = spawn('ip', ['netns', 'exec', bed.topo.host.name, 'socat', '-u', '-t', '60', 'STDIN', 'TCP:127.0.0.1:2620'], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      zebra.stdin!.write(frame);
      await waitFor('three pending routes', () => routeStatuses().filter((r) => r.state === 'pending').length === 3);
      const pending = JSON.parse(daemon.cli('routes', '--pending', '--json')) as RouteStatusJson[];
      expect(pending.map((r) => `${r.table}:${r.prefix}`)).toEqual([`${TABLE}:10.78.0.0/24`, `${TABLE}:10.78.1.0/24`, `${TABLE}:10.78.2.0/24`]);
      expect(pending[0]!.reason).toBe('zebra sent no nexthop object 70: enable zebra\'s kernel nexthops ("zebra nexthop kernel enable") or use "no fpm use-next-hop-groups"');
      const status = JSON.parse(daemon.cli('status', '--json')) as { routes: { pending: number }; sources: { fpm: { pendingNexthopRoutes: number } } };
      expect(status.sources.fpm.pendingNexthopRoutes).toBe(pending.length);
      expect(status.routes.pending).toBe(pending.length);
      expect(daemon.cli('status')).toContain('routes: 0 desired, 0 installed, 3 pending (3 from zebra waiting for nexthop objects)');
      expect(daemon.logs().filter((l) => l.event === 'fpmNexthopMissing')).toHaveLength(1);
      expect(ownRoutes()).toEqual([]);
    } finally {
      zebra.kill();
    }
  });
});
