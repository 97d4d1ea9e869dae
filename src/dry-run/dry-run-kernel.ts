// `rfc5549d run --dry-run`: the daemon's kernel port is a FakeKernel seeded from a dump of the
// real kernel and kept current by the real kernel's events, so the sources, resolver and
// reconciler run as usual while every write lands in the fake. The real kernel is reached
// through a KernelReader: dumps and events only, no method that writes (by type, not by care).
import type { Logger } from '../log.js';
import { FakeKernel } from '../kernel/fake-kernel.js';
import type { KernelEvents, KernelPort } from '../kernel/kernel.js';
import {
  IFF_LOWER_UP, IFF_UP, type KernelLink, type KernelNeighbour, type KernelRoute, type KernelRule, type NexthopObject,
} from '../kernel/rtnetlink-codec.js';

/** The real kernel as a dry run may use it: reads and events, nothing that writes. */
export type KernelReader = Pick<KernelPort, 'dumpLinks' | 'dumpNeighbours' | 'dumpRoutes' | 'dumpTable' | 'dumpNexthops' | 'dumpRules' | 'subscribe' | 'close'>;

export interface DryRunOptions {
  /** kernel.protocol: what is ours is written by the daemon in the fake only, so the real kernel's events for it are not mirrored */
  readonly protocol: number;
  /** tables whose routes of every protocol the daemon reads: main (throws), ours, sources.kernel.tables */
  readonly tables: readonly number[];
}

/** One real-kernel event, held while the seed dump runs. */
type Held = (k: DryRunKernel) => void;

const neighKey = (n: Pick<KernelNeighbour, 'family' | 'ifindex' | 'dst'>): string => `${n.family}/${n.ifindex}/${n.dst.toString('hex')}`;
const ruleKey = (r: Pick<KernelRule, 'priority' | 'table' | 'protocol'>): string => `${r.priority}/${r.table}/${r.protocol}`;

export class DryRunKernel extends FakeKernel {
  private held: Held[] | undefined = [];
  private readonly tables: ReadonlySet<number>;

  private constructor(private readonly reader: KernelReader, private readonly opts: DryRunOptions, private readonly log: Logger) {
    super();
    this.tables = new Set(opts.tables);
  }

  /** Subscribe to the real kernel, then dump it into the fake (events heard meanwhile are applied after). */
  static async seeded(reader: KernelReader, opts: DryRunOptions, log: Logger): Promise<DryRunKernel> {
    const k = new DryRunKernel(reader, opts, log);
    reader.subscribe(k.realEvents());
    await k.reseed();
    const held = k.held ?? [];
    k.held = undefined;
    for (const h of held) h(k);
    return k;
  }

  /** the real kernel as a dry run reads it (plan compares it with the fake) */
  get real(): KernelReader {
    return this.reader;
  }

  override async close(): Promise<void> {
    await super.close();
    await this.reader.close();
  }

  /**
   * Loads the real kernel's links, neighbours, nexthop objects, rules, our routes in every
   * table and every route of the tables the daemon reads. What the fake holds of ours is kept
   * on a re-seed (after lost events): the daemon wrote it, and its dump tells the rest.
   */
  private async reseed(): Promise<void> {
    const r = this.reader;
    const { protocol } = this.opts;
    const seeding = this.held !== undefined;
    const [links, neighbours, nexthops, rules] = [await r.dumpLinks(), await r.dumpNeighbours(), await r.dumpNexthops().catch(() => []), await r.dumpRules()];
    const routes: KernelRoute[] = [];
    let from = 0;
    const collect = { begin: () => (routes.length = from), route: (_: unknown, decode: () => KernelRoute) => void routes.push(decode()) };
    if (seeding) await r.dumpRoutes(protocol, collect);
    for (const t of this.tables) {
      from = routes.length;
      await r.dumpTable(t, collect);
    }
    // on a re-seed, what is ours stays as the daemon wrote it; all else is the real kernel's again
    const keep = (x: { protocol: number }): boolean => !seeding && x.protocol === protocol;
    const take = (x: { protocol: number }): boolean => seeding || x.protocol !== protocol;
    this.links.clear();
    for (const l of links) this.links.set(l.ifindex, fakeLink(l));
    for (const [k, n] of this.neighbours) if (!keep(n)) this.neighbours.delete(k);
    for (const n of neighbours) if (take(n)) this.neighbours.set(neighKey(n), n);
    for (const [id, nh] of this.nexthops) if (!keep(nh)) this.nexthops.delete(id);
    for (const nh of nexthops) if (take(nh)) this.nexthops.set(nh.id, nh);
    for (const [k, rule] of this.rules) if (!keep(rule)) this.rules.delete(k);
    for (const rule of rules) if (take(rule)) this.rules.set(ruleKey(rule), rule);
    for (const route of this.fib.routesWhere((x) => !keep(x))) this.fib.remove(route);
    for (const route of routes) if (take(route)) this.fib.put(route);
    this.log.info({ event: 'dryRunSeeded', links: links.length, neighbours: neighbours.length, routes: routes.length, rules: rules.length, nexthops: nexthops.length },
      seeding ? 'dry run: the fake kernel holds a copy of the real one; nothing is written to the real kernel' : 'dry run: the fake kernel re-read the real one after lost events');
  }

  private realEvents(): KernelEvents {
    const on = (apply: Held) => (this.held ? this.held.push(apply) : apply(this));
    const theirs = (p: number): boolean => p !== this.opts.protocol;
    return {
      link: (change, l) => on((k) => k.mirrorLink(change, l)),
      neighbour: (change, n) => on((k) => {
        if (theirs(n.protocol)) k.mirrorNeighbour(change, n);
      }),
      route: (change, r) => on((k) => {
        if (theirs(r.protocol) && this.tables.has(r.table)) k.mirrorRoute(change, r);
      }),
      nexthop: (change, nh) => on((k) => {
        if (theirs(nh.protocol)) k.mirrorNexthop(change, nh);
      }),
      rule: (change, r) => on((k) => {
        if (theirs(r.protocol)) k.mirrorRule(change, r);
      }),
      overrun: () => on((k) => void k.reseed().then(() => k.emit((s) => s.overrun()), (err: unknown) => k.emit((s) => s.error(err as Error)))),
      error: (err) => this.emit((s) => s.error(err)),
    };
  }

  /** The kernel's own consequences (flushes on admin down, carrier loss, MAC change) come from the fake's setters. */
  private mirrorLink(change: 'new' | 'del', l: KernelLink): void {
    const known = this.links.get(l.ifindex);
    if (change === 'del') {
      if (!known) return;
      this.setAdmin(l.ifindex, false); // what goes with the link: its routes, neighbours and nexthop objects
      this.links.delete(l.ifindex);
      this.emit((s) => s.link('del', l));
      return;
    }
    if (!known) {
      this.links.set(l.ifindex, fakeLink(l));
      this.emitLink(this.links.get(l.ifindex)!);
      return;
    }
    Object.assign(known, { name: l.name, kind: l.kind, master: l.master, vrfTable: l.vrfTable });
    if (l.mac && !l.mac.equals(known.mac)) this.setMac(l.ifindex, l.mac);
    this.setAdmin(l.ifindex, (l.flags & IFF_UP) !== 0);
    this.setCarrier(l.ifindex, (l.flags & IFF_LOWER_UP) !== 0);
    this.emitLink(known);
  }

  private mirrorNeighbour(change: 'new' | 'del', n: KernelNeighbour): void {
    const key = neighKey(n);
    if (change === 'del' && !this.neighbours.delete(key)) return;
    if (change === 'new') this.neighbours.set(key, n);
    this.emit((s) => s.neighbour(change, n));
  }

  private mirrorRoute(change: 'new' | 'del', r: KernelRoute): void {
    if (change === 'del' && !this.fib.remove(r)) return;
    if (change === 'new') this.fib.put(r);
    this.emitRoute(change, r);
  }

  private mirrorNexthop(change: 'new' | 'del', nh: NexthopObject): void {
    if (change === 'del') this.nexthops.delete(nh.id);
    else this.nexthops.set(nh.id, nh);
    this.emit((s) => s.nexthop(change, nh));
  }

  private mirrorRule(change: 'new' | 'del', r: KernelRule): void {
    if (change === 'del') this.rules.delete(ruleKey(r));
    else this.rules.set(ruleKey(r), r);
    this.emit((s) => s.rule(change, r));
  }
}

function fakeLink(l: KernelLink): { ifindex: number; name: string; mac: Buffer; up: boolean; carrier: boolean; kind?: string; master?: number; vrfTable?: number } {
  return {
    ifindex: l.ifindex, name: l.name, mac: Buffer.from(l.mac ?? Buffer.alloc(6)),
    up: (l.flags & IFF_UP) !== 0, carrier: (l.flags & IFF_LOWER_UP) !== 0, kind: l.kind, master: l.master, vrfTable: l.vrfTable,
  };
}
