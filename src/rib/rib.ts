// The desired state: routes by (table, prefix) in the route store, each with the source
// session that last wrote it. Replays (sync-begin/sync-end) withdraw what was not re-sent.
// Next-hop sets are interned, so the resolver reads peers per interface from a handful of
// sets instead of a million routes.
import { makePrefix, type Ipv4Prefix } from '../model/ipv4-prefix.js';
import type { LinkLocal } from '../model/link-local.js';
import { ValueObservers } from '../runtime/observers.js';
import { NexthopSets } from './nexthop-sets.js';
import type { Refusal, RefusalCode } from './refusal.js';
import { RoutePolicy } from './route-policy.js';
import { NONE, RouteStore } from './route-store.js';
import { validateRoute } from './route-validation.js';
import { routeKey, type DesiredRoute } from './route.js';

export interface RibStats {
  readonly desired: number;
  readonly maxRoutes: number;
  readonly maxLegs: number;
  /** routes refused since start, by code */
  readonly refused: Readonly<Record<RefusalCode, number>>;
}

export type RibChange = 'added' | 'changed' | 'unchanged' | 'withdrawn' | 'absent' | 'refused';

/** How many recent refusals `routes --pending` can show; older ones are only counted. */
const REFUSALS_KEPT = 1000;

/**
 * Source sessions ("jsonl#3", "fpm#1"), interned so a slot stores a number; an id is freed
 * when no route names it any more, so reconnecting clients do not grow the table.
 */
class Sessions {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [''];
  private readonly refs: number[] = [0];
  private readonly freeIds: number[] = [];

  acquire(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.freeIds.pop() ?? this.names.length;
      this.names[id] = name;
      this.refs[id] = 0;
      this.ids.set(name, id);
    }
    this.refs[id]!++;
    return id;
  }

  release(id: number): void {
    if (id === 0 || --this.refs[id]! > 0) return;
    this.ids.delete(this.names[id]!);
    this.names[id] = '';
    this.freeIds.push(id);
  }

  /** the session's name ('' for none): an array read, cheap enough for a million-route listing */
  name(id: number): string {
    return this.names[id] ?? '';
  }

  /** ids whose name passes the test */
  matching(test: (name: string) => boolean): Set<number> {
    const out = new Set<number>();
    for (const [name, id] of this.ids) if (test(name)) out.add(id);
    return out;
  }
}

export class Rib {
  readonly nexthopSets = new NexthopSets();
  private readonly sessions = new Sessions();
  private epoch = 0;
  private readonly replays = new Map<string, number>();
  /** observers of every slot whose desired state changed (the reconciler marks it dirty) */
  readonly changes = new ValueObservers<number>();
  private policyNow = new RoutePolicy({ defaultAction: 'accept', rules: [] }, Number.MAX_SAFE_INTEGER);
  /** the latest refusals by key (bounded), for status */
  private readonly refusalsByKey = new Map<string, Refusal & { at: number }>();
  private readonly refusedTotal: Record<RefusalCode, number> = { INPUT_INVALID: 0, LIMIT_EXCEEDED: 0, ROUTE_FILTERED: 0 };

  /** `epochLimit`: the epoch is renumbered when it reaches this (the store's column is 32 bits) */
  constructor(readonly store: RouteStore = new RouteStore(), private readonly epochLimit = 0xffff_ffff) {}

  private nextEpoch(): number {
    if (this.epoch >= this.epochLimit) this.renumberEpochs();
    return ++this.epoch;
  }

  /**
   * Epochs matter only against the starts of running replays (endReplay withdraws what is
   * older than its start), so each becomes its rank among them: how many starts it is not
   * older than. Once per four billion writes, a walk of the slots.
   */
  private renumberEpochs(): void {
    const starts = [...new Set(this.replays.values())].sort((a, b) => a - b);
    const rank = (e: number): number => {
      let r = 0;
      while (r < starts.length && starts[r]! <= e) r++;
      return r;
    };
    const { epoch } = this.store;
    for (let s = 0; s < this.store.end; s++) epoch[s] = rank(epoch[s]!);
    for (const [source, since] of this.replays) this.replays.set(source, rank(since));
    this.epoch = starts.length;
  }

  stats(): RibStats {
    return { desired: this.size, maxRoutes: this.policyNow.maxRoutes, maxLegs: this.policyNow.maxLegs, refused: { ...this.refusedTotal } };
  }

  /** the latest refusals by key ("table:prefix"), oldest first, bounded; for `routes` */
  get refusals(): ReadonlyMap<string, Refusal & { readonly at: number }> {
    return this.refusalsByKey;
  }

  /** why add() last refused this route, while that refusal is among the latest kept */
  refusalOf(table: number, prefix: Ipv4Prefix): Refusal | undefined {
    const r = this.refusalsByKey.get(routeKey(table, prefix.key));
    return r && { code: r.code, message: r.message };
  }

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
    for (const s of this.desiredSlots()) {
      if (policy.filtered(this.prefixOf(s))) {
        this.remove(s);
        n++;
      }
    }
    return n;
  }

  get size(): number {
    return this.store.desiredCount;
  }

  prefixOf(slot: number): Ipv4Prefix {
    return makePrefix(this.store.addr[slot]!, this.store.len[slot]!);
  }

  keyOf(slot: number): string {
    return routeKey(this.store.table[slot]!, this.prefixOf(slot).key);
  }

  /** The desired route at a slot, rebuilt for status and tests (not for the hot path). */
  routeAt(slot: number): DesiredRoute | undefined {
    const id = this.store.desired[slot]!;
    if (id === NONE) return undefined;
    return { table: this.store.table[slot]!, prefix: this.prefixOf(slot), nexthops: this.nexthopSets.get(id) };
  }

  /** the source session that holds the route at a slot ("jsonl#3", "fpm#1", "kernel-table#100"); '' when none */
  sessionAt(slot: number): string {
    return this.sessions.name(this.store.session[slot]!);
  }

  /** the slot of a held route, or -1 */
  slotOf(table: number, prefix: Ipv4Prefix): number {
    const s = this.store.find(table, prefix.addr, prefix.len);
    return s >= 0 && this.store.desired[s] !== NONE ? s : -1;
  }

  get(table: number, prefix: Ipv4Prefix): DesiredRoute | undefined {
    const s = this.store.find(table, prefix.addr, prefix.len);
    return s < 0 ? undefined : this.routeAt(s);
  }

  *desiredSlots(): IterableIterator<number> {
    const st = this.store;
    for (const s of st.slots()) if (st.desired[s] !== NONE) yield s;
  }

  *keys(): IterableIterator<string> {
    for (const s of this.desiredSlots()) yield this.keyOf(s);
  }

  *routes(): IterableIterator<DesiredRoute> {
    for (const s of this.desiredSlots()) yield this.routeAt(s)!;
  }

  /** Peers (link-locals) that desired routes name on an interface, with their route counts. */
  peersOn(ifname: string): ReadonlyMap<LinkLocal, number> {
    return this.nexthopSets.peersOn(ifname);
  }

  /** whether some route names only the interface, leaving the peer to what we learnt there */
  wantsLearntPeer(ifname: string): boolean {
    return this.nexthopSets.wantsLearntPeer(ifname);
  }

  interfaces(): IterableIterator<string> {
    return this.nexthopSets.interfaces().values();
  }

  /** Keeps nothing of `route` but its values: the JSON-lines byte reader hands the same object line after line. */
  add(session: string, route: DesiredRoute): RibChange {
    const st = this.store;
    const { table, prefix } = route;
    // Before any lookup: a reserved table or a prefix with host bits must not even make a slot.
    const invalid = validateRoute(route, this.policyNow.maxLegs);
    if (invalid) return this.refuse(routeKey(table, prefix.key), invalid);
    let s = st.find(table, prefix.addr, prefix.len);
    const held = s >= 0 && st.desired[s] !== NONE;
    const refusal = this.policyNow.filtered(prefix) ?? (held ? undefined : this.policyNow.overLimit(prefix, st.desiredCount));
    if (refusal) return this.refuse(routeKey(table, prefix.key), refusal);
    if (this.refusalsByKey.size > 0) this.refusalsByKey.delete(routeKey(table, prefix.key));
    if (s < 0) s = st.slotFor(table, prefix.addr, prefix.len);
    st.epoch[s] = this.nextEpoch();
    const sid = this.sessions.acquire(session);
    this.sessions.release(st.session[s]!);
    st.session[s] = sid;
    const before = st.desired[s]!;
    const id = this.nexthopSets.acquire(route.nexthops);
    if (before === id) {
      this.nexthopSets.release(id);
      return 'unchanged';
    }
    if (before !== NONE) this.nexthopSets.release(before);
    st.setDesired(s, id);
    this.changes.notify(s);
    return before === NONE ? 'added' : 'changed';
  }

  private refuse(key: string, refusal: Refusal): RibChange {
    this.refusedTotal[refusal.code]++;
    this.refusalsByKey.delete(key); // re-insert: Map order is age order
    this.refusalsByKey.set(key, { ...refusal, at: Date.now() });
    if (this.refusalsByKey.size > REFUSALS_KEPT) this.refusalsByKey.delete(this.refusalsByKey.keys().next().value!);
    return 'refused';
  }

  withdraw(table: number, prefix: Ipv4Prefix): RibChange {
    if (this.refusalsByKey.size > 0) this.refusalsByKey.delete(routeKey(table, prefix.key));
    const s = this.store.find(table, prefix.addr, prefix.len);
    return s < 0 ? 'absent' : this.remove(s);
  }

  /** Starts a replay for a source; entries it does not re-send before endReplay go away. */
  beginReplay(source: string): void {
    this.replays.set(source, this.nextEpoch());
  }

  /** Ends a replay; returns how many entries were withdrawn, or undefined without a begin. */
  endReplay(source: string, ownsSession: (session: string) => boolean): number | undefined {
    const since = this.replays.get(source);
    if (since === undefined) return undefined;
    this.replays.delete(source);
    const owned = this.sessions.matching(ownsSession);
    let n = 0;
    for (const s of this.desiredSlots()) {
      if (this.store.epoch[s]! < since && owned.has(this.store.session[s]!)) {
        this.remove(s);
        n++;
      }
    }
    return n;
  }

  withdrawSession(session: string): number {
    return this.withdrawSessions((s) => s === session);
  }

  withdrawSessions(matches: (session: string) => boolean): number {
    const owned = this.sessions.matching(matches);
    let n = 0;
    for (const s of this.desiredSlots()) {
      if (owned.has(this.store.session[s]!)) {
        this.remove(s);
        n++;
      }
    }
    return n;
  }

  private remove(s: number): RibChange {
    const id = this.store.desired[s]!;
    if (id === NONE) return 'absent';
    this.store.setDesired(s, NONE);
    this.nexthopSets.release(id);
    this.sessions.release(this.store.session[s]!);
    this.store.session[s] = 0;
    this.changes.notify(s);
    this.store.releaseIfUnused(s);
    return 'withdrawn';
  }
}
