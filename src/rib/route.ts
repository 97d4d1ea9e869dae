import type { Ipv4Prefix } from '../model/ipv4-prefix.js';
import type { LinkLocal } from '../model/link-local.js';
import { peerKey } from '../model/peer-key.js';

/**
 * A BGP next hop: the peer's link-local on one of our interfaces. `linkLocal` is undefined
 * when the source only said "169.254.0.1 onlink dev X" (FRR <= 10.5's FPM): the peer is then
 * whoever the daemon has learnt on that interface (router advertisements, neighbour table).
 */
export interface PeerNexthop {
  readonly interface: string;
  readonly linkLocal: LinkLocal | undefined;
}

export interface DesiredRoute {
  readonly table: number;
  readonly prefix: Ipv4Prefix;
  readonly nexthops: readonly PeerNexthop[];
}

/** What a source says; sources only ever speak in these. */
export type RouteUpdate =
  | { readonly op: 'add'; readonly route: DesiredRoute; /** the table came from this VRF device */ readonly vrf?: string }
  | { readonly op: 'withdraw'; readonly table: number; readonly prefix: Ipv4Prefix; readonly vrf?: string }
  | { readonly op: 'sync-begin' }
  | { readonly op: 'sync-end' };

export function routeKey(table: number, prefixKey: string): string {
  return `${table}:${prefixKey}`;
}

/** A canonical order, so that the same next hops always compare equal. */
export function sortNexthops(nhs: PeerNexthop[]): PeerNexthop[] {
  const k = (n: PeerNexthop): string => peerKey(n.interface, n.linkLocal);
  return nhs.sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}
