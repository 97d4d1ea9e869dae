// The reconcile plan, pure: desired routes and peers against what the kernel holds, one
// verdict per key (the BIRD krt habit), then the writes in a safe order: neighbours
// before the routes that need them, route deletes before the neighbours they used.
import type { KernelRoute, RouteLeg } from '../kernel/rtnetlink-codec.js';
import { RTN_UNICAST, RTNH_F_ONLINK } from '../kernel/rtnetlink-codec.js';
import type { Mac } from '../model/mac.js';
import type { DesiredRoute } from '../rib/route.js';
import { PLACEHOLDER_GATEWAY, type KernelOp } from './kernel-ops.js';
import type { PendingCode, Resolver } from './resolver.js';

export type RouteVerdict =
  | { readonly state: 'installed'; readonly op: 'none' | 'create' | 'replace'; readonly partial?: string }
  | { readonly state: 'pending'; readonly code: PendingCode; readonly reason: string; readonly op: 'none' | 'delete' }
  | { readonly state: 'removed' | 'kept-stale'; readonly op: 'none' | 'delete' };

export interface RoutePlanInput {
  readonly keys: Iterable<string>;
  desired(key: string): DesiredRoute | undefined;
  /** owned kernel routes (our protocol) at this key, any metric */
  observed(key: string): readonly KernelRoute[] | undefined;
  readonly resolver: Resolver;
  readonly protocol: number;
  readonly metric: number;
  /** false for leftovers from before start-up until the sources have synced */
  mayDelete(key: string): boolean;
}

export interface RoutePlan {
  readonly ops: KernelOp[];
  readonly verdicts: Map<string, RouteVerdict>;
}

const legKey = (l: RouteLeg): string => `${l.ifindex}/${l.gateway ?? ''}/${l.via6?.toString('hex') ?? ''}/${l.flags & RTNH_F_ONLINK}`;

export function sameForwarding(a: KernelRoute, b: KernelRoute): boolean {
  if (a.metric !== b.metric || a.legs.length !== b.legs.length || a.nhId !== b.nhId) return false;
  const ak = a.legs.map(legKey).sort();
  const bk = b.legs.map(legKey).sort();
  return ak.every((k, i) => k === bk[i]);
}

export function planRoutes(input: RoutePlanInput): RoutePlan {
  const ops: KernelOp[] = [];
  const verdicts = new Map<string, RouteVerdict>();
  for (const key of input.keys) {
    if (verdicts.has(key)) continue;
    const want = input.desired(key);
    const have = input.observed(key) ?? [];
    const current = have.find((r) => r.metric === input.metric);
    const strays = have.filter((r) => r !== current);

    if (!want) {
      if (have.length === 0) continue;
      if (!input.mayDelete(key)) {
        verdicts.set(key, { state: 'kept-stale', op: 'none' });
        continue;
      }
      for (const r of have) ops.push({ kind: 'route.delete', key, route: r });
      verdicts.set(key, { state: 'removed', op: 'delete' });
      continue;
    }

    const legs: RouteLeg[] = [];
    const seen = new Set<string>();
    let firstFailure: { code: PendingCode; reason: string } | undefined;
    let allLinkDown = true;
    for (const nh of want.nexthops) {
      const r = input.resolver.leg(nh);
      if (!r.ok) {
        firstFailure ??= { code: r.code, reason: r.reason };
        if (r.code !== 'link-down') allLinkDown = false;
        continue;
      }
      const leg: RouteLeg = { ifindex: r.slot.ifindex, gateway: r.slot.gateway, flags: RTNH_F_ONLINK };
      const k = legKey(leg);
      if (!seen.has(k)) {
        seen.add(k);
        legs.push(leg);
      }
    }
    legs.sort((a, b) => a.ifindex - b.ifindex || (a.gateway ?? 0) - (b.gateway ?? 0));

    // Old-metric copies of our own route go once the new one stands (make before break).
    const strayDeletes: KernelOp[] = strays.map((r) => ({ kind: 'route.delete', key, route: r }));

    if (legs.length === 0) {
      const failure = firstFailure ?? { code: 'peer-unresolved' as const, reason: 'no next hop' };
      // Carrier loss: the kernel keeps the route (flagged linkdown) and so do we.
      if (allLinkDown || !current) {
        verdicts.set(key, { state: 'pending', ...failure, op: 'none' });
        continue;
      }
      // Never leave traffic going to a MAC we can no longer vouch for.
      ops.push({ kind: 'route.delete', key, route: current }, ...strayDeletes);
      verdicts.set(key, { state: 'pending', ...failure, op: 'delete' });
      continue;
    }

    const route: KernelRoute = {
      table: want.table,
      dst: want.prefix.addr,
      dstLen: want.prefix.len,
      protocol: input.protocol,
      metric: input.metric,
      type: RTN_UNICAST,
      legs,
    };
    const partial = firstFailure ? { partial: firstFailure.reason } : {};
    if (current && sameForwarding(current, route)) {
      ops.push(...strayDeletes);
      verdicts.set(key, { state: 'installed', op: 'none', ...partial });
    } else {
      // Replace only what is ours; anything new is created exclusively so that a foreign
      // route with the same table, prefix and metric is reported, never overwritten.
      ops.push({ kind: current ? 'route.replace' : 'route.create', key, route }, ...strayDeletes);
      verdicts.set(key, { state: 'installed', op: current ? 'replace' : 'create', ...partial });
    }
  }
  return { ops, verdicts };
}

export interface ObservedNeighbour {
  readonly ifindex: number;
  readonly mac: Mac | undefined;
  readonly state: number;
  readonly protocol: number;
}

export interface NeighbourPlanInput {
  /** interfaces that desired routes name */
  readonly interfaces: Iterable<string>;
  readonly resolver: Resolver;
  /** 169.254.0.1 entries the kernel holds, by ifindex */
  readonly observed: ReadonlyMap<number, ObservedNeighbour>;
  readonly protocol: number;
  ifname(ifindex: number): string | undefined;
  /** whether an owned entry no route wants may go (no owned route uses it, sources synced) */
  mayDelete(ifindex: number): boolean;
}

export interface NeighbourPlan {
  readonly adds: KernelOp[];
  readonly deletes: KernelOp[];
}

export function planNeighbours(input: NeighbourPlanInput, isPermanent: (state: number) => boolean): NeighbourPlan {
  const adds: KernelOp[] = [];
  const deletes: KernelOp[] = [];
  const wanted = new Set<number>();
  for (const ifname of input.interfaces) {
    const slot = input.resolver.interfaceSlot(ifname);
    if (!slot.ok) continue;
    const s = slot.slot;
    wanted.add(s.ifindex);
    const have = input.observed.get(s.ifindex);
    if (have && isPermanent(have.state) && have.mac === s.mac) continue;
    adds.push({ kind: 'neigh.replace', ifindex: s.ifindex, ifname, gateway: s.gateway, mac: s.mac, protocol: input.protocol });
  }
  for (const [ifindex, have] of input.observed) {
    if (wanted.has(ifindex) || have.protocol !== input.protocol || !input.mayDelete(ifindex)) continue;
    deletes.push({ kind: 'neigh.delete', ifindex, ifname: input.ifname(ifindex) ?? `#${ifindex}`, gateway: PLACEHOLDER_GATEWAY });
  }
  return { adds, deletes };
}
