// The reconcile plan, pure: desired routes and peers against what the kernel holds, one
// verdict per key (the BIRD krt habit), then the writes in a safe order: neighbours
// before the routes that need them, route deletes before the neighbours they used.
import { legKey, type Forwardings } from '../kernel/forwardings.js';
import { ROUTE_CREATE, ROUTE_DELETE, ROUTE_REPLACE, type KernelOp } from '../kernel/kernel-ops.js';
import type { ObservedNeighbour } from '../kernel/kernel-state.js';
import type { RouteLeg } from '../kernel/rtnetlink-codec.js';
import { isOurs } from '../model/ownership.js';
import { placeholderKey } from '../model/placeholder.js';
import type { NexthopSets } from '../rib/nexthop-sets.js';
import { F_STRAYS, NONE, type RouteStore } from '../rib/route-store.js';
import type { PendingCode, Resolver } from './resolver.js';

export type RouteVerdict =
  | { readonly state: 'installed'; readonly op: 'none' | 'create' | 'replace' }
  | { readonly state: 'pending'; readonly code: PendingCode; readonly reason: string; readonly op: 'none' | 'delete' }
  | { readonly state: 'removed' | 'kept-stale' | 'absent'; readonly op: 'none' | 'delete' };

// Verdicts are shared objects (per next-hop set for pending ones): a million-route plan
// allocates nothing per route.
const INSTALLED_NONE: RouteVerdict = { state: 'installed', op: 'none' };
const INSTALLED_CREATE: RouteVerdict = { state: 'installed', op: 'create' };
const INSTALLED_REPLACE: RouteVerdict = { state: 'installed', op: 'replace' };
const REMOVED: RouteVerdict = { state: 'removed', op: 'delete' };
const KEPT_STALE: RouteVerdict = { state: 'kept-stale', op: 'none' };
const ABSENT: RouteVerdict = { state: 'absent', op: 'none' };

// the kernel port's route write kinds: RouteOps is the RouteWrites the port applies
export const OP_CREATE = ROUTE_CREATE;
export const OP_REPLACE = ROUTE_REPLACE;
export const OP_DELETE = ROUTE_DELETE;
export type RouteOpKind = typeof OP_CREATE | typeof OP_REPLACE | typeof OP_DELETE;

/** Planned route writes as columns: kind, slot, and the forwarding (writes) or metric (deletes). */
export class RouteOps {
  kind = new Uint8Array(1024);
  slot = new Int32Array(1024);
  arg = new Uint32Array(1024);
  length = 0;

  push(kind: RouteOpKind, slot: number, arg: number): void {
    if (this.length === this.kind.length) {
      const n = this.length * 2;
      const k = new Uint8Array(n); k.set(this.kind); this.kind = k;
      const s = new Int32Array(n); s.set(this.slot); this.slot = s;
      const a = new Uint32Array(n); a.set(this.arg); this.arg = a;
    }
    this.kind[this.length] = kind;
    this.slot[this.length] = slot;
    this.arg[this.length] = arg;
    this.length++;
  }
}

export interface RoutePlanInput {
  /** the slots to plan, or every live one (walked by index: a generator's result objects were a million bits of garbage) */
  readonly slots: readonly number[] | 'every';
  readonly store: RouteStore;
  readonly nexthopSets: NexthopSets;
  readonly forwardings: Forwardings;
  readonly resolver: Resolver;
  readonly metric: number;
  /** kernel.nexthop-objects: the nexthop object id for a set's legs */
  readonly nexthopIdFor?: (legs: readonly RouteLeg[]) => number;
  /** false for leftovers from before start-up until the sources have synced */
  mayDelete(slot: number): boolean;
  verdict(slot: number, v: RouteVerdict): void;
}

/** A next-hop set resolved for this pass: the forwarding to install, or why there is none. */
interface SetResolution {
  readonly fwd: number;
  readonly failure: { code: PendingCode; reason: string } | undefined;
  readonly allLinkDown: boolean;
  readonly pendingKeep: RouteVerdict;
  readonly pendingDelete: RouteVerdict;
}

function resolveSet(input: RoutePlanInput, id: number): SetResolution {
  const legs: RouteLeg[] = [];
  const seen = new Set<string>();
  let failure: { code: PendingCode; reason: string } | undefined;
  let allLinkDown = true;
  for (const nh of input.nexthopSets.get(id)) {
    const r = input.resolver.legFor(nh);
    if (!r.ok) {
      failure ??= { code: r.code, reason: r.reason };
      if (r.code !== 'link-down') allLinkDown = false;
      continue;
    }
    // Two next hops can come to one leg (a named peer and "whoever holds the placeholder").
    const k = legKey(r.leg);
    if (seen.has(k)) continue;
    seen.add(k);
    legs.push(r.leg);
  }
  const f = failure ?? { code: 'peer-unresolved' as const, reason: 'no next hop' };
  return {
    fwd: legs.length > 0 ? input.forwardings.intern(legs, input.nexthopIdFor?.(legs)) : NONE,
    failure,
    allLinkDown,
    pendingKeep: { state: 'pending', ...f, op: 'none' },
    pendingDelete: { state: 'pending', ...f, op: 'delete' },
  };
}

/**
 * One verdict per slot and the writes that make the kernel match: create exclusively what
 * is new (a foreign route in the way is reported, never overwritten), replace what is ours,
 * delete what nobody wants, and old-metric copies once the new one stands.
 */
export function planRoutes(input: RoutePlanInput): RouteOps {
  const ops = new RouteOps();
  const { store, metric } = input;
  const resolved: (SetResolution | undefined)[] = [];
  const every = input.slots === 'every';
  const listed = every ? [] : input.slots;
  const end = every ? store.end : listed.length;
  for (let i = 0; i < end; i++) {
    const s = every ? i : listed[i]!;
    if (every && !store.isLive(s)) continue;
    const want = store.desired[s]!;
    const have = store.observed[s]!;
    const strays = store.flags[s]! & F_STRAYS ? store.strays.get(s) : undefined;
    if (want === NONE) {
      if (have === NONE && !strays) {
        input.verdict(s, ABSENT);
        continue;
      }
      if (!input.mayDelete(s)) {
        input.verdict(s, KEPT_STALE);
        continue;
      }
      if (have !== NONE) ops.push(OP_DELETE, s, metric);
      if (strays) for (const m of strays) ops.push(OP_DELETE, s, m);
      input.verdict(s, REMOVED);
      continue;
    }
    const r = (resolved[want] ??= resolveSet(input, want));
    if (r.fwd === NONE) {
      // Carrier loss: the kernel keeps the route (flagged linkdown) and so do we.
      if (r.allLinkDown || have === NONE) {
        input.verdict(s, r.pendingKeep);
        continue;
      }
      // Never leave traffic going to a MAC we can no longer vouch for.
      ops.push(OP_DELETE, s, metric);
      if (strays) for (const m of strays) ops.push(OP_DELETE, s, m);
      input.verdict(s, r.pendingDelete);
      continue;
    }
    if (have === r.fwd) {
      input.verdict(s, INSTALLED_NONE);
    } else {
      ops.push(have === NONE ? OP_CREATE : OP_REPLACE, s, r.fwd);
      input.verdict(s, have === NONE ? INSTALLED_CREATE : INSTALLED_REPLACE);
    }
    // Old-metric copies of our own route go once the new one stands (make before break).
    if (strays) for (const m of strays) ops.push(OP_DELETE, s, m);
  }
  return ops;
}

export interface NeighbourPlanInput {
  /** interfaces that desired routes name */
  readonly interfaces: Iterable<string>;
  readonly resolver: Resolver;
  /** placeholder entries the kernel holds, by placeholderKey */
  readonly observed: ReadonlyMap<number, ObservedNeighbour>;
  readonly protocol: number;
  ifname(ifindex: number): string | undefined;
  /** whether an owned entry no peer wants may go (no owned route uses it, sources synced) */
  mayDelete(ifindex: number, gateway: number): boolean;
}

/** The neighbour writes a plan holds: placeholder entries replaced or deleted. */
type NeighbourOp = Extract<KernelOp, { readonly kind: 'neigh.replace' | 'neigh.delete' }>;

export interface NeighbourPlan {
  readonly adds: NeighbourOp[];
  readonly deletes: NeighbourOp[];
}

/** One placeholder per resolved peer on each interface; ours that no peer wants go. */
export function planNeighbours(input: NeighbourPlanInput, isPermanent: (state: number) => boolean): NeighbourPlan {
  const adds: NeighbourOp[] = [];
  const deletes: NeighbourOp[] = [];
  const wanted = new Set<number>();
  for (const ifname of input.interfaces) {
    for (const slot of input.resolver.peersOn(ifname).byPeer.values()) {
      if (!slot.ok) continue;
      const s = slot.slot;
      const key = placeholderKey(s.ifindex, s.gateway);
      if (wanted.has(key)) continue;
      wanted.add(key);
      const have = input.observed.get(key);
      if (have && isPermanent(have.state) && have.mac === s.mac) continue;
      adds.push({ kind: 'neigh.replace', ifindex: s.ifindex, ifname, gateway: s.gateway, mac: s.mac, protocol: input.protocol });
    }
  }
  for (const [key, have] of input.observed) {
    if (wanted.has(key) || !isOurs(have, input.protocol) || !input.mayDelete(have.ifindex, have.gateway)) continue;
    deletes.push({ kind: 'neigh.delete', ifindex: have.ifindex, ifname: input.ifname(have.ifindex) ?? `#${have.ifindex}`, gateway: have.gateway });
  }
  return { adds, deletes };
}
