// What the kernel holds, as last dumped or heard: links, our own routes (the `observed`
// column of the route store, and copies at other metrics), and the placeholder neighbour
// entries (IPv4 neighbours at gateway-pool addresses, whoever wrote them). Foreign routes
// are never kept (conflicts are found by creating exclusively).
import { macFromBytes, type Mac } from '../model/mac.js';
import { placeholderKey } from '../model/placeholder.js';
import { F_LIVE, F_SEEN, NONE, type RouteStore } from '../rib/route-store.js';
import type { Forwardings } from './forwardings.js';
import { AF_INET, IFF_LOWER_UP, IFF_UP, NUD_NOARP, NUD_PERMANENT, type KernelLink, type KernelNeighbour, type KernelRoute, type NexthopObject } from './rtnetlink-codec.js';

/** A placeholder neighbour entry the kernel holds (whoever wrote it), keyed by placeholderKey. */
export interface ObservedNeighbour {
  readonly ifindex: number;
  readonly gateway: number;
  readonly mac: Mac | undefined;
  readonly state: number;
  readonly protocol: number;
}

export function isLinkUp(flags: number): boolean {
  return (flags & IFF_UP) !== 0 && (flags & IFF_LOWER_UP) !== 0;
}

export function isPermanent(state: number): boolean {
  return (state & (NUD_PERMANENT | NUD_NOARP)) !== 0;
}

/** whether a neighbour entry sits at a placeholder address (`isGateway`: the pool's test) */
export function isPlaceholder(n: KernelNeighbour, isGateway: (addr: number) => boolean): boolean {
  return n.family === AF_INET && n.dst.length === 4 && isGateway(n.dst.readUInt32BE(0));
}

export class KernelState {
  readonly links = new Map<number, KernelLink>();
  private readonly linksByName = new Map<string, KernelLink>();
  /** every nexthop object the kernel holds, anyone's (kernel.nexthop-objects only) */
  readonly nexthops = new Map<number, NexthopObject>();
  /** by placeholderKey(ifindex, gateway) */
  readonly placeholders = new Map<number, ObservedNeighbour>();
  private dumpStrays: Map<number, number[]> | undefined;
  /** during a dump: slots whose route of ours differs from what we held */
  private dumpChanged: number[] | undefined;

  /** `metric` is ours: a route of ours at another metric is a stray copy to delete. */
  constructor(readonly store: RouteStore, readonly forwardings: Forwardings, private readonly metric: number) {}

  linkByName(name: string): KernelLink | undefined {
    return this.linksByName.get(name);
  }

  setLinks(links: readonly KernelLink[]): void {
    this.links.clear();
    this.linksByName.clear();
    for (const l of links) this.putLink(l);
  }

  /** Returns the previous state of that ifindex. */
  putLink(l: KernelLink): KernelLink | undefined {
    const old = this.links.get(l.ifindex);
    if (old && old.name !== l.name && this.linksByName.get(old.name) === old) this.linksByName.delete(old.name);
    this.links.set(l.ifindex, l);
    this.linksByName.set(l.name, l);
    return old;
  }

  removeLink(ifindex: number): KernelLink | undefined {
    const old = this.links.get(ifindex);
    if (!old) return undefined;
    this.links.delete(ifindex);
    if (this.linksByName.get(old.name) === old) this.linksByName.delete(old.name);
    return old;
  }

  /** The forwarding the kernel holds for us at a slot (our metric). */
  setObserved(slot: number, fwd: number): void {
    const before = this.store.observed[slot]!;
    if (before === fwd) return;
    if (before !== NONE) this.forwardings.count(before, -1);
    if (fwd !== NONE) this.forwardings.count(fwd, 1);
    this.store.setObserved(slot, fwd);
  }

  /** A route of ours the kernel holds (an event, a write, a dump line); returns its slot. */
  putRoute(table: number, dst: number, dstLen: number, metric: number, fwd: number): number {
    const s = this.slotOf(table, dst, dstLen);
    if (this.dumpStrays) this.store.flags[s]! |= F_SEEN;
    if (metric === this.metric) {
      const before = this.store.observed[s]!;
      if (this.dumpChanged && before !== NONE && before !== fwd) this.dumpChanged.push(s);
      this.setObserved(s, fwd);
    } else {
      const strays = this.dumpStrays ?? this.store.strays;
      const list = strays.get(s) ?? [];
      if (!list.includes(metric)) list.push(metric);
      if (this.dumpStrays) this.dumpStrays.set(s, list);
      else this.store.setStrays(s, list);
    }
    return s;
  }

  /**
   * The slot of a key, made if there is none. A dump reports routes in address order, which
   * is mostly the order their slots were made in: the slot after the last one is checked
   * first, a sequential read instead of a random probe of the index (the index's cache
   * misses were a quarter of a million-route resync).
   */
  private slotOf(table: number, dst: number, dstLen: number): number {
    const { store } = this;
    const next = this.lastSlot + 1;
    if (next < store.end && store.addr[next] === dst >>> 0 && store.table[next] === table >>> 0 && store.len[next] === dstLen && store.flags[next]! & F_LIVE) {
      this.lastSlot = next;
      return next;
    }
    const s = store.slotFor(table, dst, dstLen);
    this.lastSlot = s;
    return s;
  }

  private lastSlot = -1;

  /** A route of ours left the kernel; returns its slot, or -1 when it was not known. */
  removeRoute(table: number, dst: number, dstLen: number, metric: number): number {
    const s = this.store.find(table, dst, dstLen);
    if (s >= 0) this.forgetRoute(s, metric);
    return s;
  }

  /** The route of ours at a slot and metric is gone (an event, or our own delete). */
  forgetRoute(slot: number, metric: number): void {
    if (metric === this.metric) this.setObserved(slot, NONE);
    else this.store.setStrays(slot, this.store.strays.get(slot)?.filter((m) => m !== metric));
  }

  putKernelRoute(r: KernelRoute): number {
    return this.putRoute(r.table, r.dst, r.dstLen, r.metric, this.forwardings.intern(r.legs, r.nhId));
  }

  /**
   * A dump starts: routes it reports are marked as seen; endDump() forgets the routes it did
   * not report. Nothing is emptied meanwhile, so status never shows a half-read table.
   */
  beginDump(): void {
    const { store } = this;
    for (let s = 0; s < store.end; s++) store.flags[s]! &= ~F_SEEN;
    this.dumpStrays = new Map();
    this.dumpChanged = [];
  }

  /**
   * Ends a dump; answers the slots whose route of ours the dump found changed or gone
   * against what we held (a write of someone else's while route events were off, in a
   * burst): drift for the caller to re-plan. Routes we did not hold before are not drift.
   */
  endDump(): number[] {
    const changed = this.dumpChanged ?? [];
    this.dumpChanged = undefined;
    const { store } = this;
    const strays = this.dumpStrays ?? new Map<number, number[]>();
    this.dumpStrays = undefined;
    for (const s of [...store.strays.keys()]) if (!strays.has(s)) store.setStrays(s, undefined);
    for (const [s, list] of strays) store.setStrays(s, list);
    for (let s = 0; s < store.end; s++) {
      const f = store.flags[s]!;
      if (!(f & F_LIVE)) continue;
      if (f & F_SEEN) store.flags[s] = f & ~F_SEEN;
      else if (store.observed[s] !== NONE) {
        this.setObserved(s, NONE);
        store.releaseIfUnused(s);
        // a route we held and still want is gone: drift (one we no longer want just goes)
        if (store.isLive(s)) changed.push(s);
        continue;
      }
      store.releaseIfUnused(s);
    }
    return changed;
  }

  /** keys (table, prefix) where we hold a route, at our metric or another */
  get ownedRouteCount(): number {
    let strayOnly = 0;
    for (const s of this.store.strays.keys()) if (this.store.observed[s] === NONE) strayOnly++;
    return this.store.observedCount + strayOnly;
  }

  setNexthops(list: readonly NexthopObject[]): void {
    this.nexthops.clear();
    for (const nh of list) this.nexthops.set(nh.id, nh);
  }

  /** how many routes we hold go through a placeholder */
  ownedRoutesVia(ifindex: number, gateway: number): number {
    return this.forwardings.routesVia(ifindex, gateway);
  }

  /** `neighbours` are placeholders only (see isPlaceholder) */
  setPlaceholders(neighbours: readonly KernelNeighbour[]): void {
    this.placeholders.clear();
    for (const n of neighbours) this.putPlaceholder(n);
  }

  putPlaceholder(n: KernelNeighbour): void {
    this.notePlaceholder({
      ifindex: n.ifindex,
      gateway: n.dst.readUInt32BE(0),
      mac: n.lladdr ? macFromBytes(n.lladdr) : undefined,
      state: n.state,
      protocol: n.protocol,
    });
  }

  notePlaceholder(p: ObservedNeighbour): void {
    this.placeholders.set(placeholderKey(p.ifindex, p.gateway), p);
  }

  removePlaceholder(ifindex: number, gateway: number): void {
    this.placeholders.delete(placeholderKey(ifindex, gateway));
  }

  /** the placeholders the kernel holds on one interface */
  placeholdersOn(ifindex: number): ObservedNeighbour[] {
    const out: ObservedNeighbour[] = [];
    for (const p of this.placeholders.values()) if (p.ifindex === ifindex) out.push(p);
    return out;
  }
}
