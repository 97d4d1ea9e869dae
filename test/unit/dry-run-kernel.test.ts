// The dry run's kernel copy against a scripted "real kernel" (a KernelReader whose events the
// test sends): seeded from its dumps, events heard during the seed applied after it, ours never
// taken from its events, and a re-seed after lost events that keeps what the daemon wrote.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { DryRunKernel, type KernelReader } from '../../src/dry-run/dry-run-kernel.js';
import type { KernelEvents, RouteDumpSink } from '../../src/kernel/kernel.js';
import {
  AF_INET, AF_INET6, IFF_LOWER_UP, IFF_UP, NUD_PERMANENT, RTN_UNICAST, RTNH_F_ONLINK, type KernelLink, type KernelNeighbour, type KernelRoute,
} from '../../src/kernel/rtnetlink-codec.js';
import { until } from '../helpers/kernel-contract.js';

const P = 200;
const H0 = 2;
const UP = IFF_UP | IFF_LOWER_UP;
const route = (dst: number, protocol: number, table = 254): KernelRoute =>
  ({ table, dst, dstLen: 24, protocol, metric: 20, type: RTN_UNICAST, legs: [{ ifindex: H0, gateway: 0xa9fe0001, flags: RTNH_F_ONLINK }] });
const peerNeighbour: KernelNeighbour = { family: AF_INET6, ifindex: H0, state: 2, flags: 0, dst: Buffer.from('fe80000000000000000000fffe000101', 'hex'), lladdr: Buffer.from('020000000101', 'hex'), protocol: 0 };
const placeholder: KernelNeighbour = { family: AF_INET, ifindex: H0, state: NUD_PERMANENT, flags: 0, dst: Buffer.from([169, 254, 0, 1]), lladdr: Buffer.from('020000000101', 'hex'), protocol: P };

/** a real kernel as a script: what its dumps answer, and its events sent by hand */
class ScriptedKernel implements KernelReader {
  links: KernelLink[] = [{ ifindex: H0, name: 'h0', flags: UP, mac: Buffer.from('020000000201', 'hex') }];
  neighbours: KernelNeighbour[] = [];
  routes: KernelRoute[] = [];
  events: KernelEvents | undefined;
  /** runs inside the first dump, as an event that arrives while the seed is read */
  duringDump: (() => void) | undefined;
  /* eslint-disable @typescript-eslint/require-await */
  async dumpLinks() {
    this.duringDump?.();
    this.duringDump = undefined;
    return this.links;
  }
  async dumpNeighbours() { return this.neighbours; }
  async dumpNexthops() { return []; }
  async dumpRules() { return []; }
  async dumpRoutes(protocol: number, sink: RouteDumpSink) { this.stream(this.routes.filter((r) => r.protocol === protocol), sink); }
  async dumpTable(table: number, sink: RouteDumpSink) { this.stream(this.routes.filter((r) => r.table === table), sink); }
  subscribe(events: KernelEvents) { this.events = events; }
  async close() {}
  /* eslint-enable @typescript-eslint/require-await */
  private stream(list: KernelRoute[], sink: RouteDumpSink) {
    sink.begin();
    for (const r of list) sink.route({ table: r.table, dst: r.dst, dstLen: r.dstLen, protocol: r.protocol, metric: r.metric, type: r.type, forwardingBytes: '' }, () => r);
  }
}

function heard(k: DryRunKernel): string[] {
  const out: string[] = [];
  const note = (what: string) => () => void out.push(what);
  k.subscribe({ link: note('link'), neighbour: (c, n) => void out.push(`neighbour ${c} ${n.family}`), route: (c, r) => void out.push(`route ${c} ${r.protocol}`),
    nexthop: note('nexthop'), rule: note('rule'), overrun: note('overrun'), error: note('error') });
  return out;
}

async function ourRoutes(k: DryRunKernel): Promise<number[]> {
  const out: number[] = [];
  await k.dumpRoutes(P, { begin: () => (out.length = 0), route: (r) => void out.push(r.dst) });
  return out;
}

describe('DryRunKernel', () => {
  it('is seeded from the dumps: ours in every table, main of every protocol, links and neighbours', async () => {
    const real = new ScriptedKernel();
    real.routes = [route(0x0a010000, P, 5549), route(0x0a020000, 186), route(0x0a030000, 186, 1000)];
    real.neighbours = [peerNeighbour, placeholder];
    const k = await DryRunKernel.seeded(real, { protocol: P, tables: [254, 5549] }, pino({ level: 'silent' }));
    expect(await ourRoutes(k)).toEqual([0x0a010000]);
    const main: number[] = [];
    await k.dumpTablePrefixes(254, { begin: () => {}, route: (r) => void main.push(r.dst) });
    expect(main).toEqual([0x0a020000]); // table 1000 is read by no one: not copied
    expect((await k.dumpNeighbours()).map((n) => n.family)).toEqual([AF_INET6, AF_INET]);
    expect((await k.dumpLinks()).map((l) => [l.name, l.flags])).toEqual([['h0', UP]]);
  });

  it('applies events heard during the seed after it; takes theirs from events, never ours', async () => {
    const real = new ScriptedKernel();
    real.duringDump = () => real.events!.neighbour('new', peerNeighbour);
    const k = await DryRunKernel.seeded(real, { protocol: P, tables: [254, 5549] }, pino({ level: 'silent' }));
    const out = heard(k);
    expect((await k.dumpNeighbours()).length).toBe(1);
    real.events!.route('new', route(0x0a050000, 186)); // main, zebra's: copied and told
    real.events!.route('new', route(0x0a060000, P, 5549)); // ours, someone else's write: only the daemon writes ours in the copy
    real.events!.neighbour('new', placeholder);
    await until('events delivered', () => out.length >= 1);
    await new Promise((r) => setImmediate(r));
    expect(out).toEqual(['route new 186']);
    expect(await ourRoutes(k)).toEqual([]);
    expect(k.writes).toBe(0);
  });

  it('a real link going admin down flushes the copy as the kernel would (routes via it, its neighbours) and tells the daemon', async () => {
    const real = new ScriptedKernel();
    real.routes = [route(0x0a010000, P, 5549)];
    real.neighbours = [placeholder];
    const k = await DryRunKernel.seeded(real, { protocol: P, tables: [254, 5549] }, pino({ level: 'silent' }));
    const out = heard(k);
    real.events!.link('new', { ...real.links[0]!, flags: 0 });
    await until('link told', () => out.includes('link'));
    expect(await ourRoutes(k)).toEqual([]);
    expect(await k.dumpNeighbours()).toEqual([]);
    expect(out).toContain(`neighbour del ${AF_INET}`);
  });

  it('after lost events, re-reads theirs, keeps what the daemon wrote in the copy, then tells the daemon to re-dump', async () => {
    const real = new ScriptedKernel();
    real.routes = [route(0x0a020000, 186)];
    const k = await DryRunKernel.seeded(real, { protocol: P, tables: [254, 5549] }, pino({ level: 'silent' }));
    k.foreignRoute('replace', route(0x0a090000, P, 5549)); // as if the daemon had written it
    const out = heard(k);
    real.routes = [route(0x0a070000, 186)];
    real.events!.overrun();
    await until('overrun told', () => out.includes('overrun'));
    expect(await ourRoutes(k)).toEqual([0x0a090000]);
    const main: number[] = [];
    await k.dumpTablePrefixes(254, { begin: () => {}, route: (r) => void main.push(r.dst) });
    expect(main).toEqual([0x0a070000]);
  });
});
