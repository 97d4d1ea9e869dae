// One zebra connection's view: nexthop objects by id (ids are only valid within one
// connection), and the translation of zebra's routes into desired routes. No I/O.
//
// Hostile or buggy input is bounded here (issue 12): a route costs O(its legs), a nexthop
// announcement O(the routes and groups that name it), through two reverse indexes (member
// id -> groups, id -> routes: nexthop-users.ts, columns with no object per route) and the
// forward one (route -> its id). Groups of groups are refused (the kernel has no nested
// groups either), and so are groups over MAX_GROUP_MEMBERS and ids over MAX_NEXTHOP_IDS per
// connection.
import { makePrefix, type Ipv4Prefix } from '../../model/ipv4-prefix.js';
import { peerKey } from '../../model/peer-key.js';
import { RT_TABLE_MAIN } from '../../model/route-table.js';
import { routeKey, sortNexthops, type DesiredRoute, type PeerNexthop } from '../../rib/route.js';
import type { FpmItem, FpmLeg, IgnoreReason } from './fpm-decode.js';
import { isEcho, type FpmSessionOptions } from './fpm-echo.js';
import { MAX_GROUP_MEMBERS, MAX_NEXTHOP_IDS, NexthopTable, type Steps } from './fpm-nexthop-table.js';
import { NexthopUsers } from './nexthop-users.js';

export { MAX_GROUP_MEMBERS, MAX_NEXTHOP_IDS } from './fpm-nexthop-table.js';

/** A route held back because its nexthop id cannot be resolved, with what to do about it. */
export interface PendingNexthopRoute {
  readonly table: number;
  readonly prefix: Ipv4Prefix;
  readonly nhId: number;
  readonly reason: string;
}

/** The start (first route held back) and the end (none left) of a missing-nexthop episode. */
export type PendingEpisode =
  | { readonly state: 'begin'; readonly key: string; readonly nhId: number; readonly reason: string }
  | { readonly state: 'end'; readonly resolved: number };

export interface FpmSink {
  add(session: string, route: DesiredRoute): void;
  /**
   * zebra's RTM_DELROUTE, or (`unusable`) an add whose route we cannot install (a missing
   * nexthop id, no IPv6 next hop left): that one must not wait out a withdraw-hold, or the
   * old next hops stay installed meanwhile.
   */
  withdraw(table: number, prefix: Ipv4Prefix, unusable?: true): void;
}

export interface FpmCounters {
  messages: number;
  routesAdded: number;
  routesWithdrawn: number;
  nexthops: number;
  malformed: number;
  /** nexthop objects refused: nested groups, groups over the member cap, ids over the id cap */
  nexthopsRefused: number;
  ignored: Partial<Record<IgnoreReason | 'protocol' | 'own-table' | 'unknown-interface', number>>;
}

type RouteAdd = Extract<FpmItem, { kind: 'route-add' }>;

export class FpmSession {
  readonly counters: FpmCounters = { messages: 0, routesAdded: 0, routesWithdrawn: 0, nexthops: 0, malformed: 0, nexthopsRefused: 0, ignored: {} };
  private readonly steps: Steps = { operations: 0 };
  /** nexthop objects by id, and the groups that list each */
  private readonly nexthops = new NexthopTable(this.steps);
  /**
   * the routes naming a nexthop id, by id (so a late or changed nexthop re-resolves them) and
   * by route (the id it names), and those of them waiting for an id that cannot be resolved
   */
  private readonly users = new NexthopUsers();
  private episodeResolved = 0;

  constructor(
    readonly session: string,
    private readonly opts: FpmSessionOptions,
    private readonly sink: FpmSink,
    private readonly onPending: (episode: PendingEpisode) => void = () => {},
    /** a nexthop object refused (nested group, a cap), with a message naming it */
    private readonly onNexthopRefused: (id: number, error: string) => void = () => {},
  ) {}

  /** routes held back because their nexthop id never arrived (FRR 8.4 without kernel nexthops) */
  get pendingNexthopRoutes(): number {
    return this.users.pendingCount;
  }

  /** the routes behind pendingNexthopRoutes, for `routes --pending`, in the order they began to wait */
  *pendingRoutes(): IterableIterator<PendingNexthopRoute> {
    const u = this.users;
    for (const s of u.pendingSlots()) yield { table: u.table(s), prefix: makePrefix(u.addr(s), u.len(s)), nhId: u.nhId(s), reason: u.reason(s) };
  }

  /** loop steps spent on nexthop bookkeeping, so tests can assert the cost of adversarial input */
  get operations(): number {
    return this.steps.operations;
  }

  /** nexthop ids held (bounded by MAX_NEXTHOP_IDS) */
  get nexthopIds(): number {
    return this.nexthops.size;
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
      case 'route-unusable': {
        // zebra replaced the route with one we do not install: the old next hops must go now
        const echo = isEcho(this.opts, item.table, item.protocol);
        if (echo) return this.ignore(echo);
        this.ignore(item.reason);
        const table = this.table(item.table);
        this.forgetNexthopUse(table, item.prefix, false);
        this.sink.withdraw(table, item.prefix, true);
        return;
      }
      case 'route-del': {
        const echo = isEcho(this.opts, item.table, item.protocol);
        if (echo) return this.ignore(echo);
        const table = this.table(item.table);
        this.forgetNexthopUse(table, item.prefix, false);
        this.counters.routesWithdrawn++;
        this.sink.withdraw(table, item.prefix);
        return;
      }
      case 'route-add':
        this.addRoute(item);
        return;
      case 'nexthop-add':
        this.addNexthop(item.id, item.legs, item.group);
        return;
      case 'nexthop-del':
        this.deleteNexthop(item.id);
        return;
    }
  }

  private ignore(reason: IgnoreReason | 'protocol' | 'own-table' | 'unknown-interface'): void {
    this.counters.ignored[reason] = (this.counters.ignored[reason] ?? 0) + 1;
  }

  private table(t: number): number {
    return t === RT_TABLE_MAIN ? this.opts.mainTable : t;
  }

  private addNexthop(id: number, legs: readonly FpmLeg[] | undefined, group: readonly number[] | undefined): void {
    this.counters.nexthops++;
    if (!this.nexthops.has(id) && this.nexthops.size >= MAX_NEXTHOP_IDS) {
      return this.refuseNexthop(id, `nexthop ${id}: this connection already holds ${MAX_NEXTHOP_IDS} nexthop ids (the cap per connection); refused`);
    }
    if (group && group.length > MAX_GROUP_MEMBERS) {
      return this.refuseNexthop(id, `nexthop group ${id}: ${group.length} members, more than the cap of ${MAX_GROUP_MEMBERS} (no route may carry more legs); refused`);
    }
    const outcome = this.nexthops.set(id, legs, group);
    if (outcome === 'unchanged') return;
    if (outcome.refused !== undefined) {
      this.counters.nexthopsRefused++;
      this.onNexthopRefused(id, outcome.refused);
    }
    this.refreshUsersOf(id);
  }

  private refuseNexthop(id: number, error: string): void {
    this.counters.nexthopsRefused++;
    this.onNexthopRefused(id, error);
    // What an earlier announcement of the id said no longer holds: its routes re-resolve to pending.
    if (this.nexthops.has(id)) {
      this.deleteNexthop(id);
      this.refreshUsersOf(id);
    }
  }

  private deleteNexthop(id: number): void {
    this.nexthops.delete(id);
  }

  private addRoute(item: RouteAdd): void {
    const echo = isEcho(this.opts, item.table, item.protocol);
    if (echo) return this.ignore(echo);
    const table = this.table(item.table);
    if (item.nhId === undefined) {
      // a route that named an id now carries its own legs: what it waited for no longer matters
      this.forgetNexthopUse(table, item.prefix, true);
      this.install(table, item.prefix, item.legs);
      return;
    }
    this.resolve(this.users.use(table, item.prefix.addr, item.prefix.len, item.nhId), item.prefix);
  }

  /** A route naming a nexthop id (slot `s` of users): installed with the id's legs, or pending. */
  private resolve(s: number, prefix: Ipv4Prefix): void {
    const table = this.users.table(s);
    const x = this.nexthops.expand(this.users.nhId(s));
    if ('missing' in x) {
      // Not forwardable until the nexthop arrives: nothing stale may stay installed meanwhile.
      this.wait(s, prefix, x.missing);
      this.sink.withdraw(table, prefix, true);
      return;
    }
    if (this.users.clearPending(s)) this.waitEnded(true);
    this.install(table, prefix, x.legs);
  }

  private install(table: number, prefix: Ipv4Prefix, legs: readonly FpmLeg[]): void {
    const nexthops = this.peerNexthops(legs);
    if (nexthops.length === 0) {
      this.ignore('no-ipv6-nexthop');
      this.sink.withdraw(table, prefix, true);
      return;
    }
    this.counters.routesAdded++;
    this.sink.add(this.session, { table, prefix, nexthops });
  }

  /** the last single leg's next hops: a feed sends route after route over the same peer */
  private lastLeg: { ifname: string; linkLocal: string | undefined; nexthops: readonly PeerNexthop[] } | undefined;

  /** Legs as next hops by interface name, sorted, without repeats or unknown interfaces. */
  private peerNexthops(legs: readonly FpmLeg[]): readonly PeerNexthop[] {
    if (legs.length === 1) {
      this.steps.operations++;
      const l = legs[0]!;
      const ifname = this.opts.ifname(l.ifindex);
      const last = this.lastLeg;
      if (last && ifname === last.ifname && l.linkLocal === last.linkLocal) return last.nexthops;
      if (!ifname) {
        this.ignore('unknown-interface');
        return [];
      }
      const nexthops = Object.freeze([{ interface: ifname, linkLocal: l.linkLocal }]);
      this.lastLeg = { ifname, linkLocal: l.linkLocal, nexthops };
      return nexthops;
    }
    const nexthops: PeerNexthop[] = [];
    const seen = new Set<string>();
    for (const l of legs) {
      this.steps.operations++;
      const ifname = this.opts.ifname(l.ifindex);
      if (!ifname) {
        this.ignore('unknown-interface');
        continue;
      }
      const k = peerKey(ifname, l.linkLocal);
      if (seen.has(k)) continue;
      seen.add(k);
      nexthops.push({ interface: ifname, linkLocal: l.linkLocal });
    }
    return sortNexthops(nexthops);
  }

  private wait(s: number, prefix: Ipv4Prefix, reason: string): void {
    const first = this.users.pendingCount === 0;
    this.users.setPending(s, reason);
    if (first) {
      this.episodeResolved = 0;
      const table = this.users.table(s);
      this.onPending({ state: 'begin', key: routeKey(table, prefix.key), nhId: this.users.nhId(s), reason });
    }
  }

  /** a route stopped waiting: resolved, or withdrawn (or replaced by one we do not install) */
  private waitEnded(resolved: boolean): void {
    if (resolved) this.episodeResolved++;
    if (this.users.pendingCount === 0) this.onPending({ state: 'end', resolved: this.episodeResolved });
  }

  /** Re-resolves the routes of a nexthop id and of the groups that list it. */
  private refreshUsersOf(id: number): void {
    this.refreshRoutesOf(id);
    const groups = this.nexthops.groupsListing(id);
    if (groups) for (const gid of [...groups]) this.refreshRoutesOf(gid);
  }

  private refreshRoutesOf(id: number): void {
    const u = this.users;
    for (const s of u.routesOf(id)) {
      this.steps.operations++;
      this.resolve(s, makePrefix(u.addr(s), u.len(s)));
    }
  }

  /** The route no longer names a nexthop id (deleted, or now with legs of its own). */
  private forgetNexthopUse(table: number, prefix: Ipv4Prefix, resolved: boolean): void {
    const s = this.users.find(table, prefix.addr, prefix.len);
    if (s < 0) return;
    const waited = this.users.isPending(s);
    this.users.release(s);
    if (waited) this.waitEnded(resolved);
  }
}
