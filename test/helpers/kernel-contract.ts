// The kernel contract: what the daemon relies on the kernel to do, as cases that run against
// any KernelPort in a "world" the case can act on (admin down, carrier loss, MAC change,
// another speaker's route). test/unit/kernel-contract.test.ts runs it on the FakeKernel,
// test/netns/kernel-contract.test.ts on the real kernel in a throwaway namespace (through
// kernel-contract-child.ts). Where they disagree, the real kernel wins and the fake is fixed.
// Framework-free (node:assert) so the same code runs inside the namespace.
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import type { Change, KernelPort, OpFailure } from '../../src/kernel/kernel.js';
import {
  AF_INET, IFF_LOWER_UP, NUD_PERMANENT, RTN_BLACKHOLE, RTN_UNICAST, RTNH_F_LINKDOWN, RTNH_F_ONLINK,
  type KernelLink, type KernelNeighbour, type KernelRoute, type RouteWriteMode,
} from '../../src/kernel/rtnetlink-codec.js';
import { Forwardings } from '../../src/kernel/forwardings.js';
import { ROUTE_CREATE, ROUTE_DELETE, ROUTE_REPLACE } from '../../src/kernel/kernel-ops.js';
import { macFromBytes, type Mac } from '../../src/model/mac.js';

const PROTOCOL = 200;
const FOREIGN_PROTOCOL = 99;
const TABLE = 5549;
const OTHER_TABLE = 5550;
const GATEWAY = 0xa9fe0001; // 169.254.0.1
const GATEWAY_2 = 0xa9fe0002;
const PEER_MAC = '02:00:00:00:01:01' as Mac;
const OTHER_MAC = '02:00:00:00:01:99' as Mac;
/** what the world sets h0's own MAC to in the MAC-change case */
const NEW_LINK_MAC = '02:00:00:00:02:99';

export interface RecordedEvent {
  readonly kind: 'link' | 'neighbour' | 'route';
  readonly change: Change;
  readonly link?: KernelLink;
  readonly neighbour?: KernelNeighbour;
  readonly route?: KernelRoute;
}

export interface ContractWorld {
  readonly port: KernelPort;
  /** h0: up, carrier on, no neighbours or routes of ours yet */
  readonly ifindex: number;
  /** every event since subscribe(), in order */
  readonly events: RecordedEvent[];
  adminUp(up: boolean): Promise<void>;
  carrier(on: boolean): Promise<void>;
  setLinkMac(mac: string): Promise<void>;
  /** another speaker's `ip route replace|del` */
  foreignRoute(change: 'replace' | 'delete', r: KernelRoute): Promise<void>;
}

export interface ContractCase {
  readonly name: string;
  run(w: ContractWorld): Promise<void>;
}

const { EEXIST, ESRCH, ENOENT } = constants.errno;

function onlinkRoute(w: ContractWorld, dst: number, over: Partial<KernelRoute> = {}): KernelRoute {
  return { table: TABLE, dst, dstLen: 24, protocol: PROTOCOL, metric: 20, type: RTN_UNICAST, legs: [{ ifindex: w.ifindex, gateway: GATEWAY, flags: RTNH_F_ONLINK }], ...over };
}

/**
 * Writes routes through the port's route write (applyRoutes): one call for all of them when
 * they share protocol and metric, as the reconciler's are, else one call each, in order.
 */
async function writeRoutes(port: KernelPort, routes: readonly KernelRoute[], mode: RouteWriteMode | 'delete'): Promise<(OpFailure | undefined)[]> {
  const forwardings = new Forwardings();
  const kind = mode === 'delete' ? ROUTE_DELETE : mode === 'create' ? ROUTE_CREATE : ROUTE_REPLACE;
  const keys = { table: Uint32Array.from(routes, (r) => r.table), addr: Uint32Array.from(routes, (r) => r.dst), len: Uint8Array.from(routes, (r) => r.dstLen) };
  const arg = (r: KernelRoute) => (mode === 'delete' ? r.metric : forwardings.intern(r.legs, r.nhId));
  const write = (from: number, to: number) => port.applyRoutes(
    { length: to - from, kind: new Uint8Array(to - from).fill(kind), slot: Int32Array.from({ length: to - from }, (_, i) => from + i), arg: Uint32Array.from(routes.slice(from, to), arg) },
    keys, forwardings, routes[from]!.protocol, routes[from]!.metric,
  );
  const shared = routes.every((r) => r.protocol === routes[0]!.protocol && r.metric === routes[0]!.metric);
  const out: (OpFailure | undefined)[] = [];
  for (let from = 0; from < routes.length; from = shared ? routes.length : from + 1) {
    const to = shared ? routes.length : from + 1;
    const failures = await write(from, to);
    for (let i = from; i < to; i++) out.push(failures.get(i - from));
  }
  return out;
}

async function routesOf(port: KernelPort, how: { protocol: number } | { table: number }): Promise<KernelRoute[]> {
  const out: KernelRoute[] = [];
  const sink = { begin: () => (out.length = 0), route: (_r: unknown, decode: () => KernelRoute) => out.push(decode()) };
  if ('protocol' in how) await port.dumpRoutes(how.protocol, sink);
  else await port.dumpTable(how.table, sink);
  return out;
}

const keyOf = (r: KernelRoute): string => `${r.table} ${r.dst.toString(16)}/${r.dstLen} proto ${r.protocol} metric ${r.metric}`;

async function ourNeighbours(w: ContractWorld): Promise<KernelNeighbour[]> {
  return (await w.port.dumpNeighbours()).filter((n) => n.family === AF_INET && n.ifindex === w.ifindex && n.dst.length === 4 && n.dst.readUInt32BE(0) >>> 8 === 0xa9fe00);
}

async function replaceNeighbour(w: ContractWorld, gateway: number, mac: Mac): Promise<void> {
  const [res] = await w.port.apply([{ kind: 'neigh.replace', ifindex: w.ifindex, ifname: 'h0', gateway, mac, protocol: PROTOCOL }]);
  assert.deepEqual(res, { ok: true });
}

/** bounded wait for something the kernel does asynchronously (events) */
export async function until(what: string, ok: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never happened: ${what}`);
}

const NH_ID = 5549001;

/** a nexthop object (onlink via the placeholder out of h0) and a route of ours using it */
async function nexthopAndRoute(w: ContractWorld): Promise<void> {
  const [res] = await w.port.apply([{ kind: 'nh.replace', nexthop: { id: NH_ID, protocol: PROTOCOL, leg: { ifindex: w.ifindex, gateway: GATEWAY, flags: RTNH_F_ONLINK } } }]);
  assert.deepEqual(res, { ok: true });
  assert.equal((await w.port.dumpNexthops()).filter((n) => n.id === NH_ID).length, 1);
  assert.deepEqual(await writeRoutes(w.port, [onlinkRoute(w, 0x0a4d0100, { legs: [], nhId: NH_ID })], 'create'), [undefined]);
  const [r] = await routesOf(w.port, { protocol: PROTOCOL });
  assert.equal(r?.nhId, NH_ID);
}

/** a link going down (admin or carrier) flushes the nexthop objects out of it and the routes that use them */
function nexthopFlushCase(what: string, down: (w: ContractWorld) => Promise<void>): ContractCase {
  return {
    name: `${what} flushes nexthop objects out of the link and the routes that use them`,
    async run(w) {
      await nexthopAndRoute(w);
      await down(w);
      await until('the nexthop object flushed', async () => !(await w.port.dumpNexthops()).some((n) => n.id === NH_ID));
      assert.deepEqual(await routesOf(w.port, { protocol: PROTOCOL }), []);
    },
  };
}

const isGatewayDel = (e: RecordedEvent): boolean => e.kind === 'neighbour' && e.change === 'del' && e.neighbour?.dst.length === 4 && e.neighbour.dst.readUInt32BE(0) === GATEWAY;

export const KERNEL_CONTRACT: readonly ContractCase[] = [
  {
    name: 'a route is created, replaced and deleted; a second delete is ESRCH',
    async run(w) {
      const r = onlinkRoute(w, 0x0a4d0100);
      assert.deepEqual(await writeRoutes(w.port, [r], 'create'), [undefined]);
      let seen = await routesOf(w.port, { protocol: PROTOCOL });
      assert.deepEqual(seen.map(keyOf), [keyOf(r)]);
      assert.equal(seen[0]!.legs[0]!.gateway, GATEWAY);
      assert.equal(seen[0]!.legs[0]!.ifindex, w.ifindex);
      assert.equal(seen[0]!.legs[0]!.flags & RTNH_F_ONLINK, RTNH_F_ONLINK);
      assert.deepEqual(await writeRoutes(w.port, [{ ...r, legs: [{ ifindex: w.ifindex, gateway: GATEWAY_2, flags: RTNH_F_ONLINK }] }], 'replace'), [undefined]);
      seen = await routesOf(w.port, { protocol: PROTOCOL });
      assert.deepEqual(seen.map((x) => x.legs[0]!.gateway), [GATEWAY_2]);
      assert.deepEqual(await writeRoutes(w.port, [r], 'delete'), [undefined]);
      assert.deepEqual(await routesOf(w.port, { protocol: PROTOCOL }), []);
      assert.equal((await writeRoutes(w.port, [r], 'delete'))[0]?.errno, ESRCH);
    },
  },
  {
    name: 'an exclusive create over any route at the key is EEXIST and changes nothing',
    async run(w) {
      const ours = onlinkRoute(w, 0x0a4d0100);
      const foreign = onlinkRoute(w, 0x0a4d0200, { protocol: FOREIGN_PROTOCOL });
      await w.foreignRoute('replace', foreign);
      assert.deepEqual(await writeRoutes(w.port, [ours], 'create'), [undefined]);
      const [again, overForeign] = await writeRoutes(w.port, [{ ...ours, legs: [{ ifindex: w.ifindex, gateway: GATEWAY_2, flags: RTNH_F_ONLINK }] }, { ...foreign, protocol: PROTOCOL }], 'create');
      assert.equal(again?.errno, EEXIST);
      assert.match(again.error, /^EEXIST/);
      assert.equal(overForeign?.errno, EEXIST);
      const table = await routesOf(w.port, { table: TABLE });
      assert.deepEqual(table.map((r) => [keyOf(r), r.legs[0]!.gateway]).sort(), [[keyOf(ours), GATEWAY], [keyOf(foreign), GATEWAY]].sort());
    },
  },
  {
    name: 'a delete naming our protocol and metric never removes another route at the prefix',
    async run(w) {
      const foreign = onlinkRoute(w, 0x0a4d0100, { protocol: FOREIGN_PROTOCOL });
      const ours = onlinkRoute(w, 0x0a4d0100, { metric: 30 });
      await w.foreignRoute('replace', foreign);
      assert.deepEqual(await writeRoutes(w.port, [ours], 'create'), [undefined]);
      const [wrongMetric, wrongProtocol] = await writeRoutes(w.port, [{ ...ours, metric: 40 }, { ...ours, metric: 20 }], 'delete');
      assert.equal(wrongMetric?.errno, ESRCH);
      assert.equal(wrongProtocol?.errno, ESRCH); // metric 20 holds only the foreign route
      assert.deepEqual((await routesOf(w.port, { table: TABLE })).map(keyOf).sort(), [keyOf(foreign), keyOf(ours)].sort());
      assert.deepEqual(await writeRoutes(w.port, [ours], 'delete'), [undefined]);
      assert.deepEqual((await routesOf(w.port, { table: TABLE })).map(keyOf), [keyOf(foreign)]);
    },
  },
  {
    name: 'a PERMANENT neighbour is replaced (new MAC) and deleted; a second delete is ENOENT',
    async run(w) {
      await replaceNeighbour(w, GATEWAY, PEER_MAC);
      let seen = await ourNeighbours(w);
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.state, NUD_PERMANENT);
      assert.equal(macFromBytes(seen[0]!.lladdr!), PEER_MAC);
      assert.equal(seen[0]!.protocol, PROTOCOL);
      await replaceNeighbour(w, GATEWAY, OTHER_MAC);
      seen = await ourNeighbours(w);
      assert.deepEqual(seen.map((n) => macFromBytes(n.lladdr!)), [OTHER_MAC]);
      const del = { kind: 'neigh.delete', ifindex: w.ifindex, ifname: 'h0', gateway: GATEWAY } as const;
      assert.deepEqual(await w.port.apply([del]), [{ ok: true }]);
      assert.deepEqual(await ourNeighbours(w), []);
      const [again] = await w.port.apply([del]);
      assert.equal(again?.ok === false && again.errno, ENOENT);
    },
  },
  {
    name: 'admin down flushes onlink routes and PERMANENT neighbours: RTM_DELNEIGH sent, no RTM_DELROUTE; admin up brings neither back',
    async run(w) {
      await replaceNeighbour(w, GATEWAY, PEER_MAC);
      const r = onlinkRoute(w, 0x0a4d0100);
      assert.deepEqual(await writeRoutes(w.port, [r], 'create'), [undefined]);
      await w.adminUp(false);
      await until('the neighbour delete event', () => w.events.some(isGatewayDel));
      // a sentinel after the flush: its event comes after any RTM_DELROUTE the flush sent
      const sentinel: KernelRoute = { table: TABLE, dst: 0x0a4d6300, dstLen: 24, protocol: FOREIGN_PROTOCOL, metric: 0, type: RTN_BLACKHOLE, legs: [] };
      await w.foreignRoute('replace', sentinel);
      await until('the sentinel route event', () => w.events.some((e) => e.kind === 'route' && e.change === 'new' && e.route?.dst === sentinel.dst));
      assert.deepEqual(w.events.filter((e) => e.kind === 'route' && e.change === 'del').map((e) => keyOf(e.route!)), []);
      assert.deepEqual(await routesOf(w.port, { protocol: PROTOCOL }), []);
      assert.deepEqual(await ourNeighbours(w), []);
      await w.adminUp(true);
      assert.deepEqual(await routesOf(w.port, { protocol: PROTOCOL }), []);
      assert.deepEqual(await ourNeighbours(w), []);
    },
  },
  {
    name: 'carrier loss keeps the route (flagged linkdown) and the PERMANENT neighbour; carrier back clears the flag',
    async run(w) {
      await replaceNeighbour(w, GATEWAY, PEER_MAC);
      const r = onlinkRoute(w, 0x0a4d0100);
      assert.deepEqual(await writeRoutes(w.port, [r], 'create'), [undefined]);
      await w.carrier(false);
      await until('h0 without carrier', async () => ((await w.port.dumpLinks()).find((l) => l.ifindex === w.ifindex)!.flags & IFF_LOWER_UP) === 0);
      // the kernel flags routes from linkwatch, a little after the carrier flag changes
      await until('the route flagged linkdown', async () => (((await routesOf(w.port, { protocol: PROTOCOL }))[0]?.legs[0]!.flags ?? 0) & RTNH_F_LINKDOWN) !== 0);
      assert.deepEqual((await routesOf(w.port, { protocol: PROTOCOL })).map(keyOf), [keyOf(r)]);
      assert.equal((await ourNeighbours(w)).length, 1);
      await w.carrier(true);
      await until('the linkdown flag cleared', async () => ((await routesOf(w.port, { protocol: PROTOCOL }))[0]!.legs[0]!.flags & RTNH_F_LINKDOWN) === 0);
      assert.equal((await ourNeighbours(w)).length, 1);
    },
  },
  {
    name: "a MAC change of the link flushes its neighbours, PERMANENT too, and keeps its routes",
    async run(w) {
      await replaceNeighbour(w, GATEWAY, PEER_MAC);
      const r = onlinkRoute(w, 0x0a4d0100);
      assert.deepEqual(await writeRoutes(w.port, [r], 'create'), [undefined]);
      await w.setLinkMac(NEW_LINK_MAC);
      await until('the neighbour delete event', () => w.events.some(isGatewayDel));
      assert.deepEqual(await ourNeighbours(w), []);
      assert.deepEqual((await routesOf(w.port, { protocol: PROTOCOL })).map(keyOf), [keyOf(r)]);
    },
  },
  nexthopFlushCase('admin down', (w) => w.adminUp(false)),
  nexthopFlushCase('carrier loss', (w) => w.carrier(false)),
  {
    name: 'a policy rule is created once (EEXIST after), deleted once (ENOENT after)',
    async run(w) {
      const rule = { priority: TABLE, table: TABLE, protocol: PROTOCOL };
      const ours = async () => (await w.port.dumpRules()).filter((r) => r.priority === TABLE && r.table === TABLE && r.protocol === PROTOCOL && !r.selective);
      assert.deepEqual(await w.port.apply([{ kind: 'rule.create', rule }]), [{ ok: true }]);
      assert.equal((await ours()).length, 1);
      const [again] = await w.port.apply([{ kind: 'rule.create', rule }]);
      assert.equal(again?.ok === false && again.errno, EEXIST);
      assert.equal((await ours()).length, 1);
      assert.deepEqual(await w.port.apply([{ kind: 'rule.delete', rule }]), [{ ok: true }]);
      assert.deepEqual(await ours(), []);
      const [gone] = await w.port.apply([{ kind: 'rule.delete', rule }]);
      assert.equal(gone?.ok === false && gone.errno, ENOENT);
    },
  },
  {
    name: 'dumps filter: by protocol across tables, by table across protocols',
    async run(w) {
      const ours = onlinkRoute(w, 0x0a4d0100);
      const oursElsewhere = onlinkRoute(w, 0x0a4d0100, { table: OTHER_TABLE });
      const foreign = onlinkRoute(w, 0x0a4d0200, { protocol: FOREIGN_PROTOCOL });
      assert.deepEqual(await writeRoutes(w.port, [ours, oursElsewhere], 'create'), [undefined, undefined]);
      await w.foreignRoute('replace', foreign);
      assert.deepEqual((await routesOf(w.port, { protocol: PROTOCOL })).map(keyOf).sort(), [keyOf(ours), keyOf(oursElsewhere)].sort());
      assert.deepEqual((await routesOf(w.port, { table: TABLE })).map(keyOf).sort(), [keyOf(ours), keyOf(foreign)].sort());
      const prefixes: string[] = [];
      await w.port.dumpTablePrefixes(TABLE, { begin: () => (prefixes.length = 0), route: (p) => prefixes.push(`${p.table} ${p.dst.toString(16)}/${p.dstLen} proto ${p.protocol}`) });
      assert.deepEqual(prefixes.sort(), [`${TABLE} a4d0100/24 proto ${PROTOCOL}`, `${TABLE} a4d0200/24 proto ${FOREIGN_PROTOCOL}`]);
    },
  },
];

/** The recorder a world subscribes to its port. */
export function recordEvents(port: KernelPort): RecordedEvent[] {
  const events: RecordedEvent[] = [];
  port.subscribe({
    link: (change, link) => events.push({ kind: 'link', change, link }),
    neighbour: (change, neighbour) => events.push({ kind: 'neighbour', change, neighbour }),
    route: (change, route) => events.push({ kind: 'route', change, route }),
    nexthop: () => undefined,
    rule: () => undefined,
    overrun: () => events.push({ kind: 'link', change: 'del' }), // never expected: fails every event assertion loudly
    error: (err) => {
      throw err;
    },
  });
  return events;
}
