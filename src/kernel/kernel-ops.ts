import type { NexthopWrite, RuleWrite, ThrowRoute } from './rtnetlink-codec.js';
import type { LinkLocal } from '../model/link-local.js';
import type { Mac } from '../model/mac.js';

/** A neighbour, nexthop-object, policy-rule or throw-route write, as the reconciler plans it and the kernel port applies it (route writes are RouteOps columns). */
export type KernelOp =
  | { readonly kind: 'neigh.replace'; readonly ifindex: number; readonly ifname: string; readonly gateway: number; readonly mac: Mac; readonly protocol: number }
  | { readonly kind: 'neigh.delete'; readonly ifindex: number; readonly ifname: string; readonly gateway: number }
  | { readonly kind: 'neigh.probe'; readonly ifindex: number; readonly ifname: string; readonly linkLocal: LinkLocal }
  | { readonly kind: 'nh.replace'; readonly nexthop: NexthopWrite }
  | { readonly kind: 'nh.delete'; readonly id: number }
  | { readonly kind: 'rule.create' | 'rule.delete'; readonly rule: RuleWrite }
  | { readonly kind: 'throw.create' | 'throw.delete'; readonly route: ThrowRoute };

export type OpResult = { readonly ok: true } | { readonly ok: false; readonly errno: number; readonly error: string };

/** Route write kinds in RouteWrites.kind (the planner's RouteOps columns use the same numbers). */
export const ROUTE_CREATE = 1;
export const ROUTE_REPLACE = 2;
export const ROUTE_DELETE = 3;

/**
 * Route writes as columns, one entry a write: kind, the route's slot in RouteKeys, and the
 * forwarding id (create, replace) or the metric of the copy to delete (delete). Columns,
 * not objects: a million-route pass allocates nothing per route.
 */
export interface RouteWrites {
  readonly length: number;
  readonly kind: Uint8Array;
  readonly slot: Int32Array;
  readonly arg: Uint32Array;
}

/** (table, prefix) by slot: the route store's key columns, read only. */
export interface RouteKeys {
  readonly table: Uint32Array;
  readonly addr: Uint32Array;
  readonly len: Uint8Array;
}
