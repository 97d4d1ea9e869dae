// The desired state: routes keyed by (table, prefix), each with the source session that
// last wrote it. Replays (sync-begin/sync-end) withdraw what was not re-sent. It also keeps
// a reference count of peers per interface, so the resolver need not scan every route.
import type { Ipv4Prefix } from '../model/ipv4-prefix.js';
import type { LinkLocal } from '../model/link-local.js';
import { RoutePolicy, type Refusal, type RefusalCode } from './route-policy.js';
import { routeKey, sameNexthops, type DesiredRoute } from './route.js';

interface RibEntry {
  route: DesiredRoute;
  session: string;
  epoch: number;
}

export type RibChange = 'added' | 'changed' | 'unchanged' | 'withdrawn' | 'absent' | 'refused';

/** How many recent refusals `routes --pending` can show; older ones are only counted. */
const REFUSALS_KEPT = 1000;

export class Rib {
  private readonly entries = new Map<string, RibEntry>();
  private readonly peerRefs = new Map<string, Map<LinkLocal, number>>();
  /** next hops that name only an interface (the learnt peer there), per interface */
  private readonly anyPeerRefs = new Map<string, number>();
  private epoch = 0;
  private readonly replays = new Map<string, number>();
  /** called with the key (and its table) of every entry that changed */
  onChange: (key: string, table: number) => void = () => {};
  private policyNow = new RoutePolicy({ defaultAction: 'accept', rules: [] }, Number.MAX_SAFE_INTEGER);
  /** the latest refusals by key (bounded), for status */
  readonly refusals = new Map<string, Refusal & { at: number }>();
  readonly refusedTotal: Record<RefusalCode, number> = { LIMIT_EXCEEDED: 0, ROUTE_FILTERED: 0 };

  get policy(): RoutePolicy {
    return this.policyNow;
  }

  /**
   * Applies new filters and limits. Held routes the filters now reject are withdrawn; a
   * lower limit refuses new prefixes only, it never drops what is held. Returns how many
   * were withdrawn.
   */
  setPolicy(policy: RoutePolicy): number {
    this.policyNow = policy;
    let n = 0;
    for (const [key, e] of this.entries) {
      if (policy.filtered(e.route.prefix)) {
        this.remove(key);
        n++;
      }
    }
    return n;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): DesiredRoute | undefined {
    return this.entries.get(key)?.route;
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  routes(): IterableIterator<DesiredRoute> {
    const it = this.entries.values();
    return (function* () {
      for (const e of it) yield e.route;
    })();
  }

  /** Peers (link-locals) that desired routes name on an interface, with their route counts. */
  peersOn(ifname: string): ReadonlyMap<LinkLocal, number> {
    return this.peerRefs.get(ifname) ?? new Map();
  }

  /** whether some route names only the interface, leaving the peer to what we learnt there */
  wantsLearntPeer(ifname: string): boolean {
    return (this.anyPeerRefs.get(ifname) ?? 0) > 0;
  }

  interfaces(): IterableIterator<string> {
    const named = this.peerRefs;
    const any = this.anyPeerRefs;
    return (function* () {
      yield* named.keys();
      for (const k of any.keys()) if (!named.has(k)) yield k;
    })();
  }

  add(session: string, route: DesiredRoute): RibChange {
    const key = routeKey(route.table, route.prefix.key);
    const old = this.entries.get(key);
    const refusal = this.policyNow.filtered(route.prefix) ?? (old ? undefined : this.policyNow.overLimit(route.prefix, this.entries.size));
    if (refusal) return this.refuse(key, refusal);
    if (this.refusals.size > 0) this.refusals.delete(key);
    this.epoch++;
    if (old) {
      old.epoch = this.epoch;
      old.session = session;
      if (sameNexthops(old.route.nexthops, route.nexthops)) return 'unchanged';
      this.unref(old.route);
      old.route = route;
      this.ref(route);
      this.onChange(key, route.table);
      return 'changed';
    }
    this.entries.set(key, { route, session, epoch: this.epoch });
    this.ref(route);
    this.onChange(key, route.table);
    return 'added';
  }

  /** the refusal behind the last 'refused' answer of add() */
  lastRefusal: Refusal | undefined;

  private refuse(key: string, refusal: Refusal): RibChange {
    this.refusedTotal[refusal.code]++;
    this.lastRefusal = refusal;
    this.refusals.delete(key); // re-insert: Map order is age order
    this.refusals.set(key, { ...refusal, at: Date.now() });
    if (this.refusals.size > REFUSALS_KEPT) this.refusals.delete(this.refusals.keys().next().value!);
    return 'refused';
  }

  withdraw(table: number, prefix: Ipv4Prefix): RibChange {
    this.refusals.delete(routeKey(table, prefix.key));
    return this.remove(routeKey(table, prefix.key));
  }

  /** Starts a replay for a source; entries it does not re-send before endReplay go away. */
  beginReplay(source: string): void {
    this.replays.set(source, ++this.epoch);
  }

  /** Ends a replay; returns how many entries were withdrawn, or undefined without a begin. */
  endReplay(source: string, ownsSession: (session: string) => boolean): number | undefined {
    const since = this.replays.get(source);
    if (since === undefined) return undefined;
    this.replays.delete(source);
    let n = 0;
    for (const [key, e] of this.entries) {
      if (e.epoch < since && ownsSession(e.session)) {
        this.remove(key);
        n++;
      }
    }
    return n;
  }

  withdrawSession(session: string): number {
    return this.withdrawSessions((s) => s === session);
  }

  withdrawSessions(matches: (session: string) => boolean): number {
    let n = 0;
    for (const [key, e] of this.entries) {
      if (matches(e.session)) {
        this.remove(key);
        n++;
      }
    }
    return n;
  }

  private remove(key: string): RibChange {
    const old = this.entries.get(key);
    if (!old) return 'absent';
    this.entries.delete(key);
    this.unref(old.route);
    this.onChange(key, old.route.table);
    return 'withdrawn';
  }

  private ref(route: DesiredRoute): void {
    for (const nh of route.nexthops) {
      if (nh.linkLocal === undefined) {
        this.anyPeerRefs.set(nh.interface, (this.anyPeerRefs.get(nh.interface) ?? 0) + 1);
        continue;
      }
      let m = this.peerRefs.get(nh.interface);
      if (!m) this.peerRefs.set(nh.interface, (m = new Map()));
      m.set(nh.linkLocal, (m.get(nh.linkLocal) ?? 0) + 1);
    }
  }

  private unref(route: DesiredRoute): void {
    for (const nh of route.nexthops) {
      if (nh.linkLocal === undefined) {
        const n = (this.anyPeerRefs.get(nh.interface) ?? 0) - 1;
        if (n > 0) this.anyPeerRefs.set(nh.interface, n);
        else this.anyPeerRefs.delete(nh.interface);
        continue;
      }
      const m = this.peerRefs.get(nh.interface);
      if (!m) continue;
      const n = (m.get(nh.linkLocal) ?? 0) - 1;
      if (n > 0) m.set(nh.linkLocal, n);
      else m.delete(nh.linkLocal);
      if (m.size === 0) this.peerRefs.delete(nh.interface);
    }
  }
}
