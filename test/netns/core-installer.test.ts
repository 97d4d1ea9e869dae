// Issue "core installer": the daemon from the built CLI in a host namespace, a peer
// namespace across a veth pair, checked with ip -j and ping.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DaemonProcess } from '../helpers/daemon.js';
import { kernelSuiteEnabled, monitorKernel, OUR_PROTOCOL, OUR_TABLE, PEER_ADDR, PEER_LL, PEER_MAC, sh, sleep, Topology, waitFor } from '../helpers/netns.js';

interface RouteJson { dst: string; gateway?: string; via?: { family: string; host: string }; dev?: string; protocol?: string; metric?: number; flags?: string[]; table?: string }
interface NeighJson { dst: string; dev?: string; lladdr?: string; state?: string[]; protocol?: string }

const enabled = kernelSuiteEnabled('core installer (netns)');
const add = (prefix: string, via = PEER_LL, dev = 'h0') => ({ op: 'add', prefix, nexthops: [{ via, dev }] });

describe.runIf(enabled)('core installer in network namespaces', () => {
  let topo: Topology;
  let daemon: DaemonProcess;

  beforeEach(() => {
    topo = Topology.create();
  });
  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon?.cleanup();
    topo.destroy();
  });

  const ownRoutes = () => topo.host.json<RouteJson>('route', 'show', 'table', 'all', 'proto', OUR_PROTOCOL);
  const placeholder = () => topo.host.json<NeighJson>('neigh', 'show', '169.254.0.1', 'dev', 'h0')[0];

  it('an add line installs the PERMANENT neighbour and the onlink route, and a ping crosses', async () => {
    daemon = new DaemonProcess(topo.host);
    await daemon.start();
    expect(topo.host.ping(PEER_ADDR, 1)).toBe(false); // nothing forwards yet

    const feed = await daemon.connect();
    feed.send(add(`${PEER_ADDR}/32`));
    const route = await waitFor('route installed', () => ownRoutes().find((r) => r.dst === PEER_ADDR));
    expect(route).toMatchObject({ gateway: '169.254.0.1', dev: 'h0', metric: 20 });
    expect(route.flags).toContain('onlink');
    expect(topo.host.ip('route', 'show', 'table', OUR_TABLE, `${PEER_ADDR}/32`)).toContain(`proto ${OUR_PROTOCOL}`);
    const n = placeholder();
    expect(n).toMatchObject({ lladdr: PEER_MAC });
    expect(n?.state).toContain('PERMANENT');
    expect(topo.host.ping(PEER_ADDR)).toBe(true);
    expect(feed.replies).toEqual([]);
    feed.close();
  });

  it('kernel.mode via: "via inet6 <peer link-local>", no neighbour entry, a ping crosses; withdraw removes it', async () => {
    daemon = new DaemonProcess(topo.host, { kernel: { mode: 'via' } });
    await daemon.start();
    const feed = await daemon.connect();
    feed.send(add(`${PEER_ADDR}/32`));
    const route = await waitFor('route installed', () => ownRoutes().find((r) => r.dst === PEER_ADDR));
    expect(route).toMatchObject({ via: { family: 'inet6', host: PEER_LL }, dev: 'h0', metric: 20 });
    expect(route.gateway).toBeUndefined();
    expect(placeholder()).toBeUndefined();
    expect(topo.host.ping(PEER_ADDR)).toBe(true);
    // a converged resync writes nothing (the dump's RTA_VIA legs match what we want)
    expect(JSON.parse(daemon.cli('resync', '--json'))).toMatchObject({ writes: 0 });

    feed.send({ op: 'withdraw', prefix: `${PEER_ADDR}/32` });
    await waitFor('route withdrawn', () => ownRoutes().length === 0);
    expect(topo.host.ping(PEER_ADDR, 1)).toBe(false);
    expect(feed.replies).toEqual([]);
    feed.close();
  });

  it('withdraw removes the route, and the neighbour once no route needs it', async () => {
    daemon = new DaemonProcess(topo.host);
    await daemon.start();
    const feed = await daemon.connect();
    feed.send(add(`${PEER_ADDR}/32`), add('10.99.2.0/24'));
    await waitFor('two routes', () => ownRoutes().length === 2);

    feed.send({ op: 'withdraw', prefix: '10.99.2.0/24' });
    await waitFor('one route left', () => ownRoutes().length === 1);
    expect(placeholder()).toBeDefined(); // still needed by 10.99.1.1/32

    feed.send({ op: 'withdraw', prefix: `${PEER_ADDR}/32`, table: Number(OUR_TABLE) });
    await waitFor('no route left', () => ownRoutes().length === 0);
    await waitFor('neighbour removed', () => placeholder() === undefined);
    expect(topo.host.ping(PEER_ADDR, 1)).toBe(false);
  });

  it('routes of other protocols, same prefix or not, are never touched; an exact clash is reported', async () => {
    topo.host.ip('route', 'add', '10.99.1.1/32', 'dev', 'h0', 'proto', 'static', 'metric', '100', 'table', OUR_TABLE);
    topo.host.ip('route', 'add', '10.200.0.0/24', 'dev', 'h0', 'proto', 'static');
    topo.host.ip('route', 'add', '10.99.3.0/24', 'dev', 'h0', 'proto', 'static', 'metric', '20', 'table', OUR_TABLE);
    const foreign = () => topo.host.json<RouteJson>('route', 'show', 'table', 'all', 'proto', 'static');
    const before = JSON.stringify(foreign());

    daemon = new DaemonProcess(topo.host);
    await daemon.start();
    const feed = await daemon.connect();
    feed.send(add(`${PEER_ADDR}/32`), add('10.99.3.0/24'));
    await waitFor('our route next to the foreign one', () => ownRoutes().some((r) => r.dst === PEER_ADDR));
    await waitFor('conflict reported', () => daemon.logs().some((l) => l.event === 'routeConflict' && l.key === `${OUR_TABLE}:10.99.3.0/24`));
    expect(ownRoutes().map((r) => r.dst)).toEqual([PEER_ADDR]);
    expect(JSON.stringify(foreign())).toBe(before);

    feed.send({ op: 'withdraw', prefix: `${PEER_ADDR}/32` }, { op: 'withdraw', prefix: '10.99.3.0/24' });
    await waitFor('ours gone', () => ownRoutes().length === 0);
    await sleep(200);
    expect(JSON.stringify(foreign())).toBe(before);
  });

  it('our protocol in a table no source names (zebra\'s bgp routes in main) is left alone; leftovers in our tables are swept or adopted', async () => {
    // a route of our protocol in main, metric 20, like ours would be there (zebra's, were we 186)
    topo.host.ip('route', 'add', '10.50.0.0/24', 'via', '169.254.0.1', 'dev', 'h0', 'onlink', 'proto', OUR_PROTOCOL, 'metric', '20');
    // leftovers of an earlier run of ours in table 1000 (swept) and 1001 (named again: adopted)
    topo.host.ip('route', 'add', '10.51.0.0/24', 'via', '169.254.0.1', 'dev', 'h0', 'onlink', 'proto', OUR_PROTOCOL, 'metric', '20', 'table', '1000');
    topo.host.ip('route', 'add', '10.52.0.0/24', 'via', '169.254.0.1', 'dev', 'h0', 'onlink', 'proto', OUR_PROTOCOL, 'metric', '20', 'table', '1001');
    const mainBefore = JSON.stringify(topo.host.json<RouteJson>('route', 'show', 'table', 'main', 'proto', OUR_PROTOCOL));

    daemon = new DaemonProcess(topo.host, { kernel: { table: 1000 } });
    await daemon.start();
    const feed = await daemon.connect();
    feed.send({ op: 'sync-begin' }, add(`${PEER_ADDR}/32`), { ...add('10.52.0.0/24'), table: 1001 }, { op: 'sync-end' });
    await waitFor('leftover in table 1000 swept', () => !ownRoutes().some((r) => r.dst === '10.51.0.0/24'));
    await waitFor('ours in 1000', () => topo.host.json<RouteJson>('route', 'show', 'table', '1000', 'proto', OUR_PROTOCOL).some((r) => r.dst === PEER_ADDR));
    const status = JSON.parse(daemon.cli('status', '--json')) as { routes: { otherTablesSameProtocol: number; pending: number } };
    expect(status.routes).toMatchObject({ otherTablesSameProtocol: 1, pending: 0 });
    expect(daemon.logs().some((l) => l.event === 'routeConflict')).toBe(false); // 1001 leftover adopted, not a clash
    expect(topo.host.json<RouteJson>('route', 'show', 'table', '1001', 'proto', OUR_PROTOCOL).map((r) => r.dst)).toEqual(['10.52.0.0/24']);
    daemon.cli('status'); // a full pass has run since the sweep
    expect(JSON.stringify(topo.host.json<RouteJson>('route', 'show', 'table', 'main', 'proto', OUR_PROTOCOL))).toBe(mainBefore);
    feed.close();
  });

  it('a restart with the same feed adopts the routes: no delete, no re-add', async () => {
    daemon = new DaemonProcess(topo.host);
    await daemon.start();
    let feed = await daemon.connect();
    feed.send({ op: 'sync-begin' }, add(`${PEER_ADDR}/32`), add('10.99.2.0/24'), { op: 'sync-end' });
    await waitFor('routes installed', () => ownRoutes().length === 2);
    feed.close();

    const monitor = monitorKernel(topo.host);
    await sleep(300);
    try {
      expect(await daemon.stop('SIGTERM')).toBe(0);
      expect(ownRoutes()).toHaveLength(2); // left in place on exit
      await daemon.start();
      feed = await daemon.connect();
      feed.send({ op: 'sync-begin' }, add(`${PEER_ADDR}/32`), add('10.99.2.0/24'), { op: 'sync-end' });
      await waitFor('replay done', () => daemon.logs().some((l) => l.event === 'replayEnd' && l.session === 'jsonl#1' && (l.time as number) > 0) && daemon.logs().filter((l) => l.event === 'sweepAllowed').length === 2);
      await sleep(500);
    } finally {
      monitor.stop();
    }
    expect(monitor.text().split('\n').filter((l) => l.includes('10.99.') || l.includes('169.254.0.1'))).toEqual([]);
    expect(ownRoutes()).toHaveLength(2);
    expect(topo.host.ping(PEER_ADDR)).toBe(true);
    feed.close();
  });

  it('a malformed line gets an error reply naming field and value, and nothing installed changes', async () => {
    daemon = new DaemonProcess(topo.host);
    await daemon.start();
    const feed = await daemon.connect();
    feed.send(add(`${PEER_ADDR}/32`));
    await waitFor('route installed', () => ownRoutes().length === 1);
    const before = JSON.stringify(ownRoutes());
    feed.send(
      '{"op":"add", nope',
      { op: 'frobnicate' },
      { op: 'add', prefix: '10.99.5.0/33', nexthops: [{ via: PEER_LL, dev: 'h0' }] },
      { op: 'add', prefix: '10.99.5.0/24', nexthops: [{ via: '2001:db8::1', dev: 'h0' }] },
      { op: 'add', prefix: '10.99.5.0/24', nexthops: [{ via: PEER_LL, dev: 'h0' }], colour: 'blue' },
      { op: 'withdraw', prefix: `${PEER_ADDR}/32`, table: 'no-such-table' },
      { op: 'add', prefix: '10.99.6.0/24', nexthops: [{ via: PEER_LL, dev: 'h0' }], table: 'no-such-table' },
      { op: 'add', prefix: '10.99.6.0/24', nexthops: [{ via: PEER_LL, dev: 'h0' }], vrf: 'blue' },
      { op: 'withdraw', prefix: `${PEER_ADDR}/32`, vrf: 'h0' }, // a device, but not a VRF
    );
    await waitFor('nine replies', () => feed.replies.length === 9);
    expect(feed.replies.map((r) => r.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const errors = feed.replies.map((r) => String(r.error));
    expect(errors[0]).toMatch(/invalid JSON/);
    expect(errors[1]).toMatch(/op: unknown op "frobnicate"/);
    expect(errors[2]).toMatch(/prefix: "10\.99\.5\.0\/33"/);
    expect(errors[3]).toMatch(/nexthops\[0\]\.via: "2001:db8::1" is not an IPv6 link-local/);
    expect(errors[4]).toMatch(/colour: unknown field .*"blue"/);
    expect(errors[5]).toMatch(/table: "no-such-table" is not a table known to rt_tables/);
    expect(errors[6]).toMatch(/table: "no-such-table" is not a table known to rt_tables/);
    expect(errors[7]).toBe('vrf: no VRF device named "blue" (ip -d link show type vrf)');
    expect(errors[8]).toBe('vrf: no VRF device named "h0" (ip -d link show type vrf)');
    await sleep(300);
    expect(JSON.stringify(ownRoutes())).toBe(before);
    expect(topo.host.ping(PEER_ADDR)).toBe(true);
    // the connection stays usable
    feed.send(add('10.99.2.0/24'));
    await waitFor('route after the bad lines', () => ownRoutes().length === 2);
  });

  it('survives an event-socket overrun (ENOBUFS) and converges by resync', async () => {
    daemon = new DaemonProcess(topo.host, { kernel: { 'event-buffer-bytes': 262_144 } });
    await daemon.start();
    const feed = await daemon.connect();
    feed.send(add(`${PEER_ADDR}/32`));
    await waitFor('route installed', () => ownRoutes().length === 1);

    // Freeze the daemon, delete our route and flood its event socket, then let it run.
    process.kill(daemon.pid!, 'SIGSTOP');
    try {
      topo.host.ip('route', 'del', `${PEER_ADDR}/32`, 'proto', OUR_PROTOCOL, 'table', OUR_TABLE);
      const batch = Array.from({ length: 20_000 }, (_, i) => `route add 10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32 dev h0 table 77 proto static`).join('\n');
      sh('ip', ['-n', topo.host.name, '-batch', '-'], { input: batch });
    } finally {
      process.kill(daemon.pid!, 'SIGCONT');
    }
    await waitFor('overrun noticed', () => daemon.logs().some((l) => l.event === 'netlinkOverrun'));
    await waitFor('route repaired', () => ownRoutes().length === 1);
    expect(topo.host.ping(PEER_ADDR)).toBe(true);
    expect(topo.host.ip('route', 'show', 'table', '77').trim().split('\n')).toHaveLength(20_000); // foreign, untouched
  });

  it('a peer whose link-local is not EUI-64 is never installed with a guessed MAC', async () => {
    topo.destroy();
    topo = Topology.create({ randomLinkLocal: true });
    const ll = topo.peerLinkLocal();
    expect(ll).not.toMatch(/ff:fe/);
    daemon = new DaemonProcess(topo.host);
    await daemon.start();
    // Our neighbour probe may get the answer within a millisecond, so watch every write.
    const monitor = monitorKernel(topo.host);
    await sleep(200);
    try {
      const feed = await daemon.connect();
      feed.send(add(`${PEER_ADDR}/32`, ll));
      await waitFor('route installed once the wire told the MAC', () => ownRoutes().length === 1);
      expect(placeholder()).toMatchObject({ lladdr: PEER_MAC });
      expect(topo.host.ping(PEER_ADDR)).toBe(true);
      await sleep(200);
    } finally {
      monitor.stop();
    }
    const logs = daemon.logs();
    const pendingAt = logs.findIndex((l) => l.event === 'routePending' && String(l.reason).includes('not EUI-64'));
    const writtenAt = logs.findIndex((l) => l.event === 'neighbourWritten' && l.op === 'neigh.replace');
    expect(pendingAt).toBeGreaterThanOrEqual(0);
    expect(writtenAt).toBeGreaterThan(pendingAt); // pending first, then the MAC the wire gave
    const placeholderWrites = monitor.text().split('\n').filter((l) => l.startsWith('169.254.0.1 '));
    expect(placeholderWrites.length).toBeGreaterThan(0);
    for (const w of placeholderWrites) expect(w).toContain(`lladdr ${PEER_MAC}`);
  });
});
