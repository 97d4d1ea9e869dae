// One zebra connection's view: nexthop objects by id (ids are only valid within one
// connection), and the translation of zebra's routes into desired routes. No I/O.
import type { Ipv4Prefix } from '../../model/ipv4-prefix.js';
import { routeKey, sortNexthops, type DesiredRoute, type PeerNexthop } from '../../rib/route.js';
import type { FpmItem, FpmLeg, IgnoreReason } from './fpm-decode.js';

export interface FpmSink {
  add(session: string, route: DesiredRoute): void;
  withdraw(table: number, prefix: Ipv4Prefix): void;
}

export interface FpmSessionOptions {
  /** rtm_protocol values to take (zebra's bgp is 186) */
  readonly protocols: ReadonlySet<number>;
  /** where zebra's main table (254) goes: our kernel.table, so both can live in one namespace */
  readonly mainTable: number;
  ifname(ifindex: number): string | undefined;
}

/**
 * Whether an FPM route is one of our own coming back. zebra learns every route the daemon
 * writes as a kernel route and streams it back (rtm_protocol 2, RTA_TABLE = our table): its
 * add is dropped by protocol, and so must its delete be, or every replace we make (a leg
 * leaving on carrier loss, a drift repair) is followed by zebra's RTM_DELROUTE of the old
 * copy and we withdraw our own route for good. A route in the table zebra's main maps to
 * (kernel.table, when that is not main) is ours whatever its protocol: zebra never writes
 * there itself.
 */
export function isEcho(opts: FpmSessionOptions, table: number, protocol: number): 'protocol' | 'own-table' | undefined {
  if (opts.mainTable !== 254 && table === opts.mainTable) return 'own-table';
  if (!opts.protocols.has(protocol)) return 'protocol';
  return undefined;
}

export interface FpmCounters {
  messages: number;
  routesAdded: number;
  routesWithdrawn: number;
  nexthops: number;
  malformed: number;
  ignored: Partial<Record<IgnoreReason | 'protocol' | 'own-table' | 'unknown-interface', number>>;
}

type RouteAdd = Extract<FpmItem, { kind: 'route-add' }>;

const MAX_GROUP_DEPTH = 2; // a group of groups is not something zebra sends

export class FpmSession {
  readonly counters: FpmCounters = { messages: 0, routesAdded: 0, routesWithdrawn: 0, nexthops: 0, malformed: 0, ignored: {} };
  private readonly nexthops = new Map<number, { legs?: readonly FpmLeg[]; group?: readonly number[] }>();
  /** routes that name a nexthop id, so a late or changed nexthop re-resolves them */
  private readonly byNexthop = new Map<number, Map<string, RouteAdd>>();
  /** routes waiting for a nexthop id that has not arrived */
  private readonly waiting = new Map<string, number>();

  constructor(
    readonly session: string,
    private readonly opts: FpmSessionOptions,
    private readonly sink: FpmSink,
    private readonly onPending: (key: string, nhId: number) => void = () => {},
  ) {}

  /** routes held back because their nexthop id never arrived (FRR 8.4 without kernel nexthops) */
  get pendingNexthopRoutes(): number {
    return this.waiting.size;
  }

  handle(item: FpmItem): void {
    this.counters.messages++;
    switch (item.kind) {
      case 'ignored':
        this.ignore(item.reason);
        return;
      case 'malformed':
        this.counters.malformed++;
        return;
      case 'route-del': {
        const echo = isEcho(this.opts, item.table, item.protocol);
        if (echo) return this.ignore(echo);
        const table = this.table(item.table);
        const key = routeKey(table, item.prefix.key);
        this.forgetNexthopUse(key);
        this.waiting.delete(key);
        this.counters.routesWithdrawn++;
        this.sink.withdraw(table, item.prefix);
        return;
      }
      case 'route-add':
        this.addRoute(item);
        return;
      case 'nexthop-add': {
        this.counters.nexthops++;
        this.nexthops.set(item.id, { ...(item.legs ? { legs: item.legs } : {}), ...(item.group ? { group: item.group } : {}) });
        this.refreshUsersOf(item.id);
        return;
      }
      case 'nexthop-del':
        this.nexthops.delete(item.id);
        return;
    }
  }

  private ignore(reason: IgnoreReason | 'protocol' | 'own-table' | 'unknown-interface'): void {
    this.counters.ignored[reason] = (this.counters.ignored[reason] ?? 0) + 1;
  }

  private table(t: number): number {
    return t === 254 ? this.opts.mainTable : t;
  }

  private addRoute(item: RouteAdd): void {
    const echo = isEcho(this.opts, item.table, item.protocol);
    if (echo) return this.ignore(echo);
    const table = this.table(item.table);
    const key = routeKey(table, item.prefix.key);
    this.forgetNexthopUse(key);
    let legs: readonly FpmLeg[] | undefined = item.legs;
    if (item.nhId !== undefined) {
      let users = this.byNexthop.get(item.nhId);
      if (!users) this.byNexthop.set(item.nhId, (users = new Map()));
      users.set(key, item);
      legs = this.expand(item.nhId, 0);
      if (legs === undefined) {
        // Not forwardable until the nexthop arrives: nothing stale may stay installed meanwhile.
        if (!this.waiting.has(key)) this.onPending(key, item.nhId);
        this.waiting.set(key, item.nhId);
        this.sink.withdraw(table, item.prefix);
        return;
      }
    }
    this.waiting.delete(key);
    const nexthops: PeerNexthop[] = [];
    for (const l of legs) {
      const ifname = this.opts.ifname(l.ifindex);
      if (!ifname) {
        this.ignore('unknown-interface');
        continue;
      }
      if (!nexthops.some((n) => n.interface === ifname && n.linkLocal === l.linkLocal)) nexthops.push({ interface: ifname, linkLocal: l.linkLocal });
    }
    if (nexthops.length === 0) {
      this.ignore('no-ipv6-nexthop');
      this.sink.withdraw(table, item.prefix);
      return;
    }
    this.counters.routesAdded++;
    this.sink.add(this.session, { table, prefix: item.prefix, nexthops: sortNexthops(nexthops) });
  }

  /** The legs of a nexthop id (a group's members' legs), or undefined when any is missing. */
  private expand(id: number, depth: number): FpmLeg[] | undefined {
    const nh = this.nexthops.get(id);
    if (!nh) return undefined;
    if (nh.group) {
      if (depth >= MAX_GROUP_DEPTH) return undefined;
      const out: FpmLeg[] = [];
      for (const member of nh.group) {
        const legs = this.expand(member, depth + 1);
        if (legs === undefined) return undefined;
        out.push(...legs);
      }
      return out;
    }
    return [...(nh.legs ?? [])];
  }

  private refreshUsersOf(id: number): void {
    const affected = new Set<number>([id]);
    for (const [gid, nh] of this.nexthops) if (nh.group?.includes(id)) affected.add(gid);
    for (const nhId of affected) {
      const users = this.byNexthop.get(nhId);
      if (!users) continue;
      for (const item of [...users.values()]) this.addRoute(item);
    }
  }

  private forgetNexthopUse(key: string): void {
    for (const users of this.byNexthop.values()) users.delete(key);
  }
}
