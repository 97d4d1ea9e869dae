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
