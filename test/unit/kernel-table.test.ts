// The kernel-table source without root: the verdict on each kernel route (pure), and the
// replay over a fake table dumper (what vanished between dumps is withdrawn).
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { formatRoutes } from '../../src/cli/format.js';
import { ConfigError, configFromDocument } from '../../src/config/config.js';
import type { RouteDumpSink } from '../../src/kernel/kernel.js';
import { RTN_UNICAST, type KernelRoute, type RouteLeg, type ScannedRoute } from '../../src/kernel/rtnetlink-codec.js';
import { makePrefix } from '../../src/model/ipv4-prefix.js';
import { parseRtTables } from '../../src/model/route-table.js';
import { Rib } from '../../src/rib/rib.js';
import { kernelTableVerdict } from '../../src/sources/kernel-table/kernel-table-route.js';
import { KernelTableSource, type TableDumper } from '../../src/sources/kernel-table/kernel-table-source.js';

const PEER_A = Buffer.from('fe800000000000000000000000000001', 'hex'); // fe80::1
const PEER_B = Buffer.from('fe800000000000000000000000000002', 'hex'); // fe80::2
const GLOBAL = Buffer.from('20010db8000000000000000000000001', 'hex'); // 2001:db8::1
const BIRD = 12;
const RTN_BLACKHOLE = 6;
const OURS = 200;
const DEST = 1000;
const ifname = (i: number): string | undefined => ({ 2: 'h0', 3: 'h1' })[i];
const ctx = { ownProtocol: OURS, ifname };

const leg = (ifindex: number, via6?: Buffer, gateway?: number): RouteLeg => ({ ifindex, flags: 0, ...(via6 ? { via6 } : {}), ...(gateway !== undefined ? { gateway } : {}) });
function route(dst: number, legs: RouteLeg[], more: Partial<KernelRoute> = {}): KernelRoute {
  return { table: 100, dst, dstLen: 24, protocol: BIRD, metric: 32, type: RTN_UNICAST, legs, ...more };
}
const NET_A = 0x0a000100; // 10.0.1.0/24
const NET_B = 0x0a000200; // 10.0.2.0/24

describe('kernel-table verdict (pure)', () => {
  it('takes `via inet6 fe80::… dev IF`, single and multipath (sorted, duplicates merged)', () => {
    expect(kernelTableVerdict(route(NET_A, [leg(2, PEER_A)]), ctx)).toEqual({ ok: true, nexthops: [{ interface: 'h0', linkLocal: 'fe80::1' }] });
    expect(kernelTableVerdict(route(NET_A, [leg(3, PEER_B), leg(2, PEER_A), leg(2, PEER_A)]), ctx)).toEqual({
      ok: true, nexthops: [{ interface: 'h0', linkLocal: 'fe80::1' }, { interface: 'h1', linkLocal: 'fe80::2' }],
    });
  });

  it.each([
    ['an IPv4 gateway', route(NET_A, [leg(2, undefined, 0x0a000001)]), 'not-link-local-via'],
    ['a global IPv6 via', route(NET_A, [leg(2, GLOBAL)]), 'not-link-local-via'],
    ['a connected route (no gateway)', route(NET_A, [leg(2)]), 'not-link-local-via'],
    ['a multipath route with one IPv4 leg (never taken in part)', route(NET_A, [leg(2, PEER_A), leg(3, undefined, 0x0a000001)]), 'not-link-local-via'],
    ['no legs at all', route(NET_A, []), 'not-link-local-via'],
    ['an unknown interface', route(NET_A, [leg(9, PEER_A)]), 'unknown-interface'],
    ['a blackhole', route(NET_A, [], { type: RTN_BLACKHOLE }), 'not-unicast'],
    ['one of ours', route(NET_A, [leg(2, PEER_A)], { protocol: OURS }), 'own-protocol'],
    ['a nexthop object', route(NET_A, [], { nhId: 7 }), 'nexthop-object'],
  ])('ignores %s', (_what, r, reason) => {
    expect(kernelTableVerdict(r, ctx)).toEqual({ ok: false, reason });
  });
});

/** Table contents a test sets; dumps deliver them the way NetlinkKernel.dumpTable does. */
class FakeTables implements TableDumper {
  readonly tables = new Map<number, KernelRoute[]>();
  /** restarts the next dump once after this many routes, like NLM_F_DUMP_INTR */
  interruptAfter: number | undefined;
  // async like the real dumper, so callers meet the same promise timing
  // eslint-disable-next-line @typescript-eslint/require-await
  async dumpTable(table: number, sink: RouteDumpSink): Promise<void> {
    const routes = this.tables.get(table) ?? [];
    for (let attempt = 0; attempt < 2; attempt++) {
      sink.begin();
      let n = 0;
      let interrupted = false;
      for (const r of routes) {
        if (this.interruptAfter !== undefined && n++ === this.interruptAfter) {
          this.interruptAfter = undefined;
          interrupted = true;
          break;
        }
        const scanned: ScannedRoute = { table: r.table, dst: r.dst, dstLen: r.dstLen, protocol: r.protocol, metric: r.metric, type: r.type,
          forwardingBytes: JSON.stringify(r.legs.map((l) => [l.ifindex, l.via6?.toString('hex'), l.gateway])) + (r.nhId ?? '') };
        sink.route(scanned, () => r);
      }
      if (!interrupted) return;
    }
  }
}

function setup(tables = [100]) {
  const rib = new Rib();
  const kernel = new FakeTables();
  let synced = 0;
  let needDumps = 0;
  const source = new KernelTableSource({ tables, destTable: DEST, ownProtocol: OURS, ifname, needDump: () => needDumps++ }, rib, pino({ level: 'silent' }));
  source.onSynced(() => synced++);
  const held = () => [...rib.desiredSlots()].map((s) => ({ ...rib.routeAt(s)!, prefix: rib.prefixOf(s).key, source: rib.sessionAt(s) }));
  return { rib, kernel, source, held, synced: () => synced, needDumps: () => needDumps };
}

describe('kernel-table source: replays at each dump', () => {
  it('takes the table into kernel.table under its own session, syncs once, and withdraws what vanished', async () => {
    const t = setup();
    t.kernel.tables.set(100, [route(NET_A, [leg(2, PEER_A)]), route(NET_B, [leg(2, PEER_A), leg(3, PEER_B)]), route(0x0a000300, [leg(2, GLOBAL)])]);
    await t.source.dump(t.kernel);
    expect(t.held()).toEqual([
      { table: DEST, prefix: '10.0.1.0/24', nexthops: [{ interface: 'h0', linkLocal: 'fe80::1' }], source: 'kernel-table#100' },
      { table: DEST, prefix: '10.0.2.0/24', nexthops: [{ interface: 'h0', linkLocal: 'fe80::1' }, { interface: 'h1', linkLocal: 'fe80::2' }], source: 'kernel-table#100' },
    ]);
    expect(t.synced()).toBe(1);
    expect(t.source.stats()).toMatchObject({ tables: [100], taken: 2, ignored: { 'not-link-local-via': 1, 'not-unicast': 0 }, dumps: 1 });

    // 10.0.1.0/24 removed and 10.0.2.0/24 changed while events were lost
    t.kernel.tables.set(100, [route(NET_B, [leg(3, PEER_B)])]);
    await t.source.dump(t.kernel);
    expect(t.held()).toEqual([{ table: DEST, prefix: '10.0.2.0/24', nexthops: [{ interface: 'h1', linkLocal: 'fe80::2' }], source: 'kernel-table#100' }]);
    expect(t.synced()).toBe(1);
  });

  it('an interrupted dump starts the replay over and keeps every route', async () => {
    const t = setup();
    t.kernel.tables.set(100, [route(NET_A, [leg(2, PEER_A)]), route(NET_B, [leg(2, PEER_A)])]);
    await t.source.dump(t.kernel);
    t.kernel.interruptAfter = 1;
    await t.source.dump(t.kernel);
    expect(t.held().map((r) => r.prefix)).toEqual(['10.0.1.0/24', '10.0.2.0/24']);
    expect(t.source.stats().taken).toBe(2);
  });

  it('a prefix in two source tables: the first table listed wins at a dump; each table replays alone', async () => {
    const t = setup([101, 100]);
    t.kernel.tables.set(100, [route(NET_A, [leg(2, PEER_A)]), route(NET_B, [leg(2, PEER_A)])]);
    t.kernel.tables.set(101, [route(NET_A, [leg(3, PEER_B)], { table: 101 })]);
    await t.source.dump(t.kernel);
    expect(t.held().map((r) => `${r.prefix} ${r.source} ${r.nexthops[0]!.interface}`)).toEqual(['10.0.1.0/24 kernel-table#101 h1', '10.0.2.0/24 kernel-table#100 h0']);
    expect(t.source.stats().shadowed).toBe(1);
    t.kernel.tables.set(101, []);
    await t.source.dump(t.kernel);
    expect(t.held().map((r) => `${r.prefix} ${r.source} ${r.nexthops[0]!.interface}`)).toEqual(['10.0.1.0/24 kernel-table#100 h0', '10.0.2.0/24 kernel-table#100 h0']);
  });

  it('one prefix at two metrics in a table: the first listed (the lowest metric) is taken', async () => {
    const t = setup();
    t.kernel.tables.set(100, [route(NET_A, [leg(2, PEER_A)], { metric: 10 }), route(NET_A, [leg(3, PEER_B)], { metric: 20 })]);
    await t.source.dump(t.kernel);
    expect(t.held()).toMatchObject([{ prefix: '10.0.1.0/24', nexthops: [{ interface: 'h0' }] }]);
    expect(t.source.stats()).toMatchObject({ taken: 1, shadowed: 1 });
  });

  it('leaves other sessions alone: a JSON-lines route for another prefix survives the replay', async () => {
    const t = setup();
    t.rib.add('jsonl#1', { table: DEST, prefix: makePrefix(0x0a000900, 24), nexthops: [{ interface: 'h0', linkLocal: undefined }] });
    await t.source.dump(t.kernel);
    expect(t.held().map((r) => r.source)).toEqual(['jsonl#1']);
  });

  it('routes the filters refuse are counted, not held', async () => {
    const t = setup();
    t.kernel.tables.set(100, [route(0, [leg(2, PEER_A)], { dstLen: 0 })]);
    const { RoutePolicy } = await import('../../src/rib/route-policy.js');
    t.rib.setPolicy(new RoutePolicy(configFromDocument({}, parseRtTables('')).filters, 10));
    await t.source.dump(t.kernel);
    expect(t.held()).toEqual([]);
    expect(t.source.stats()).toMatchObject({ taken: 1, refused: 1 });
  });
});

describe('kernel-table source: route events', () => {
  it('new adds or updates, del withdraws; events of other tables and our own deletes are not taken', async () => {
    const t = setup();
    await t.source.dump(t.kernel);
    t.source.noteRoute('new', route(NET_A, [leg(2, PEER_A)]));
    t.source.noteRoute('new', route(NET_A, [leg(2, PEER_A), leg(3, PEER_B)]));
    t.source.noteRoute('new', route(NET_B, [leg(2, PEER_A)], { table: 254 }));
    expect(t.held()).toMatchObject([{ prefix: '10.0.1.0/24', nexthops: [{ interface: 'h0' }, { interface: 'h1' }], source: 'kernel-table#100' }]);
    t.source.noteRoute('del', route(NET_A, [], { protocol: OURS }));
    expect(t.held()).toHaveLength(1);
    t.source.noteRoute('del', route(NET_A, []));
    expect(t.held()).toEqual([]);
    expect(t.source.stats().events).toBe(4);
  });

  it('a del in one table does not withdraw what another table holds', async () => {
    const t = setup([100, 101]);
    await t.source.dump(t.kernel);
    t.source.noteRoute('new', route(NET_A, [leg(3, PEER_B)], { table: 101 }));
    t.source.noteRoute('del', route(NET_A, []));
    expect(t.held()).toMatchObject([{ prefix: '10.0.1.0/24', source: 'kernel-table#101' }]);
  });

  it('a held route replaced by one it cannot take asks for a dump (the event cannot tell which metric)', async () => {
    const t = setup();
    t.kernel.tables.set(100, [route(NET_A, [leg(2, PEER_A)])]);
    await t.source.dump(t.kernel);
    t.source.noteRoute('new', route(NET_A, [leg(2, undefined, 0x0a000001)]));
    expect(t.needDumps()).toBe(1);
    t.kernel.tables.set(100, [route(NET_A, [leg(2, undefined, 0x0a000001)])]);
    await t.source.dump(t.kernel);
    expect(t.held()).toEqual([]);
    t.source.noteRoute('new', route(NET_B, [leg(2, undefined, 0x0a000001)]));
    expect(t.needDumps()).toBe(1);
  });
});

describe('sources.kernel.tables configuration', () => {
  const tables = parseRtTables('100 bird\n');
  const problems = (doc: unknown) => {
    try {
      configFromDocument(doc, tables);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
      throw err;
    }
    return [];
  };

  it('is off by default and takes numbers and rt_tables names', () => {
    expect(configFromDocument({}, tables).sources.kernel.tables).toEqual([]);
    expect(configFromDocument({ sources: { kernel: { tables: ['bird', 101] } }, kernel: { table: 1000 } }, tables).sources.kernel.tables).toEqual([100, 101]);
  });

  it('refuses the table the daemon writes, naming both keys', () => {
    expect(problems({ kernel: { table: 100 }, sources: { kernel: { tables: ['bird'] } } })).toEqual([
      'sources.kernel.tables.0: is kernel.table (100), the table the daemon writes; sources.kernel.tables must name tables it only reads',
    ]);
  });

  it('refuses main, default, unspec and local, duplicates and unknown names', () => {
    const p = problems({ kernel: { table: 1000 }, sources: { kernel: { tables: [254, 253, 0, 255, 'nope', 100, 'bird'] } } });
    expect(p).toHaveLength(6);
    expect(p[0]).toMatch(/^sources\.kernel\.tables\.0: must not be 0, 253 \(default\), 254 \(main\)/);
    expect(p[1]).toMatch(/^sources\.kernel\.tables\.1: (must not be|253 is the kernel.s "default" table)/);
    expect(p[2]).toMatch(/^sources\.kernel\.tables\.2: /);
    expect(p[3]).toMatch(/^sources\.kernel\.tables\.3: .*local/);
    expect(p[4]).toMatch(/^sources\.kernel\.tables\.4: "nope" is not a table known to rt_tables/);
    expect(p[5]).toMatch(/^sources\.kernel\.tables\.6: table 100 is named twice/);
  });
});

describe('routes shows the source', () => {
  it('a SOURCE column, "-" for refused', () => {
    const text = formatRoutes([
      { table: 1000, prefix: '10.0.1.0/24', nexthops: ['fe80::1%h0'], source: 'kernel-table#100', state: 'installed' },
      { table: 1000, prefix: '0.0.0.0/0', nexthops: [], source: null, state: 'refused', reason: 'filtered' },
    ]).split('\n');
    expect(text[0]).toMatch(/^TABLE\s+PREFIX\s+STATE\s+SOURCE\s+NEXT HOPS\s+REASON$/);
    expect(text[1]).toMatch(/^1000\s+10\.0\.1\.0\/24\s+installed\s+kernel-table#100\s+fe80::1%h0/);
    expect(text[2]).toMatch(/refused\s+-\s+filtered$/);
  });
});
