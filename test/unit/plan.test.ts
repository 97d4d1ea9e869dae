// The reconcile plan as scenario tables: desired, peers, links and kernel in; writes and verdicts out.
import { describe, expect, it } from 'vitest';
import { Forwardings } from '../../src/kernel/forwardings.js';
import { KernelState } from '../../src/kernel/kernel-state.js';
import { RTNH_F_ONLINK, RTN_UNICAST, type KernelRoute } from '../../src/kernel/rtnetlink-codec.js';
import { parseIpv4Prefix } from '../../src/model/ipv4-prefix.js';
import type { LinkLocal } from '../../src/model/link-local.js';
import type { Mac } from '../../src/model/mac.js';
import { PeerTable } from '../../src/peers/peer-table.js';
import { GatewayPool } from '../../src/reconcile/gateway-pool.js';
import { PLACEHOLDER_GATEWAY, placeholderKey } from '../../src/model/placeholder.js';
import { OP_CREATE, OP_DELETE, OP_REPLACE, planNeighbours, planRoutes } from '../../src/reconcile/plan.js';
import type { ObservedNeighbour } from '../../src/kernel/kernel-state.js';
import { Resolver, type LinkView } from '../../src/reconcile/resolver.js';
import { Rib } from '../../src/rib/rib.js';
import type { DesiredRoute } from '../../src/rib/route.js';

const EUI_PEER = 'fe80::ff:fe00:101' as LinkLocal; // MAC 02:00:00:00:01:01
const RANDOM_PEER = 'fe80::5c3a:91d2:1e2b:7d01' as LinkLocal;
const PEER_MAC = '02:00:00:00:01:01' as Mac;
const G1 = PLACEHOLDER_GATEWAY; // 169.254.0.1
const G2 = PLACEHOLDER_GATEWAY + 1;

function desired(prefix: string, nexthops: [string, LinkLocal | undefined][], table = 254): DesiredRoute {
  const p = parseIpv4Prefix(prefix);
  if (!p.ok) throw new Error(p.error);
  return { table, prefix: p.value, nexthops: nexthops.map(([i, l]) => ({ interface: i, linkLocal: l })) };
}

function kernelRoute(prefix: string, legs: [number, number?][], metric = 20, table = 254): KernelRoute {
  const p = parseIpv4Prefix(prefix);
  if (!p.ok) throw new Error(p.error);
  return {
    table, dst: p.value.addr, dstLen: p.value.len, protocol: 186, metric, type: RTN_UNICAST,
    legs: legs.map(([ifindex, gateway = PLACEHOLDER_GATEWAY]) => ({ ifindex, gateway, flags: RTNH_F_ONLINK })),
  };
}

interface Scenario {
  name: string;
  desired: DesiredRoute[];
  kernel: KernelRoute[];
  links?: LinkView[];
  peers?: PeerTable;
  mayDelete?: boolean;
  placeholders?: ObservedNeighbour[];
  mode?: 'neighbor' | 'via';
  /** carries numbering from an earlier pass */
  pool?: GatewayPool;
  expectOps: string[];
  expectVerdicts?: Record<string, string>;
}

const LINKS: LinkView[] = [
  { ifindex: 2, name: 'h0', up: true, managed: true },
  { ifindex: 3, name: 'h1', up: true, managed: true },
  { ifindex: 4, name: 'h2', up: false, managed: true },
  { ifindex: 5, name: 'mgmt', up: true, managed: false },
];

function run(s: Scenario) {
  const peers = s.peers ?? new PeerTable();
  const links = s.links ?? LINKS;
  const rib = new Rib();
  const forwardings = new Forwardings();
  const state = new KernelState(rib.store, forwardings, 20);
  for (const d of s.desired) rib.add('test#1', d);
  for (const r of s.kernel) state.putKernelRoute(r);
  const placeholders = new Map((s.placeholders ?? []).map((p) => [placeholderKey(p.ifindex, p.gateway), p]));
  const resolver = new Resolver({
    link: (name) => links.find((l) => l.name === name),
    peersOn: (ifname) => rib.peersOn(ifname).keys(),
    learntPeersOn: (ifname) => peers.learntOn(ifname),
    resolvePeer: (ifname, ll) => peers.resolve(ifname, ll),
    placeholdersOn: (ifindex) => [...placeholders.values()].filter((p) => p.ifindex === ifindex)
      .map((p) => ({ gateway: p.gateway, mac: p.mac, permanent: (p.state & 0x80) !== 0, ours: p.protocol === 186, protocol: p.protocol })),
  }, s.mode ?? 'neighbor', s.pool ?? new GatewayPool(G1, 254, '169.254.0.0/24'));
  const neigh = planNeighbours({
    interfaces: s.mode === 'via' ? [] : rib.interfaces(), resolver, observed: placeholders, protocol: 186,
    ifname: (i) => links.find((l) => l.ifindex === i)?.name, mayDelete: () => true,
  }, (st) => (st & 0x80) !== 0);
  const verdicts: Record<string, string> = {};
  const plan = planRoutes({
    slots: 'every', store: rib.store, nexthopSets: rib.nexthopSets, forwardings, resolver, metric: 20,
    mayDelete: () => s.mayDelete ?? true,
    verdict: (slot, v) => {
      verdicts[rib.keyOf(slot)] = v.state === 'pending' ? `pending:${v.code}` : `${v.state}:${v.op}`;
    },
  });
  const kinds = { [OP_CREATE]: 'route.create', [OP_REPLACE]: 'route.replace', [OP_DELETE]: 'route.delete' } as Record<number, string>;
  const routeOps: string[] = [];
  for (let i = 0; i < plan.length; i++) {
    const slot = plan.slot[i]!;
    const what = plan.kind[i] === OP_DELETE
      ? `metric ${plan.arg[i]}`
      : forwardings.get(plan.arg[i]!).legs.map(legText).join(',');
    routeOps.push(`${kinds[plan.kind[i]!]} ${rib.keyOf(slot)} ${what}`);
  }
  const ops = [
    ...neigh.adds.map((o) => `${o.kind} ${o.ifname}${gatewayText(o)}${'mac' in o ? ` ${o.mac}` : ''}`),
    ...routeOps,
    ...neigh.deletes.map((o) => `${o.kind} ${o.ifname}${gatewayText(o)}`),
  ];
  return { ops, verdicts, resolver };
}

/** "2" for a leg via 169.254.0.1 on ifindex 2, "2@.2" via 169.254.0.2, "2 via <hex>" for RTA_VIA */
function legText(l: { ifindex: number; gateway?: number; via6?: Buffer }): string {
  if (l.via6) return `${l.ifindex} via ${l.via6.toString('hex')}`;
  return l.gateway === undefined || l.gateway === G1 ? `${l.ifindex}` : `${l.ifindex}@.${l.gateway & 0xff}`;
}

/** neighbour ops at 169.254.0.1 print as before; other pool addresses name their last octet */
function gatewayText(o: { gateway?: number }): string {
  return o.gateway === undefined || o.gateway === G1 ? '' : ` .${o.gateway & 0xff}`;
}

/** two routers heard by RA on h0 */
function twoRouters(): PeerTable {
  const p = new PeerTable();
  p.observe('h0', EUI_PEER, { mac: PEER_MAC, evidence: 'ra', atMs: 1 });
  p.observe('h0', RANDOM_PEER, { mac: '52:54:00:12:34:56' as Mac, evidence: 'ra', atMs: 1 });
  return p;
}

const withEvidence = (ifname: string, ll: LinkLocal, mac: string) => {
  const p = new PeerTable();
  p.observe(ifname, ll, { mac: mac as Mac, evidence: 'ndp', atMs: 1 });
  return p;
};

const scenarios: Scenario[] = [
  {
    name: 'new route: neighbour first, then an exclusive create',
    desired: [desired('10.1.0.0/24', [['h0', EUI_PEER]])],
    kernel: [],
    expectOps: ['neigh.replace h0 02:00:00:00:01:01', 'route.create 254:10.1.0.0/24 2'],
    expectVerdicts: { '254:10.1.0.0/24': 'installed:create' },
  },
  {
    name: 'converged: nothing to write',
    desired: [desired('10.1.0.0/24', [['h0', EUI_PEER]])],
    kernel: [kernelRoute('10.1.0.0/24', [[2]])],
    placeholders: [{ ifindex: 2, mac: PEER_MAC, gateway: G1, state: 0x80, protocol: 186 }],
    expectOps: [],
    expectVerdicts: { '254:10.1.0.0/24': 'installed:none' },
  },
  {
    name: 'owned route with the wrong leg is replaced, not re-created',
    desired: [desired('10.1.0.0/24', [['h1', EUI_PEER]])],
    kernel: [kernelRoute('10.1.0.0/24', [[2]])],
    placeholders: [{ ifindex: 3, mac: PEER_MAC, gateway: G1, state: 0x80, protocol: 186 }],
    expectOps: ['route.replace 254:10.1.0.0/24 3'],
  },
  {
    name: 'ECMP over two links, legs sorted',
    desired: [desired('10.1.0.0/24', [['h1', EUI_PEER], ['h0', EUI_PEER]])],
    kernel: [],
    expectOps: ['neigh.replace h1 02:00:00:00:01:01', 'neigh.replace h0 02:00:00:00:01:01', 'route.create 254:10.1.0.0/24 2,3'],
  },
  {
    name: 'one ECMP leg down: installed on the other',
    desired: [desired('10.1.0.0/24', [['h0', EUI_PEER], ['h2', EUI_PEER]])],
    kernel: [],
    expectOps: ['neigh.replace h0 02:00:00:00:01:01', 'route.create 254:10.1.0.0/24 2'],
    expectVerdicts: { '254:10.1.0.0/24': 'installed:create' },
  },
  {
    name: 'non-EUI-64 peer without evidence: pending, nothing written',
    desired: [desired('10.1.0.0/24', [['h0', RANDOM_PEER]])],
    kernel: [],
    expectOps: [],
    expectVerdicts: { '254:10.1.0.0/24': 'pending:peer-unresolved' },
  },
  {
    name: 'non-EUI-64 peer with ndp evidence: installed with the observed MAC',
    desired: [desired('10.1.0.0/24', [['h0', RANDOM_PEER]])],
    kernel: [],
    peers: withEvidence('h0', RANDOM_PEER, '52:54:00:12:34:56'),
    expectOps: ['neigh.replace h0 52:54:00:12:34:56', 'route.create 254:10.1.0.0/24 2'],
  },
  {
    name: 'EUI-64 peer whose wire MAC differs: the wire wins',
    desired: [desired('10.1.0.0/24', [['h0', EUI_PEER]])],
    kernel: [],
    peers: withEvidence('h0', EUI_PEER, '52:54:00:aa:bb:cc'),
    expectOps: ['neigh.replace h0 52:54:00:aa:bb:cc', 'route.create 254:10.1.0.0/24 2'],
  },
  {
    name: 'link down: pending, and a route the kernel keeps (carrier loss) is not deleted',
    desired: [desired('10.1.0.0/24', [['h2', EUI_PEER]])],
    kernel: [kernelRoute('10.1.0.0/24', [[4]])],
    expectOps: [],
    expectVerdicts: { '254:10.1.0.0/24': 'pending:link-down' },
  },
  {
    name: 'unmanaged or missing interface: pending',
    desired: [desired('10.1.0.0/24', [['mgmt', EUI_PEER]]), desired('10.2.0.0/24', [['nosuch', EUI_PEER]])],
    kernel: [],
    expectOps: [],
    expectVerdicts: { '254:10.1.0.0/24': 'pending:unmanaged', '254:10.2.0.0/24': 'pending:no-interface' },
  },
  {
    name: 'withdrawn: route deleted, then its neighbour',
    desired: [],
    kernel: [kernelRoute('10.1.0.0/24', [[2]])],
    placeholders: [{ ifindex: 2, mac: PEER_MAC, gateway: G1, state: 0x80, protocol: 186 }],
    expectOps: ['route.delete 254:10.1.0.0/24 metric 20', 'neigh.delete h0'],
  },
  {
    name: 'leftover before the sources synced: kept',
    desired: [],
    kernel: [kernelRoute('10.1.0.0/24', [[2]])],
    mayDelete: false,
    expectOps: [],
    expectVerdicts: { '254:10.1.0.0/24': 'kept-stale:none' },
  },
  {
    name: 'old-metric copy of our route goes once the new one is made',
    desired: [desired('10.1.0.0/24', [['h0', EUI_PEER]])],
    kernel: [kernelRoute('10.1.0.0/24', [[2]], 50)],
    placeholders: [{ ifindex: 2, mac: PEER_MAC, gateway: G1, state: 0x80, protocol: 186 }],
    expectOps: ['route.create 254:10.1.0.0/24 2', 'route.delete 254:10.1.0.0/24 metric 50'],
  },
  {
    name: 'foreign placeholder with the same MAC (zebra agreeing) is used, not rewritten',
    desired: [desired('10.1.0.0/24', [['h0', EUI_PEER]])],
    kernel: [],
    placeholders: [{ ifindex: 2, mac: PEER_MAC, gateway: G1, state: 0x80, protocol: 11 }],
    expectOps: ['route.create 254:10.1.0.0/24 2'],
  },
  {
    name: 'foreign placeholder with another MAC: left alone, the peer takes the next address',
    desired: [desired('10.1.0.0/24', [['h0', EUI_PEER]])],
    kernel: [],
    placeholders: [{ ifindex: 2, mac: '0a:0b:0c:0d:0e:0f' as Mac, gateway: G1, state: 0x80, protocol: 11 }],
    expectOps: ['neigh.replace h0 .2 02:00:00:00:01:01', 'route.create 254:10.1.0.0/24 2@.2'],
    expectVerdicts: { '254:10.1.0.0/24': 'installed:create' },
  },
  {
    name: 'our placeholder rewritten by someone: repaired',
    desired: [desired('10.1.0.0/24', [['h0', EUI_PEER]])],
    kernel: [kernelRoute('10.1.0.0/24', [[2]])],
    placeholders: [{ ifindex: 2, mac: '0a:0b:0c:0d:0e:0f' as Mac, gateway: G1, state: 0x80, protocol: 186 }],
    expectOps: ['neigh.replace h0 02:00:00:00:01:01'],
  },
  {
    name: 'a dynamic (ARP-learnt, failed) 169.254.0.1 entry is overwritten',
    desired: [desired('10.1.0.0/24', [['h0', EUI_PEER]])],
    kernel: [],
    placeholders: [{ ifindex: 2, mac: undefined, gateway: G1, state: 0x20, protocol: 0 }],
    expectOps: ['neigh.replace h0 02:00:00:00:01:01', 'route.create 254:10.1.0.0/24 2'],
  },
  {
    name: 'two peers on one interface: each its own placeholder, each prefix via its own peer',
    desired: [desired('10.1.0.0/24', [['h0', EUI_PEER]]), desired('10.2.0.0/24', [['h0', 'fe80::ff:fe00:102' as LinkLocal]])],
    kernel: [],
    expectOps: ['neigh.replace h0 02:00:00:00:01:01', 'neigh.replace h0 .2 02:00:00:00:01:02', 'route.create 254:10.1.0.0/24 2', 'route.create 254:10.2.0.0/24 2@.2'],
    expectVerdicts: { '254:10.1.0.0/24': 'installed:create', '254:10.2.0.0/24': 'installed:create' },
  },
  {
    name: 'restart: each peer takes back the placeholder holding its MAC, whatever the link-local order',
    desired: [desired('10.1.0.0/24', [['h0', EUI_PEER]]), desired('10.2.0.0/24', [['h0', 'fe80::ff:fe00:102' as LinkLocal]])],
    kernel: [kernelRoute('10.1.0.0/24', [[2, G2]]), kernelRoute('10.2.0.0/24', [[2]])],
    placeholders: [
      { ifindex: 2, mac: PEER_MAC, gateway: G2, state: 0x80, protocol: 186 },
      { ifindex: 2, mac: '02:00:00:00:01:02' as Mac, gateway: G1, state: 0x80, protocol: 186 },
    ],
    expectOps: [],
    expectVerdicts: { '254:10.1.0.0/24': 'installed:none', '254:10.2.0.0/24': 'installed:none' },
  },
  {
    name: 'a peer gone from a shared segment: its routes are withdrawn, then its placeholder; the other keeps .1',
    desired: [desired('10.1.0.0/24', [['h0', EUI_PEER]])],
    kernel: [kernelRoute('10.1.0.0/24', [[2]]), kernelRoute('10.2.0.0/24', [[2, G2]])],
    placeholders: [
      { ifindex: 2, mac: PEER_MAC, gateway: G1, state: 0x80, protocol: 186 },
      { ifindex: 2, mac: '02:00:00:00:01:02' as Mac, gateway: G2, state: 0x80, protocol: 186 },
    ],
    expectOps: ['route.delete 254:10.2.0.0/24 metric 20', 'neigh.delete h0 .2'],
  },
  {
    name: 'a full pool: the peer that finds no address is pending with the reason',
    desired: [desired('10.1.0.0/24', [['h0', EUI_PEER]]), desired('10.2.0.0/24', [['h0', 'fe80::ff:fe00:102' as LinkLocal]])],
    kernel: [],
    pool: new GatewayPool(G1, 1, '169.254.0.0/31'),
    expectOps: ['neigh.replace h0 02:00:00:00:01:01', 'route.create 254:10.1.0.0/24 2'],
    expectVerdicts: { '254:10.1.0.0/24': 'installed:create', '254:10.2.0.0/24': 'pending:pool-exhausted' },
  },
  {
    name: 'FPM "169.254.0.1 onlink" next hop: the peer learnt by RA on that interface',
    desired: [desired('10.1.0.0/24', [['h0', undefined]])],
    kernel: [],
    peers: (() => {
      const p = new PeerTable();
      p.observe('h0', RANDOM_PEER, { mac: '52:54:00:12:34:56' as Mac, evidence: 'ra', atMs: 1 });
      return p;
    })(),
    expectOps: ['neigh.replace h0 52:54:00:12:34:56', 'route.create 254:10.1.0.0/24 2'],
  },
  {
    name: 'FPM "169.254.0.1 onlink" next hop with nothing learnt yet: pending',
    desired: [desired('10.1.0.0/24', [['h0', undefined]])],
    kernel: [],
    expectOps: [],
    expectVerdicts: { '254:10.1.0.0/24': 'pending:peer-unresolved' },
  },
  {
    name: 'classic FPM next hop (interface only) with two peers learnt there: pending, not guessed (issue 11)',
    desired: [desired('10.1.0.0/24', [['h0', undefined]])],
    kernel: [],
    peers: twoRouters(),
    expectOps: [],
    expectVerdicts: { '254:10.1.0.0/24': 'pending:peer-ambiguous' },
  },
  {
    name: 'classic FPM next hop: a route installed via one of two learnt peers (an earlier guess) is withdrawn, then its placeholder',
    desired: [desired('10.1.0.0/24', [['h0', undefined]])],
    kernel: [kernelRoute('10.1.0.0/24', [[2]])],
    placeholders: [{ ifindex: 2, mac: PEER_MAC, gateway: G1, state: 0x80, protocol: 186 }],
    peers: twoRouters(),
    expectOps: ['route.delete 254:10.1.0.0/24 metric 20', 'neigh.delete h0'],
    expectVerdicts: { '254:10.1.0.0/24': 'pending:peer-ambiguous' },
  },
  {
    name: 'classic FPM next hop with two learnt peers beside a route naming one: the named one installs, the other is pending',
    desired: [desired('10.1.0.0/24', [['h0', undefined]]), desired('10.2.0.0/24', [['h0', EUI_PEER]])],
    kernel: [],
    peers: twoRouters(),
    expectOps: ['neigh.replace h0 02:00:00:00:01:01', 'route.create 254:10.2.0.0/24 2'],
    expectVerdicts: { '254:10.1.0.0/24': 'pending:peer-ambiguous', '254:10.2.0.0/24': 'installed:create' },
  },
  {
    name: 'via mode: classic FPM next hop with two learnt peers is pending too',
    mode: 'via',
    desired: [desired('10.1.0.0/24', [['h0', undefined]])],
    kernel: [],
    peers: twoRouters(),
    expectOps: [],
    expectVerdicts: { '254:10.1.0.0/24': 'pending:peer-ambiguous' },
  },
  {
    name: 'tables above 255 are kept apart',
    desired: [desired('10.1.0.0/24', [['h0', EUI_PEER]], 1000)],
    kernel: [kernelRoute('10.1.0.0/24', [[2]])],
    placeholders: [{ ifindex: 2, mac: PEER_MAC, gateway: G1, state: 0x80, protocol: 186 }],
    expectOps: ['route.create 1000:10.1.0.0/24 2', 'route.delete 254:10.1.0.0/24 metric 20'],
  },
  {
    name: 'via mode: a route straight to the peer\'s link-local, no neighbour, even without a MAC',
    mode: 'via',
    desired: [desired('10.1.0.0/24', [['h0', RANDOM_PEER], ['h1', EUI_PEER]])],
    kernel: [],
    expectOps: ['route.create 254:10.1.0.0/24 2 via fe800000000000005c3a91d21e2b7d01,3 via fe80000000000000000000fffe000101'],
    expectVerdicts: { '254:10.1.0.0/24': 'installed:create' },
  },
  {
    name: 'via mode: a converged route is left alone; our placeholder from neighbor mode goes',
    mode: 'via',
    desired: [desired('10.1.0.0/24', [['h0', EUI_PEER]])],
    kernel: [{ ...kernelRoute('10.1.0.0/24', []), legs: [{ ifindex: 2, via6: Buffer.from('fe80000000000000000000fffe000101', 'hex'), flags: 0 }] }],
    placeholders: [{ ifindex: 2, mac: PEER_MAC, gateway: G1, state: 0x80, protocol: 186 }],
    expectOps: ['neigh.delete h0'],
    expectVerdicts: { '254:10.1.0.0/24': 'installed:none' },
  },
  {
    name: 'via mode: link down is pending like in neighbor mode',
    mode: 'via',
    desired: [desired('10.1.0.0/24', [['h2', EUI_PEER]])],
    kernel: [],
    expectOps: [],
    expectVerdicts: { '254:10.1.0.0/24': 'pending:link-down' },
  },
];

describe('reconcile plan', () => {
  it.each(scenarios)('$name', (s) => {
    const { ops, verdicts } = run(s);
    expect(ops).toEqual(s.expectOps);
    if (s.expectVerdicts) expect(verdicts).toMatchObject(s.expectVerdicts);
  });
});

describe('what the resolver reports (issue 11)', () => {
  const ZEBRA_WRONG = '02:00:00:00:09:09' as Mac;
  const base = {
    desired: [desired('10.1.0.0/24', [['h0', RANDOM_PEER]])],
    kernel: [],
    expectOps: [],
  };
  it('zebra\'s placeholder with a MAC other than our peer\'s: named with interface, both MACs and our evidence', () => {
    const { ops, resolver } = run({
      ...base,
      name: 'zebra wrong',
      peers: withEvidence('h0', RANDOM_PEER, '52:54:00:12:34:56'),
      placeholders: [{ ifindex: 2, mac: ZEBRA_WRONG, gateway: G1, state: 0x80, protocol: 11 }],
    });
    expect(ops).toEqual(['neigh.replace h0 .2 52:54:00:12:34:56', 'route.create 254:10.1.0.0/24 2@.2']);
    expect(resolver.zebraWrong).toEqual([
      { ifname: 'h0', gateway: G1, zebraMac: ZEBRA_WRONG, peer: RANDOM_PEER, ourMac: '52:54:00:12:34:56', evidence: 'ndp', ourGateway: G2 },
    ]);
  });

  it.each([
    ['zebra agrees', PEER_MAC, 11],
    ['another writer (not zebra) with another MAC: moved away from, not reported as zebra\'s', ZEBRA_WRONG, 0],
  ])('%s: nothing reported', (_what, mac, protocol) => {
    const { resolver } = run({ ...base, name: 'x', desired: [desired('10.1.0.0/24', [['h0', EUI_PEER]])], placeholders: [{ ifindex: 2, mac, gateway: G1, state: 0x80, protocol }] });
    expect(resolver.zebraWrong).toEqual([]);
  });

  it('two peers: zebra\'s entry is attributed to the peer whose EUI-64 derivation gives its MAC', () => {
    const peers = new PeerTable();
    peers.observe('h0', EUI_PEER, { mac: '52:54:00:00:00:01' as Mac, evidence: 'ra', atMs: 1 }); // not the derived 02:00:00:00:01:01
    const { resolver } = run({
      name: 'x', kernel: [], expectOps: [], peers,
      desired: [desired('10.1.0.0/24', [['h0', EUI_PEER]]), desired('10.2.0.0/24', [['h0', 'fe80::ff:fe00:102' as LinkLocal]])],
      placeholders: [{ ifindex: 2, mac: PEER_MAC, gateway: G1, state: 0x80, protocol: 11 }],
    });
    expect(resolver.zebraWrong).toMatchObject([{ peer: EUI_PEER, zebraMac: PEER_MAC, ourMac: '52:54:00:00:00:01', evidence: 'ra' }]);
  });

  it('ambiguity names the interface and its learnt peers, and the reason says to use nexthop-group mode', () => {
    const { resolver } = run({ name: 'x', desired: [desired('10.1.0.0/24', [['h0', undefined]])], kernel: [], expectOps: [], peers: twoRouters() });
    expect([...resolver.ambiguous]).toEqual([['h0', [RANDOM_PEER, EUI_PEER].sort()]]);
    const r = resolver.legFor({ interface: 'h0', linkLocal: undefined });
    expect(r).toMatchObject({ ok: false, code: 'peer-ambiguous', reason: expect.stringContaining('fpm use-next-hop-groups') });
  });

  it('a segment with many learnt neighbours: the reason names a few, not all', () => {
    const peers = new PeerTable();
    for (let i = 1; i <= 40; i++) peers.observe('h0', `fe80::${i.toString(16)}` as LinkLocal, { mac: `52:54:00:00:00:${i.toString(16).padStart(2, '0')}` as Mac, evidence: 'ndp', atMs: 1 });
    const { resolver, verdicts } = run({ name: 'x', desired: [desired('10.1.0.0/24', [['h0', undefined]])], kernel: [], expectOps: [], peers });
    expect(verdicts['254:10.1.0.0/24']).toBe('pending:peer-ambiguous');
    const r = resolver.legFor({ interface: 'h0', linkLocal: undefined });
    expect(r.ok).toBe(false);
    const reason = (r as { reason: string }).reason;
    expect(reason).toMatch(/^40 peers learnt on h0 \(.*, …\)/);
    expect(reason.length).toBeLessThan(500);
  });
});
