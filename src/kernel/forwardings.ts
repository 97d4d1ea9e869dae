// Forwardings, interned: the "where to" half of a kernel route (its legs, or a nexthop
// object id), shared by every route that forwards the same way. A route in the store is
// then a slot and a forwarding id; writes copy the forwarding's pre-encoded attributes, and
// a dump maps each message's raw attribute bytes to an id without decoding the legs again.
import { placeholderKey } from '../model/placeholder.js';
import { MessageWriter } from './netlink-codec.js';
import { RTNH_F_ONLINK, writeForwardingAttrs, type RouteLeg } from './rtnetlink-codec.js';

export interface Forwarding {
  readonly id: number;
  /** canonical: sorted, flags reduced to RTNH_F_ONLINK */
  readonly legs: readonly RouteLeg[];
  readonly nhId: number | undefined;
  /** rtm_flags for a single-leg route (RTNH_F_ONLINK lives there, not in an rtnexthop) */
  readonly rtmFlags: number;
  /** RTA_OIF + gateway, RTA_MULTIPATH, or RTA_NH_ID, ready to copy into a message */
  readonly attrs: Buffer;
}

/** A leg's identity for comparison (flags other than ONLINK are the kernel's, not ours). */
export const legKey = (l: RouteLeg): string => `${l.ifindex}/${l.gateway ?? ''}/${l.via6?.toString('hex') ?? ''}/${l.flags & RTNH_F_ONLINK}`;

/** Forwarding ids seen in a dump are remembered by their raw bytes; bounded, as a cache. */
const RAW_CACHE_MAX = 4096;

export class Forwardings {
  private readonly byKey = new Map<string, number>();
  private readonly all: (Forwarding | undefined)[] = [undefined];
  private readonly byRaw = new Map<string, number>();
  /** routes we hold in the kernel through each placeholder (by placeholderKey; RTA_VIA legs have none) */
  private readonly routesViaPlaceholder = new Map<number, number>();
  /** routes we hold by nexthop object id */
  private readonly routesByNexthop = new Map<number, number>();

  /** The id of a forwarding (legs in any order; flags other than ONLINK ignored). */
  intern(legs: readonly RouteLeg[], nhId?: number): number {
    const canonical = legs
      .map((l) => {
        const leg: { ifindex: number; flags: number; gateway?: number; via6?: Buffer } = { ifindex: l.ifindex, flags: l.flags & RTNH_F_ONLINK };
        if (l.gateway !== undefined) leg.gateway = l.gateway;
        if (l.via6 !== undefined) leg.via6 = l.via6;
        return leg;
      })
      .sort((a, b) => a.ifindex - b.ifindex || (a.gateway ?? 0) - (b.gateway ?? 0) || legKey(a).localeCompare(legKey(b)));
    // A nexthop object is the forwarding: the legs a dump shows with it (the kernel's
    // nexthop_compat_mode) or that the plan gave it are only a copy, for counting.
    const key = nhId !== undefined ? `nh${nhId}` : canonical.map(legKey).join(',');
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    const id = this.all.length;
    const single = canonical.length === 1 ? canonical[0] : undefined;
    this.all.push(Object.freeze({ id, legs: Object.freeze(canonical), nhId, rtmFlags: nhId === undefined && single ? single.flags : 0, attrs: encodeAttrs(canonical, nhId) }));
    this.byKey.set(key, id);
    return id;
  }

  /** The id for a dumped route's raw forwarding bytes; `decode` runs only on a cache miss. */
  internRaw(raw: string, decode: () => { legs: RouteLeg[]; nhId: number | undefined }): number {
    // scanRoute hands the same string again for the same bytes: most of a dump stops here
    if (raw === this.lastRaw) return this.lastRawId;
    const id = this.internRawMiss(raw, decode);
    this.lastRaw = raw;
    this.lastRawId = id;
    return id;
  }

  private lastRaw: string | undefined;
  private lastRawId = 0;

  private internRawMiss(raw: string, decode: () => { legs: RouteLeg[]; nhId: number | undefined }): number {
    const known = this.byRaw.get(raw);
    if (known !== undefined) return known;
    const { legs, nhId } = decode();
    const id = this.intern(legs, nhId);
    if (this.byRaw.size >= RAW_CACHE_MAX) this.byRaw.clear();
    this.byRaw.set(raw, id);
    return id;
  }

  get(id: number): Forwarding {
    const f = this.all[id];
    if (!f) throw new Error(`forwarding ${id} is unknown`);
    return f;
  }

  /** A route we hold starts (+1) or stops (-1) using a forwarding. */
  count(id: number, delta: 1 | -1): void {
    const f = this.all[id]!;
    if (f.nhId !== undefined) bump(this.routesByNexthop, f.nhId, delta);
    const legs = f.legs;
    for (let i = 0; i < legs.length; i++) {
      const leg = legs[i]!;
      if (leg.gateway === undefined) continue;
      bump(this.routesViaPlaceholder, placeholderKey(leg.ifindex, leg.gateway), delta);
    }
  }

  /** how many routes we hold use a nexthop object (directly, not through a group) */
  routesUsing(nhId: number): number {
    return this.routesByNexthop.get(nhId) ?? 0;
  }

  /** how many routes we hold go through this placeholder (a neighbour is never removed under one) */
  routesVia(ifindex: number, gateway: number): number {
    return this.routesViaPlaceholder.get(placeholderKey(ifindex, gateway)) ?? 0;
  }

}

function bump(counts: Map<number, number>, key: number, delta: 1 | -1): void {
  const n = (counts.get(key) ?? 0) + delta;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}

function encodeAttrs(legs: readonly RouteLeg[], nhId: number | undefined): Buffer {
  const w = new MessageWriter(256);
  writeForwardingAttrs(w, legs, nhId);
  return w.take();
}
