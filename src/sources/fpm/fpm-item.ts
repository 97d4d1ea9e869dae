// What the FPM decoder makes of one of zebra's messages (fpm-decode.ts, fpm-route-decode.ts).
import type { Ipv4Prefix } from '../../model/ipv4-prefix.js';
import type { LinkLocal } from '../../model/link-local.js';

/** A next hop as zebra gives it: an interface, and the peer's link-local when zebra says it. */
export interface FpmLeg {
  readonly ifindex: number;
  /** undefined: zebra said "169.254.0.1 onlink" and the peer is whoever we learnt on that link */
  readonly linkLocal: LinkLocal | undefined;
}

export type FpmItem =
  | { readonly kind: 'route-add'; readonly table: number; readonly prefix: Ipv4Prefix; readonly protocol: number; readonly legs: readonly FpmLeg[]; readonly nhId: number | undefined }
  | { readonly kind: 'route-del'; readonly table: number; readonly prefix: Ipv4Prefix; readonly protocol: number }
  | { readonly kind: 'nexthop-add'; readonly id: number; readonly legs: readonly FpmLeg[] | undefined; readonly group: readonly number[] | undefined }
  | { readonly kind: 'nexthop-del'; readonly id: number }
  | { readonly kind: 'ignored'; readonly reason: IgnoreReason }
  /** an IPv4 route zebra now forwards some other way (IPv4 gateway, blackhole): not ours to install, and what we hold for it must go */
  | { readonly kind: 'route-unusable'; readonly table: number; readonly prefix: Ipv4Prefix; readonly protocol: number; readonly reason: 'not-unicast' | 'no-ipv6-nexthop' }
  | { readonly kind: 'malformed'; readonly error: string; readonly bytes: string };

export type IgnoreReason = 'ipv6-route' | 'not-unicast' | 'no-ipv6-nexthop' | 'message-type' | 'nexthop-family';

/** the legs of a route that names a nexthop object: one shared empty list (the session keeps every such route) */
export const NO_LEGS: readonly FpmLeg[] = Object.freeze([]);
