// Issue "ECMP, tables, shared segments, kernel modes": the same forwarding tests for every
// kernel mode, checked as an operator would (ip -j route / neigh / nexthop, ping).
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonProcess } from '../helpers/daemon.js';
import { isOurProtocol, kernelSuiteEnabled, monitorKernel, OUR_PROTOCOL, OUR_TABLE, PEER_ADDR, PEER_LL, SharedSegment, sleep, Topology, type Netns, waitFor } from '../helpers/netns.js';

interface LegJson { gateway?: string; via?: { family: string; host: string }; dev?: string; flags?: string[] }
interface RouteJson extends LegJson { dst: string; nhid?: number; nexthops?: LegJson[]; table?: string }
interface NeighJson { dst: string; dev?: string; lladdr?: string; state?: string[]; protocol?: string }
interface NexthopJson { id: number; dev?: string; gateway?: string; group?: { id: number }[]; flags?: string[]; protocol?: string }

const enabled = kernelSuiteEnabled('forwarding (netns)');

const MODES = [
  { name: 'neighbor mode', kernel: { mode: 'neighbor' } },
  { name: 'via mode', kernel: { mode: 'via' } },
  { name: 'nexthop-object mode', kernel: { mode: 'neighbor', 'nexthop-objects': true } },
  { name: 'via mode with nexthop objects', kernel: { mode: 'via', 'nexthop-objects': true } },
] as const;

/** A route's legs as "dev>gateway" (or "dev>link-local" for RTA_VIA), nexthop objects followed. */
function legsOf(ns: Netns, r: RouteJson): string[] {
  const text = (l: LegJson) => `${l.dev}>${l.gateway ?? l.via?.host ?? ''}`;
  if (r.nhid !== undefined) {
    const all = ns.json<NexthopJson>('nexthop', 'show');
    const top = all.find((n) => n.id === r.nhid);
    const members = top?.group ? top.group.map((g) => all.find((n) => n.id === g.id)) : [top];
    return members.map((n) => (n ? text(n) : '?')).sort();
  }
  return (r.nexthops ?? [r]).map(text).sort();
}

describe.runIf(enabled).each(MODES)('forwarding, $name', ({ kernel }) => {
  let daemon: DaemonProcess | undefined;
  let cleanup: (() => void) | undefined;
  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon?.cleanup();
    daemon = undefined;
    cleanup?.();
  });

  const gw = (placeholder: string, linkLocal: string) => (kernel.mode === 'via' ? linkLocal : placeholder);
  const objects = 'nexthop-objects' in kernel;
  /** routes carry a nexthop id exactly when the mode says so */
  const expectForm = (r: RouteJson | undefined) => expect(r?.nhid !== undefined).toBe(objects);
  const ownObjects = (ns: Netns) => ns.json<NexthopJson>('nexthop', 'show').filter((n) => isOurProtocol(n.protocol));

  it('ECMP over two links into table 1000 with a rule: a ping crosses each link alone, and a leg comes back with its link', async () => {
    const topo = Topology.create({ secondLink: true, noReturnPath: true });
    cleanup = () => topo.destroy();
    const LL1 = 'fe80::ff:fe00:102'; // the peer's p1
    // the peer's way back over both links, skipping one whose carrier is gone
    topo.peer.exec('sysctl', ['-qw', 'net.ipv4.conf.all.ignore_routes_with_linkdown=1']);
    const peerReturn = () => {
      for (const dev of ['p0', 'p1']) topo.peer.ip('neigh', 'replace', '169.254.0.1', 'lladdr', dev === 'p0' ? '02:00:00:00:02:01' : '02:00:00:00:02:02', 'dev', dev, 'nud', 'permanent');
      topo.peer.ip('route', 'replace', '10.99.0.2/32', 'nexthop', 'via', '169.254.0.1', 'dev', 'p0', 'onlink', 'nexthop', 'via', '169.254.0.1', 'dev', 'p1', 'onlink');
    };
    peerReturn();
    topo.host.ip('rule', 'add', 'pref', '100', 'lookup', '1000');
    daemon = new DaemonProcess(topo.host, { kernel });
    await daemon.start();
    const feed = await daemon.connect();
    feed.send({ op: 'add', prefix: `${PEER_ADDR}/32`, table: 1000, nexthops: [{ via: PEER_LL, dev: 'h0' }, { via: LL1, dev: 'h1' }] });
    const route = () => topo.host.json<RouteJson>('route', 'show', 'table', '1000', 'proto', OUR_PROTOCOL).find((r) => r.dst === PEER_ADDR);
    const both = [`h0>${gw('169.254.0.1', PEER_LL)}`, `h1>${gw('169.254.0.1', LL1)}`];
    await waitFor('multipath route in table 1000', () => JSON.stringify(route() && legsOf(topo.host, route()!)) === JSON.stringify(both));
    expect(topo.host.json<RouteJson>('route', 'show', 'table', 'main', 'proto', OUR_PROTOCOL)).toEqual([]);
    expectForm(route());
    if (objects) expect(ownObjects(topo.host)).toHaveLength(3); // two legs and their group
    expect(topo.host.ping(PEER_ADDR)).toBe(true);

    for (const [down, left] of [['h0', both[1]], ['h1', both[0]]] as const) {
      topo.host.ip('link', 'set', down, 'down');
      await waitFor(`only the leg left over ${down === 'h0' ? 'h1' : 'h0'}`, () => JSON.stringify(route() && legsOf(topo.host, route()!)) === JSON.stringify([left]));
      expect(topo.host.ping(PEER_ADDR)).toBe(true);
      topo.host.ip('link', 'set', down, 'up');
      peerReturn(); // the peer's carrier loss may have cost it the neighbour
      await waitFor(`${down}'s leg back`, () => JSON.stringify(route() && legsOf(topo.host, route()!)) === JSON.stringify(both));
    }
    // Carrier loss (the peer's end goes down): the kernel flushes nexthop objects on it, and
    // their routes, even so; the leg must come back with the carrier in every mode.
    topo.peer.ip('link', 'set', 'p1', 'down');
    await waitFor('only the leg over h0 while h1 has no carrier', () => JSON.stringify(route() && legsOf(topo.host, route()!)) === JSON.stringify([both[0]]));
    expect(topo.host.ping(PEER_ADDR)).toBe(true);
    topo.peer.ip('link', 'set', 'p1', 'up');
    peerReturn();
    await waitFor('h1\'s leg back with the carrier', () => JSON.stringify(route() && legsOf(topo.host, route()!)) === JSON.stringify(both));
    expectForm(route());
    expect(topo.host.ping(PEER_ADDR)).toBe(true);
    expect(feed.replies).toEqual([]);
    feed.close();
  });

  it('two peers on one bridge: each prefix via its own peer, and a ping reaches each', async () => {
    const seg = SharedSegment.create();
    cleanup = () => seg.destroy();
    const [a, b] = seg.peers as [SharedSegment['peers'][0], SharedSegment['peers'][0]];
    daemon = new DaemonProcess(seg.host, { kernel });
    await daemon.start();
    const feed = await daemon.connect();
    feed.send(
      { op: 'add', prefix: `${a.addr}/32`, nexthops: [{ via: a.linkLocal, dev: 'h0' }] },
      { op: 'add', prefix: `${b.addr}/32`, nexthops: [{ via: b.linkLocal, dev: 'h0' }] },
    );
    const routes = () => Object.fromEntries(seg.host.json<RouteJson>('route', 'show', 'table', OUR_TABLE, 'proto', OUR_PROTOCOL).map((r) => [r.dst, legsOf(seg.host, r)]));
    const want = { [a.addr]: [`h0>${gw('169.254.0.1', a.linkLocal)}`], [b.addr]: [`h0>${gw('169.254.0.2', b.linkLocal)}`] };
    await waitFor('both routes, each via its own peer', () => JSON.stringify(routes()) === JSON.stringify(want));
    if (kernel.mode === 'neighbor') {
      const neigh = seg.host.json<NeighJson>('neigh', 'show', 'dev', 'h0', 'proto', OUR_PROTOCOL).map((n) => `${n.dst} ${n.lladdr} ${n.state?.join(',')}`).sort();
      expect(neigh).toEqual([`169.254.0.1 ${a.mac} PERMANENT`, `169.254.0.2 ${b.mac} PERMANENT`]);
    }
    // `rfc5549d peers` says which placeholder stands for whom (none in via mode)
    const peers = JSON.parse(daemon.cli('peers', '--json')) as { linkLocal: string; placeholder: string | null }[];
    expect(Object.fromEntries(peers.map((p) => [p.linkLocal, p.placeholder]))).toEqual(
      kernel.mode === 'neighbor' ? { [a.linkLocal]: '169.254.0.1', [b.linkLocal]: '169.254.0.2' } : { [a.linkLocal]: null, [b.linkLocal]: null });
    expectForm(seg.host.json<RouteJson>('route', 'show', 'table', OUR_TABLE, 'proto', OUR_PROTOCOL)[0]);
    expect(seg.host.ping(a.addr)).toBe(true);
    expect(seg.host.ping(b.addr)).toBe(true);

    feed.send({ op: 'withdraw', prefix: `${a.addr}/32` }, { op: 'withdraw', prefix: `${b.addr}/32` });
    await waitFor('routes, objects and placeholders all gone', () => seg.host.json<RouteJson>('route', 'show', 'table', OUR_TABLE, 'proto', OUR_PROTOCOL).length === 0
      && ownObjects(seg.host).length === 0 && seg.host.json<NeighJson>('neigh', 'show', 'dev', 'h0', 'proto', OUR_PROTOCOL).length === 0);
    expect(seg.host.ping(a.addr, 1)).toBe(false);
    expect(feed.replies).toEqual([]);
    feed.close();
  });
});

describe.runIf(enabled)('gateway pool across a restart', () => {
  let seg: SharedSegment;
  let daemon: DaemonProcess | undefined;
  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon?.cleanup();
    seg.destroy();
  });

  it('a peer keeps its placeholder while a lower link-local joins, and after a restart: nothing rewritten', async () => {
    seg = SharedSegment.create();
    const [a, b] = seg.peers as [SharedSegment['peers'][0], SharedSegment['peers'][0]];
    const addA = { op: 'add', prefix: `${a.addr}/32`, nexthops: [{ via: a.linkLocal, dev: 'h0' }] };
    const addB = { op: 'add', prefix: `${b.addr}/32`, nexthops: [{ via: b.linkLocal, dev: 'h0' }] };
    const placeholders = () => seg.host.json<NeighJson>('neigh', 'show', 'dev', 'h0', 'proto', OUR_PROTOCOL).map((n) => `${n.dst} ${n.lladdr}`).sort();
    daemon = new DaemonProcess(seg.host);
    await daemon.start();
    let feed = await daemon.connect();
    feed.send({ op: 'sync-begin' }, addB);
    await waitFor('b behind .1', () => JSON.stringify(placeholders()) === JSON.stringify([`169.254.0.1 ${b.mac}`]));
    feed.send(addA, { op: 'sync-end' });
    const settled = [`169.254.0.1 ${b.mac}`, `169.254.0.2 ${a.mac}`];
    await waitFor('a (the lower link-local) behind .2; b kept .1', () => JSON.stringify(placeholders()) === JSON.stringify(settled));
    await waitFor('both routes', () => seg.host.json<RouteJson>('route', 'show', 'table', OUR_TABLE, 'proto', OUR_PROTOCOL).length === 2);
    feed.close();

    const monitor = monitorKernel(seg.host);
    await sleep(300);
    try {
      expect(await daemon.stop('SIGTERM')).toBe(0);
      await daemon.start();
      feed = await daemon.connect();
      // the same peers in one go: fresh numbering would put a (lower link-local) at .1
      feed.send({ op: 'sync-begin' }, addA, addB, { op: 'sync-end' });
      await waitFor('replay done', () => daemon!.logs().filter((l) => l.event === 'sweepAllowed').length === 2);
      await sleep(300);
      expect(placeholders()).toEqual(settled);
      expect(seg.host.ping(a.addr)).toBe(true);
      expect(seg.host.ping(b.addr)).toBe(true);
      expect(monitor.text().split('\n').filter((l) => l.includes('10.99.') || l.includes('169.254.'))).toEqual([]);
      feed.close();
    } finally {
      monitor.stop();
    }
  });
});
